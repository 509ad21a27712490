"""Read-side queries of the registry."""

from __future__ import annotations

from django.db.models import QuerySet

from forms.models import Project


def projects_for_user(user) -> QuerySet[Project]:
    """Projects the user belongs to; superusers see every project."""
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()
