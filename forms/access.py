"""Who may change a project's design. One function, so the registry can move it into its access module."""

from __future__ import annotations

from forms.models import Project


def can_design(user, project: Project) -> bool:
    """Data managers of the project and superusers may import and export its dictionary and design."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    from registry.models import Membership, Role  # the registry app depends on forms, not the reverse

    return Membership.objects.filter(user=user, project=project, role=Role.DATA_MANAGER).exists()
