"""Logins, failed logins and logouts go into the system audit chain (no identifiers, only the username)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from registry.models import AuditSource
from registry.services.audit import Change, audit_append


def _client(request) -> dict:
    return {"ip": request.META.get("REMOTE_ADDR", "")} if request is not None else {}


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit_append(project=None, action="login", changes=[Change(details=_client(request))], user=user,
                 source=AuditSource.WEB)  # fmt: skip


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_append(project=None, action="logout", changes=[Change(details=_client(request))], user=user,
                     source=AuditSource.WEB)  # fmt: skip


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_append(project=None, action="login_failed", changes=[Change(details={**_client(request),
                 "username": username})], source=AuditSource.WEB)  # fmt: skip
