"""Logins, failed logins and logouts go into the system audit chain (no identifiers, only the username)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from forms.models import ProjectVersion
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


@receiver(post_save, sender=ProjectVersion)
def audit_design_version(sender, instance: ProjectVersion, created: bool, **kwargs):
    """Every design change (dictionary, events, mapping, repeating setup, study import) is a new version."""
    if not created:
        return
    diff = instance.diff or {}
    summary = {key: len(value) for key, value in diff.items() if isinstance(value, list | dict)}
    audit_append(project=instance.project, action="design_version_created", user=instance.created_by,
                 changes=[Change(details={"version": instance.number, "source": instance.source_name,
                                          "source_sha256": instance.source_sha256, "note": instance.note,
                                          "diff_counts": summary})],
                 source=AuditSource.WEB)  # fmt: skip
