"""Celery tasks of data quality: thin adapters over the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="quality.run_job")
def run_quality_job(job_id: int) -> None:
    from registry.quality.services.runs import run_execute

    run_execute(job_id)


@shared_task(name="quality.nightly_runs")
def nightly_quality_runs() -> list[int]:
    """Every project with a design gets a full run (built-in and custom rules), as the system."""
    from forms.models import Project
    from registry.access import Scope
    from registry.models import Role
    from registry.quality.services.runs import run_sync

    runs = []
    for project in Project.objects.filter(current_version__isnull=False):
        scope = Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)
        runs.append(run_sync(scope=scope).pk)
    return runs


@shared_task(name="quality.daily_digest")
def daily_query_digest() -> int:
    from registry.quality.services.notifications import send_daily_digests

    return send_daily_digests()
