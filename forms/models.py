"""Study metadata. The project is the root; the engine's versioned metadata hangs off it."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

project_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_-]{1,39}$",
    "A project code is 2-40 lower-case letters, digits, '-' or '_', starting with a letter.",
)


class Project(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[project_code_validator])
    title = models.CharField(max_length=255)
    is_longitudinal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"
