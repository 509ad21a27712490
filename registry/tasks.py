"""Celery tasks: thin adapters that take ids and call services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="registry.ping_job")
def ping_job(job_id: int) -> None:
    """A trivial job proving the broker path end to end: the worker writes its answer to the Job row."""
    from registry.services.jobs import job_run

    def work(job):
        return {"pong": job.params.get("message", ""), "worker": job.worker}

    job_run(job_id, work)
