"""API tokens, stored uploads of file fields, and the rate-limit buckets."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from forms.models import Project
from registry.models import Record


class ApiToken(models.Model):
    """A user's REDCap API token for one project. Only the SHA-256 of the token is stored.

    Tokens are 128 random bits, so a fast hash is enough: nobody can guess their way back to one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=4, help_text="the last four characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project__code", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_api_token_per_user_and_project",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.project.code} …{self.hint}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def stored_file_path(instance: StoredFile, filename: str) -> str:
    # Random names on disk: an uploaded file's own name may carry identifying text.
    return f"api_files/{instance.record.project.code}/{instance.storage_key}"


class StoredFile(models.Model):
    """The upload of one file field of one form instance; the form's value is the file name."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="files")
    event = models.CharField(max_length=100)
    instance = models.PositiveIntegerField(default=1)
    field = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    storage_key = models.CharField(max_length=64)
    blob = models.FileField(upload_to=stored_file_path, max_length=300)
    uploaded_at = models.DateTimeField(auto_now=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "event", "instance", "field"], name="one_file_per_field_value")
        ]

    def __str__(self) -> str:
        return f"{self.record_id}/{self.event}/{self.field}#{self.instance}"


class RateBucket(models.Model):
    """A token bucket of API calls: `tokens` left at `updated_at`, refilled continuously."""

    key = models.CharField(max_length=80, primary_key=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.1f}"
