"""The demo: sites, users and roles for trying the registry (never in production)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from forms.models import Project
from registry.models import Membership, Role, Site

DEMO_PROJECT_CODE = "sojia"
DEMO_PROJECT_TITLE = "Suspected vs established systemic JIA treated early with anakinra"


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    record_prefix: str
    coordinator: str


DEMO_SITES = (
    DemoSite("north", "Northfield Children's Hospital", "NCH", "coordinator_a"),
    DemoSite("riverside", "Riverside University Medical Centre", "RUM", "coordinator_b"),
    DemoSite("lakeside", "Lakeside Paediatric Rheumatology Centre", "LPR", "coordinator_c"),
)

# Users with all-site roles; coordinators come from DEMO_SITES.
DEMO_STUDY_USERS = (
    ("datamanager", Role.DATA_MANAGER),
    ("monitor", Role.MONITOR),
    ("statistician", Role.STATISTICIAN),
    ("pi", Role.PI),
)


class DemoRefused(Exception):
    pass


def demo_password(username: str) -> str:
    return f"demo-{username}"


def demo_usernames() -> list[str]:
    return [name for name, _ in DEMO_STUDY_USERS] + [site.coordinator for site in DEMO_SITES]


@transaction.atomic
def load_demo_users_and_sites(project: Project | None = None) -> list[tuple[str, str, str]]:
    """Create (or refresh) demo sites, users and memberships. Returns (username, password, role) rows.

    Idempotent: running it again resets the demo passwords and roles, nothing is duplicated.
    """
    if settings.PRODUCTION:
        raise DemoRefused("demo users are refused when DJANGO_ENV=production")
    if project is None:
        project, _ = Project.objects.get_or_create(
            code=DEMO_PROJECT_CODE, defaults={"title": DEMO_PROJECT_TITLE, "is_longitudinal": True}
        )
    user_model = get_user_model()
    logins: list[tuple[str, str, str]] = []

    def ensure_user(username: str, role: str, site: Site | None) -> None:
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(demo_password(username))
        user.is_active = True
        if username == "datamanager":
            user.is_staff = True  # the data manager may open the Django admin
        user.save()
        Membership.objects.update_or_create(user=user, project=project, defaults={"role": role, "site": site})
        logins.append((username, demo_password(username), f"{Role(role).label}" + (f" at {site.name}" if site else "")))

    for username, role in DEMO_STUDY_USERS:
        ensure_user(username, role, None)
    for demo_site in DEMO_SITES:
        site, _ = Site.objects.update_or_create(
            project=project,
            code=demo_site.code,
            defaults={"name": demo_site.name, "record_prefix": demo_site.record_prefix},
        )
        ensure_user(demo_site.coordinator, Role.COORDINATOR, site)
    return logins
