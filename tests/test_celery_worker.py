"""The broker path, proven with a real Celery worker process over Redis."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for_job


@pytest.mark.worker
def test_real_worker_runs_job_and_writes_result(celery_worker):
    from registry.models import Job
    from registry.services.jobs import job_create
    from registry.tasks import ping_job

    job = job_create(kind="ping", params={"message": "hello from the test"})
    ping_job.apply_async(args=[job.pk], queue=celery_worker)
    wait_for_job(job)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["pong"] == "hello from the test"
    assert job.worker  # claimed by the worker process, not run in-process
    assert job.started_at and job.finished_at


@pytest.mark.django_db
def test_redelivered_job_runs_once():
    from registry.models import Job
    from registry.services.jobs import job_create, job_run

    calls = []
    job = job_create(kind="ping")
    job_run(job.pk, lambda j: calls.append(1) or "first")
    again = job_run(job.pk, lambda j: calls.append(1) or "second")
    assert again is None
    assert calls == [1]
    assert Job.objects.get(pk=job.pk).result == "first"
