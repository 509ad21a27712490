"""The pages the form-save benchmark compares a save against (design §9, docs/benchmarks.md).

`ping` does what every page of the registry does before its own work (session, user, middleware)
and nothing else: the floor design §9 names, so a save's cost over it is the save itself.

`save_floor` is the least any save of a form can do on this stack: the same post (CSRF, session,
user, middleware, the url-encoded body read), its values written as one JSONB row in a transaction of
its own, and the redirect a browser follows. No record is read or locked, nothing is checked,
computed or audited, and the row is a scratch row (`SaveFloorRow`), never clinical data. It answers
only on the benchmark's own server (`BENCH_SAVE_FLOOR`): a page that writes without an audit trail
has no place anywhere else.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

FLOOR_SLOTS = 64  # one row per simulated browser; bounded, so the table cannot grow
# What a form page posts besides its values.
NOT_VALUES = frozenset({"csrfmiddlewaretoken", "row_version", "reason", "save_stay", "save_next"})
_UPSERT = (
    "INSERT INTO registry_savefloorrow (slot, data, row_version, updated_at) VALUES (%s, %s, 1, now()) "
    "ON CONFLICT (slot) DO UPDATE SET data = EXCLUDED.data, row_version = registry_savefloorrow.row_version + 1, "
    "updated_at = EXCLUDED.updated_at"
)


@login_required
def ping(request: HttpRequest) -> HttpResponse:
    return HttpResponse("pong", content_type="text/plain")


@login_required
@require_POST
def save_floor(request: HttpRequest, slot: int) -> HttpResponse:
    if not settings.BENCH_SAVE_FLOOR or slot >= FLOOR_SLOTS:
        raise Http404("no such page")
    values = {name: value for name, value in request.POST.items() if name not in NOT_VALUES}
    with connection.cursor() as cursor:  # autocommit: the statement is its own transaction, committed
        cursor.execute(_UPSERT, [slot, json.dumps(values)])
    return HttpResponseRedirect(request.path)
