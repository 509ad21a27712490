from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registry.models import Membership
from registry.selectors import projects_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = list(projects_for_user(request.user))
    roles = {m.project_id: m for m in Membership.objects.filter(user=request.user).select_related("site")}
    rows = [{"project": p, "membership": roles.get(p.pk)} for p in projects]
    return render(request, "registry/home.html", {"rows": rows})
