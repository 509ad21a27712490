"""Login, the second-factor pages, the project's 2FA requirement and the unlock page. Thin: services do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from forms.models import Project
from registry.access import Right, project_scope_or_404, scope_for
from registry.models import Membership
from registry.security import lockout, two_factor
from registry.security.forms import CodeForm, LoginForm, TwoFactorRolesForm, UnlockForm
from registry.security.models import LoginLock


class LoginView(auth_views.LoginView):
    form_class = LoginForm


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    if two_factor.is_verified(request.session) or two_factor.need(request.user) != two_factor.Need.VERIFY:
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = lockout.client_address(request)
        if two_factor.verify(user=request.user, code=form.cleaned_data["code"], session=request.session,
                             address=address):  # fmt: skip
            request.session.cycle_key()
            return redirect(_next_url(request))
        if two_factor.too_many_failures(request.session):
            logout(request)
            messages.error(request, "Too many wrong codes: log in again.")
            return redirect("login")
        form.add_error("code", "That code is not right: check the app and the phone's clock.")
    return render(request, "security/verify.html", {"form": form, "next": _next_url(request)})


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    device = two_factor.confirmed_device(request.user)
    if device is not None:
        if not two_factor.is_verified(request.session):
            return redirect("security:two-factor-verify")
        required_by = two_factor.requiring_projects(request.user)
        return render(request, "security/setup_done.html", {"required_by": required_by, "form": CodeForm()})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.confirm(user=request.user, code=form.cleaned_data["code"], session=request.session)
        except two_factor.TwoFactorError as exc:
            form.add_error("code", str(exc))
        else:
            request.session.cycle_key()
            messages.success(request, "Two-factor login is set up: from now on every login asks for a code.")
            return redirect(_next_url(request))
    pending = two_factor.provisioning(request.user)
    context = {
        "form": form,
        "qr_svg": two_factor.qr_svg(pending),
        "secret": pending.secret,
        "required_by": two_factor.requiring_projects(request.user),
        "next": _next_url(request),
    }
    return render(request, "security/setup.html", context)


@login_required
@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    """Turn a voluntary second factor off again: needs a verified session and a current code."""
    if not two_factor.is_verified(request.session) or two_factor.requiring_projects(request.user):
        raise Http404("not found")
    form = CodeForm(request.POST)
    device = two_factor.confirmed_device(request.user)
    if device is None or not form.is_valid() or not two_factor.accept_code(device, form.cleaned_data["code"]):
        messages.error(request, "That code is not right: the authenticator stays.")
        return redirect("security:two-factor-setup")
    two_factor.remove_device(user=request.user, by=request.user)
    messages.success(request, "Two-factor login is off.")
    return redirect("home")


@login_required
def project_two_factor(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.MANAGE_USERS)
    form = TwoFactorRolesForm(request.POST or None, initial={"roles": two_factor.two_factor_roles(scope.project)})
    if request.method == "POST" and form.is_valid():
        two_factor.set_two_factor_roles(scope=scope, roles=form.cleaned_data["roles"])
        messages.success(request, "Saved: members with these roles set up a second factor at their next page.")
        return redirect("security:project-two-factor", code=code)
    return render(request, "security/project_two_factor.html", {"project": scope.project, "scope": scope, "form": form})


def _managed_usernames(user) -> set[str] | None:
    """Usernames whose locks the user may lift (None: all locks, for superusers); 404 for anyone else."""
    if user.is_superuser:
        return None
    projects = [p for p in Project.objects.filter(memberships__user=user) if _manages(user, p)]
    if not projects:
        raise Http404("not found")
    return set(Membership.objects.filter(project__in=projects).values_list("user__username", flat=True))


def _manages(user, project: Project) -> bool:
    scope = scope_for(user, project)
    return scope is not None and scope.can(Right.MANAGE_USERS)


@login_required
def locks(request: HttpRequest) -> HttpResponse:
    managed = _managed_usernames(request.user)
    visible = [
        lock for lock in lockout.active_locks()
        if managed is None or (lock.kind == LoginLock.Kind.USER and lock.key in managed)
    ]  # fmt: skip
    if request.method == "POST":
        form = UnlockForm(request.POST)
        if form.is_valid() and any(
            (lock.kind, lock.key) == (form.cleaned_data["kind"], form.cleaned_data["key"]) for lock in visible
        ):
            lockout.unlock(kind=form.cleaned_data["kind"], key=form.cleaned_data["key"],
                           reason=form.cleaned_data["reason"], user=request.user)  # fmt: skip
            messages.success(request, f"Unlocked {form.cleaned_data['key']}.")
            return redirect("security:locks")
        messages.error(request, "Give a reason, and pick a lock from the list.")
    return render(request, "security/locks.html", {"locks": visible})
