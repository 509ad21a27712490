"""Registry domain models: sites, memberships and roles, background jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from forms.models import Project


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Study coordinator"
    MONITOR = "monitor", "Monitor"
    PI = "pi", "Principal investigator"
    DATA_MANAGER = "data_manager", "Data manager"
    STATISTICIAN = "statistician", "Statistician"


class Site(models.Model):
    """A hospital taking part in a project (REDCap's data access group)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sites")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    record_prefix = models.CharField(max_length=20, help_text="Prefix of auto-numbered record ids, e.g. 'UMC'.")

    class Meta:
        ordering = ["project", "code"]
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="site_code_unique_per_project")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a project, at one site or (site empty) at all sites."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_project")]

    def __str__(self) -> str:
        return f"{self.user} - {self.project.code} ({self.role})"


class Job(models.Model):
    """A background job: Celery tasks receive its id and claim it atomically."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=40)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
