"""Sites, users and roles of a project, managed by data managers; every change is audited."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from registry.access import Right, Scope
from registry.models import Membership, Role, Site
from registry.services.audit import Change, audit_append


class TeamError(Exception):
    pass


def _audit(scope: Scope, action: str, **details) -> None:
    audit_append(project=scope.project, action=action, changes=[Change(details=details)], user=scope.user)


@transaction.atomic
def site_save(*, scope: Scope, code: str, name: str, record_prefix: str) -> Site:
    scope.require(Right.MANAGE_USERS)
    code, name, record_prefix = code.strip().lower(), name.strip(), record_prefix.strip().upper()
    if not code or not name or not record_prefix:
        raise TeamError("a site needs a code, a name and a record prefix")
    if not code.replace("_", "").replace("-", "").isalnum() or not record_prefix.replace("-", "").isalnum():
        raise TeamError("site code and record prefix may hold letters, digits, '-' and '_' only")
    existing = Site.objects.filter(project=scope.project, code=code).first()
    if existing is not None and existing.record_prefix != record_prefix and existing.records.exists():
        raise TeamError("the record prefix of a site with records cannot change")
    if Site.objects.filter(project=scope.project, record_prefix=record_prefix).exclude(code=code).exists():
        raise TeamError(f"another site already uses the record prefix {record_prefix}")
    site, created = Site.objects.update_or_create(
        project=scope.project, code=code, defaults={"name": name, "record_prefix": record_prefix}
    )
    _audit(scope, "site_created" if created else "site_changed", site=code, name=name, record_prefix=record_prefix)
    return site


@transaction.atomic
def parse_form_rights(text: str) -> dict[str, str]:
    """'labs=read, adverse_event=none' -> {'labs': 'read', 'adverse_event': 'none'}."""
    rights: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        instrument, _, right = part.partition("=")
        if right.strip() not in ("none", "read", "edit"):
            raise TeamError(f"{part!r}: write instrument=none, instrument=read or instrument=edit")
        rights[instrument.strip()] = right.strip()
    return rights


@transaction.atomic
def member_set(
    *,
    scope: Scope,
    username: str,
    role: str,
    site_code: str = "",
    password: str = "",
    form_rights: dict[str, str] | None = None,
) -> Membership:
    """Give a user a role (at a site or all sites), creating the user when a password is given."""
    scope.require(Right.MANAGE_USERS)
    if role not in Role.values:
        raise TeamError(f"{role!r} is not a role")
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        if not password:
            raise TeamError(f"there is no user {username!r}: give a first password to create one")
        candidate = user_model(username=username)
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise TeamError(" ".join(exc.messages)) from None
        user = user_model.objects.create_user(username=username, password=password)
        _audit(scope, "user_created", username=username)
    site = None
    if site_code:
        site = Site.objects.filter(project=scope.project, code=site_code).first()
        if site is None:
            raise TeamError(f"{site_code!r} is not a site of this project")
    if role == Role.COORDINATOR and site is None:
        raise TeamError("a coordinator works at one site: choose it")
    previous = Membership.objects.filter(user=user, project=scope.project).first()
    defaults = {"role": role, "site": site}
    if form_rights is not None:
        defaults["form_rights"] = form_rights
    membership, _ = Membership.objects.update_or_create(user=user, project=scope.project, defaults=defaults)
    _audit(scope, "role_changed", username=username,
           old={"role": previous.role, "site": previous.site.code if previous.site else ""} if previous else None,
           new={"role": role, "site": site_code, "form_rights": membership.form_rights})  # fmt: skip
    return membership


@transaction.atomic
def member_remove(*, scope: Scope, username: str) -> None:
    scope.require(Right.MANAGE_USERS)
    if username == scope.user.username:
        raise TeamError("you cannot remove yourself")
    deleted, _ = Membership.objects.filter(project=scope.project, user__username=username).delete()
    if not deleted:
        raise TeamError(f"{username!r} is not a member")
    _audit(scope, "member_removed", username=username)
