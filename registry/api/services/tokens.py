"""API tokens: 32 uppercase hex characters, one active token per user and project, stored hashed."""

from __future__ import annotations

import hashlib
import re
import secrets

from django.db import transaction
from django.utils import timezone

from forms.models import Project
from registry.access import Right, Scope, scope_for
from registry.api.models import ApiToken
from registry.models import AuditSource
from registry.services.audit import Change, audit_append

TOKEN_PATTERN = re.compile(r"^[A-Fa-f0-9]{32}$")


class TokenError(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().upper().encode()).hexdigest()


@transaction.atomic
def token_create(*, user, project: Project, source: str = AuditSource.WEB) -> str:
    """A new token for the user's project, replacing (revoking) the previous one. Returned once, never stored."""
    scope = scope_for(user, project)
    if scope is None or not scope.can(Right.API):
        raise TokenError(f"{user} has no API rights in project {project.code}")
    now = timezone.now()
    ApiToken.objects.select_for_update().filter(user=user, project=project, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_hex(16).upper()
    ApiToken.objects.create(user=user, project=project, token_hash=token_hash(token), hint=token[-4:])
    audit_append(project=project, action="api_token_created", changes=[Change(details={"hint": token[-4:]})],
                 user=user, source=source)  # fmt: skip
    return token


@transaction.atomic
def token_revoke(*, user, token_id: int, source: str = AuditSource.WEB) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = ApiToken.objects.select_for_update().select_related("project").get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_append(project=token.project, action="api_token_revoked", changes=[Change(details={"hint": token.hint})],
                     user=user, source=source)  # fmt: skip
    return token


def token_scope(token: str) -> tuple[ApiToken, Scope] | None:
    """The active token and its owner's current scope, or None (unknown, revoked, or no API right)."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    api_token = (
        ApiToken.objects.select_related("user", "project")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )
    if api_token is None:
        return None
    scope = scope_for(api_token.user, api_token.project)
    if scope is None or not scope.can(Right.API):
        return None
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
    return api_token, scope
