"""A saved report: which columns, events and records (a filter), in which order, for which roles."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from forms.models import Project


class Report(models.Model):
    """Its primary key is the `report_id` of the API (PyCap's `export_report`)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="custom_reports")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    fields = models.JSONField(default=list, blank=True)  # field names (checkbox base names) and <form>_complete
    instruments = models.JSONField(default=list, blank=True)  # whole instruments
    events = models.JSONField(default=list, blank=True)  # [] = every event
    filter_logic = models.TextField(blank=True)
    sort = models.JSONField(default=list, blank=True)  # [{"field": name, "desc": bool}], up to three
    roles = models.JSONField(default=list, blank=True)  # roles that may open it (data managers always may)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "title", "pk"]

    def __str__(self) -> str:
        return f"{self.title} (report {self.pk})"
