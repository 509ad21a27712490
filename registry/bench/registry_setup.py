"""The synthetic registry every benchmark runs against: SoJIA with N generated patients.

Each size gets its own project (`bench-n1000`, `bench-n10000`), so one bench database holds several
sizes and a second run at the same N reuses the registry instead of spending minutes regenerating
it. A project whose record count differs from N (an interrupted build) is refused rather than
silently measured at the wrong size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection

from forms.design.services import import_study
from forms.models import Project
from registry.access import Scope
from registry.demo.cohort import generate_cohort
from registry.models import AuditEvent, FormInstance, Membership, Record, Role
from registry.quality.models import Rule
from registry.quality.services.custom_rules import rules_import_csv
from registry.services.demo import DEFAULT_SEED, STUDY_DIR, load_demo_users_and_sites

BENCH_USERNAME = "bench"
# A loopback-only load generator's login on a scratch database, never a deployment's credential.
BENCH_PASSWORD = "bench-only-password-loopback"  # noqa: S105


class BenchSetupError(Exception):
    pass


@dataclass(frozen=True)
class BenchRegistry:
    project: Project
    records: int
    built_now: bool
    build_seconds: float


STUDY_RULES = STUDY_DIR / "dq_rules.csv"


def bench_code(n_records: int) -> str:
    return f"bench-n{n_records}"


def bench_registry(n_records: int, *, seed: int = DEFAULT_SEED) -> BenchRegistry:
    """The N-patient registry, built on first use (study import, sites, cohort) and reused after."""
    code = bench_code(n_records)
    project = Project.objects.filter(code=code).first()
    if project is not None and project.current_version_id:
        existing = Record.objects.filter(project=project).count()
        if existing == n_records:
            ensure_bench_user(project)
            ensure_study_rules(project)
            return BenchRegistry(project=project, records=existing, built_now=False, build_seconds=0.0)
        if existing:
            raise BenchSetupError(
                f"project {code} holds {existing} records, not {n_records} (an interrupted build?): drop it or "
                "use a fresh bench database"
            )
    started = time.perf_counter()
    result = import_study(directory=STUDY_DIR, project_code=code)
    if result.errors:
        raise BenchSetupError("; ".join(str(e) for e in result.errors[:5]))
    project = Project.objects.get(code=code)
    load_demo_users_and_sites(project)
    generate_cohort(project, n_records=n_records, seed=seed)
    analyze_tables()
    ensure_bench_user(project)
    ensure_study_rules(project)
    return BenchRegistry(
        project=project, records=n_records, built_now=True, build_seconds=round(time.perf_counter() - started, 1)
    )


def analyze_tables() -> None:
    """Planner statistics for the bulk-loaded tables, now rather than when autovacuum gets to them.

    Without them PostgreSQL plans the export's pivot for empty tables: measured at 1,000 patients,
    the flat CSV took over a minute instead of about a second.
    """
    if connection.vendor != "postgresql":
        return
    tables = [m._meta.db_table for m in (Record, FormInstance, AuditEvent)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def ensure_study_rules(project: Project) -> None:
    """The study's data-quality rules (fixtures/sojia/dq_rules.csv: 100 rules, 90 of them real-time), imported
    when the project has none: a registry in use has its rules, and every save runs the real-time ones that
    name a field of the saved form. The web figures were once taken with and once without them, depending on
    whether the data-quality section had run first (ratio 2.7 against 2.1)."""
    if Rule.objects.filter(project=project).exists() or not STUDY_RULES.exists():
        return
    scope = Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)
    rules_import_csv(scope=scope, text=STUDY_RULES.read_text(encoding="utf-8"), replace=True)


def ensure_bench_user(project: Project):
    """The load generator's login: a data manager of the project (edits every instrument at every site)."""
    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created or not user.check_password(BENCH_PASSWORD):
        user.set_password(BENCH_PASSWORD)
        user.save()
    Membership.objects.update_or_create(user=user, project=project, defaults={"role": Role.DATA_MANAGER, "site": None})
    return user
