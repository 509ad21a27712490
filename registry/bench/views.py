"""The trivial authenticated page the form-save benchmark compares against (design §9).

It does what every page of the registry does before its own work (session, user, middleware)
and nothing else, so a save's cost over it is the save itself.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def ping(request: HttpRequest) -> HttpResponse:
    return HttpResponse("pong", content_type="text/plain")
