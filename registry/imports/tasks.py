"""Celery tasks of the import tool: thin adapters taking job ids."""

from __future__ import annotations

from celery import shared_task


def _run(job_id: int, work) -> None:
    from registry.imports.services import mark_failed
    from registry.models import Job
    from registry.services.jobs import job_run

    try:
        job_run(job_id, work)
    except Exception as exc:
        mark_failed(Job.objects.get(pk=job_id), f"{type(exc).__name__}")
        raise


@shared_task(name="imports.check_file", acks_late=True)
def check_file(job_id: int) -> None:
    """The dry run of an uploaded file; a redelivered message finds the job claimed and does nothing."""
    from registry.imports.services import check_job_run

    _run(job_id, check_job_run)


@shared_task(name="imports.commit_file", acks_late=True)
def commit_file(job_id: int) -> None:
    from registry.imports.services import commit_job_run

    _run(job_id, commit_job_run)
