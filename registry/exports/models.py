"""Export releases and the per-project key that makes de-identification stable and secret."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models

from forms.models import Project


def new_secret() -> str:
    return secrets.token_hex(32)


class ExportKey(models.Model):
    """The project's de-identification secret: generated once, never exported, never shown.

    Hashed record ids are HMAC-SHA256(secret, record id) and the date-shift offset of a record is
    derived from HMAC-SHA256(secret, 'dateshift:' + record id), so both stay the same in every
    release and cannot be recomputed without the secret.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="export_key")
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"export key of {self.project_id}"


class Release(models.Model):
    """One export: its request, the background job that builds it, and the published file."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"
        EXPIRED = "expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    job = models.OneToOneField("registry.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="release")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    profile = models.CharField(max_length=20)
    format = models.CharField(max_length=20)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True, help_text="the published zip, relative to the export dir")
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "requested_by", "created_at"])]

    def __str__(self) -> str:
        return f"{self.project_id} {self.profile}/{self.format} {self.public_id}"
