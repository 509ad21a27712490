"""An uploaded import file between its dry run and its commit."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from forms.models import Project
from registry.models import Job


class ImportRun(models.Model):
    """One uploaded file: checked by a dry run, then committed (or not) by its uploader.

    The file's text is kept only until the commit (the audit keeps its SHA-256), so a commit
    imports exactly the bytes that were checked.
    """

    class Status(models.TextChoices):
        CHECKING = "checking"
        CHECKED = "checked"  # dry run clean: ready to commit
        REJECTED = "rejected"  # dry run found problems
        COMMITTING = "committing"
        COMMITTED = "committed"
        FAILED = "failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    content = models.TextField(blank=True)
    delimiter = models.CharField(max_length=2, default=",")
    date_format = models.CharField(max_length=3, default="YMD")
    raw_or_label = models.CharField(max_length=5, default="raw")
    overwrite = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CHECKING)
    check_job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    commit_job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    summary = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=list, blank=True)  # the first PREVIEW_LIMIT cell changes
    problems = models.JSONField(default=list, blank=True)  # every problem (identifier values hidden)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
