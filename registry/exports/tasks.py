"""Celery tasks of the exports: thin adapters taking ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="exports.build_release", acks_late=True)
def build_release(job_id: int) -> None:
    """Build and publish the release of a job; a redelivered message finds the job claimed and does nothing."""
    from registry.exports.services import release_run
    from registry.services.jobs import job_run

    job_run(job_id, release_run)


@shared_task(name="exports.purge_expired")
def purge_expired() -> int:
    from registry.exports.services import release_purge_expired

    return release_purge_expired()
