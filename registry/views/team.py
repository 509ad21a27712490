"""Team pages for data managers: sites, members and roles."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from registry.access import Right, project_scope_or_404
from registry.models import Membership, Role
from registry.services.team import TeamError, member_remove, member_set, parse_form_rights, site_save


@login_required
def team(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.MANAGE_USERS)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "site":
                site_save(scope=scope, code=request.POST.get("code", ""), name=request.POST.get("name", ""),
                          record_prefix=request.POST.get("record_prefix", ""))  # fmt: skip
                messages.success(request, "Site saved.")
            elif action == "member":
                member_set(scope=scope, username=request.POST.get("username", "").strip(),
                           role=request.POST.get("role", ""), site_code=request.POST.get("site", ""),
                           password=request.POST.get("password", ""),
                           form_rights=parse_form_rights(request.POST.get("form_rights", "")))  # fmt: skip
                messages.success(request, "Member saved.")
            elif action == "remove":
                member_remove(scope=scope, username=request.POST.get("username", ""))
                messages.success(request, "Member removed.")
        except TeamError as exc:
            messages.error(request, str(exc))
        return redirect("project-team", code=code)
    members = Membership.objects.filter(project=scope.project).select_related("user", "site").order_by("user__username")
    return render(request, "registry/team.html", {"project": scope.project, "scope": scope, "sites": scope.sites(),
                                                  "members": members, "roles": Role.choices})  # fmt: skip
