"""Background jobs: create, dispatch, claim exactly once, report progress, finish, recover.

A running job holds a PostgreSQL advisory lock on its id in the worker's own database session. A
worker killed outright (SIGKILL, OOM, lost machine) loses its session and so its lock: a job that
says `running` while nobody holds its lock is orphaned, and the next delivery may take it over.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from registry.models import Job

logger = logging.getLogger(__name__)

# The Celery task that runs each kind of job, for re-dispatching jobs after a crash or a broker outage.
JOB_TASKS: dict[str, str] = {
    "ping": "registry.ping_job",
    "export_release": "exports.build_release",
    "quality_run": "quality.run_job",
    "record_import_check": "imports.check_file",
    "record_import_commit": "imports.commit_file",
}
# Written to Job.error while the job waits for the broker; cleared when it is dispatched.
DISPATCH_WAITING = "waiting for the job queue: Redis could not be reached; the job starts when it is back"
# A queued job older than this when a worker (re)connects is dispatched again (see job_requeue_stalled).
STALE_QUEUED_AFTER = timedelta(minutes=2)
_LOCK_SPACE = 0x4A0B  # first key of the two-key advisory lock, so job locks never meet other locks


def job_create(*, kind: str, params: dict | None = None, project=None, user=None) -> Job:
    return Job.objects.create(kind=kind, params=params or {}, project=project, created_by=user)


def _try_lock(job_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite (the embedded demo) runs jobs in-process: no other worker to race
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, job_id])
        return bool(cursor.fetchone()[0])


def _unlock(job_id: int) -> None:
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, job_id])


def job_claim(job_id: int) -> Job | None:
    """Take a queued (or orphaned running) job; None when another delivery has it or it is done.

    A redelivered message (acks_late after a worker crash) finds the job finished, or running under
    a live worker's lock, and becomes a no-op, so a job's work completes exactly once.
    """
    if not _try_lock(job_id):
        return None  # a live worker holds it
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with transaction.atomic():
        claimed = Job.objects.filter(pk=job_id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=Job.Status.RUNNING, started_at=timezone.now(), worker=worker, error=""
        )
    if not claimed:
        _unlock(job_id)
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
        try:
            result = work(job)
        except Exception as exc:  # the job row must say it failed, whatever went wrong
            job_finish(job, error=f"{type(exc).__name__}: {exc}")
            raise
        job_finish(job, result=result)
    finally:
        _unlock(job_id)
    return job


def job_dispatch(job_id: int, task_name: str, **options: Any) -> bool:
    """Send the job's task; when the broker is down, say so on the job (it waits) instead of failing."""
    from registry.celery import app

    if app.conf.task_always_eager:
        app.tasks[task_name].apply(args=[job_id])
        return True
    try:
        app.send_task(task_name, args=[job_id], retry=False, **options)
    except Exception as exc:  # OperationalError and friends: the broker is unreachable
        logger.warning("job %s waits for the broker: %s", job_id, type(exc).__name__)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(error=DISPATCH_WAITING)
        return False
    Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, error=DISPATCH_WAITING).update(error="")
    return True


def job_is_orphaned(job: Job) -> bool:
    """Running, but no live worker session holds its lock."""
    if job.status != Job.Status.RUNNING or connection.vendor != "postgresql":
        return False
    if not _try_lock(job.pk):
        return False
    _unlock(job.pk)
    return True


def job_requeue_stalled(queue: str | None = None) -> list[int]:
    """Dispatch again the jobs that wait for the broker, the jobs orphaned by a dead worker, and the
    jobs queued for a while without being claimed.

    Called by each worker when it (re)connects to the broker. The last kind covers a worker killed
    after it took a job's message but before it claimed the job: the message is lost with it until
    the broker's visibility timeout (an hour) redelivers it. A job that is also still in the queue
    gets a second message; the claim makes whichever comes second a no-op.
    """
    sent = []
    unclaimed_since = timezone.now() - STALE_QUEUED_AFTER
    stalled = (
        Job.objects.filter(status=Job.Status.QUEUED, error=DISPATCH_WAITING)
        | Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=unclaimed_since)
        | Job.objects.filter(status=Job.Status.RUNNING)
    )
    for job in stalled.order_by("pk"):
        task = JOB_TASKS.get(job.kind)
        if task is None or (job.status == Job.Status.RUNNING and not job_is_orphaned(job)):
            continue
        options = {"queue": queue} if queue else {}
        if job_dispatch(job.pk, task, **options):
            sent.append(job.pk)
    if sent:
        logger.info("re-dispatched jobs %s", sent)
    return sent
