"""Background jobs: create, claim exactly once, report progress, finish."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from registry.models import Job


def job_create(*, kind: str, params: dict | None = None, project=None, user=None) -> Job:
    return Job.objects.create(kind=kind, params=params or {}, project=project, created_by=user)


def job_claim(job_id: int) -> Job | None:
    """Move a queued job to running; None when another delivery already took it.

    A redelivered message (acks_late after a worker crash) finds the job no longer queued
    and becomes a no-op, so a job runs exactly once.
    """
    worker = f"{socket.gethostname()}"
    with transaction.atomic():
        claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING, started_at=timezone.now(), worker=worker
        )
    if not claimed:
        return None
    return Job.objects.get(pk=job_id)


def job_set_progress(job: Job, progress: int, total: int | None = None) -> None:
    job.progress = progress
    fields = ["progress"]
    if total is not None:
        job.total = total
        fields.append("total")
    job.save(update_fields=fields)


def job_finish(job: Job, *, result: Any = None, error: str = "") -> None:
    job.status = Job.Status.FAILED if error else Job.Status.SUCCEEDED
    job.result = result
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at"])


def job_run(job_id: int, work: Callable[[Job], Any]) -> Job | None:
    """Claim the job, run `work(job)` and record its result or its error."""
    job = job_claim(job_id)
    if job is None:
        return None
    try:
        result = work(job)
    except Exception as exc:  # the job row must say it failed, whatever went wrong
        job_finish(job, error=f"{type(exc).__name__}: {exc}")
        raise
    job_finish(job, result=result)
    return job
