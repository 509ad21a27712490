"""The demo: the SoJIA study, its sites, users and roles and a synthetic cohort (never in production).

`load_demo` imports the study folder fixtures/sojia through the same `import_study` path as any
REDCap project, creates the demo hospitals as sites `site_01`.. (the study's site rule F10 compares
the enrolment `site_id` with the DAG name), the demo users, and the cohort (registry/demo).
Every step is idempotent: a second run changes nothing and duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from forms.design.services import import_study
from forms.models import Project
from registry.models import Membership, Record, Role, Site

STUDY_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "sojia"
DEFAULT_RECORDS = 40
DEFAULT_SEED = 2011  # the year of the abstract the study builds on

DEMO_PROJECT_CODE = "sojia"
DEMO_PROJECT_TITLE = "Suspected vs established systemic JIA treated early with anakinra"


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    record_prefix: str
    coordinator: str


DEMO_SITES = (
    DemoSite("site_01", "Northfield Children's Hospital", "NCH", "coordinator_a"),
    DemoSite("site_02", "Riverside University Medical Centre", "RUM", "coordinator_b"),
    DemoSite("site_03", "Lakeside Paediatric Rheumatology Centre", "LPR", "coordinator_c"),
)
# Site codes of earlier demo databases, renamed in place so their records keep their site.
LEGACY_SITE_CODES = {"north": "site_01", "riverside": "site_02", "lakeside": "site_03"}

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
    for old, new in LEGACY_SITE_CODES.items():
        if not Site.objects.filter(project=project, code=new).exists():
            Site.objects.filter(project=project, code=old).update(code=new)
    for demo_site in DEMO_SITES:
        site, _ = Site.objects.update_or_create(
            project=project,
            code=demo_site.code,
            defaults={"name": demo_site.name, "record_prefix": demo_site.record_prefix},
        )
        ensure_user(demo_site.coordinator, Role.COORDINATOR, site)
    return logins


class DemoStudyError(Exception):
    pass


def refuse_in_production() -> None:
    if settings.PRODUCTION:
        raise DemoRefused("the demo is refused when DJANGO_ENV=production")


def import_demo_study(*, user=None) -> tuple[Project, bool]:
    """Import fixtures/sojia as the demo project; (project, imported). Skipped when already current.

    A dry run gives the folder's SHA-256; when the current version came from the same files there
    is nothing to do (a new import would add an identical version).
    """
    refuse_in_production()
    dry = import_study(directory=STUDY_DIR, dry_run=True)
    if dry.errors:
        raise DemoStudyError("; ".join(str(e) for e in dry.errors[:5]))
    project = Project.objects.filter(code=DEMO_PROJECT_CODE).first()
    if (
        project is not None
        and project.current_version_id
        and (project.current_version.source_sha256 == dry.source_sha256)
    ):
        return project, False
    result = import_study(directory=STUDY_DIR, user=user)
    if result.errors:
        raise DemoStudyError("; ".join(str(e) for e in result.errors[:5]))
    return Project.objects.get(code=DEMO_PROJECT_CODE), True


@dataclass(frozen=True)
class DemoLoad:
    logins: list[tuple[str, str, str]]
    study_imported: bool
    cohort: object | None  # registry.demo.cohort.CohortSummary when generated now
    existing_records: int


def load_demo(*, n_records: int = DEFAULT_RECORDS, seed: int = DEFAULT_SEED) -> DemoLoad:
    """The whole demo: study, sites, users and (into an empty project only) the synthetic cohort."""
    from registry.demo.cohort import generate_cohort  # the generator pulls in the form engine

    refuse_in_production()
    project, imported = import_demo_study()
    logins = load_demo_users_and_sites(project)
    existing = Record.objects.filter(project=project).count()
    cohort = None
    if existing == 0 and n_records > 0:
        data_manager = get_user_model().objects.filter(username="datamanager").first()
        cohort = generate_cohort(project, n_records=n_records, seed=seed, user=data_manager)
    return DemoLoad(logins=logins, study_imported=imported, cohort=cohort, existing_records=existing)
