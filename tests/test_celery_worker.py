"""The broker path, proven with a real Celery worker process over Redis."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.conftest import ROOT, database_url_of_test_db, subprocess_env


@pytest.fixture
def celery_worker_process(transactional_db, settings):
    """A real `celery worker` on a private queue, using the test database."""
    from registry.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("CELERY_BROKER_URL must name a real broker for the worker tests")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = subprocess_env(DATABASE_URL=database_url_of_test_db(), CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "registry",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output[-4000:])


@pytest.mark.worker
def test_real_worker_runs_job_and_writes_result(celery_worker_process):
    from registry.models import Job
    from registry.services.jobs import job_create
    from registry.tasks import ping_job

    job = job_create(kind="ping", params={"message": "hello from the test"})
    ping_job.apply_async(args=[job.pk], queue=celery_worker_process)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        time.sleep(0.2)
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
