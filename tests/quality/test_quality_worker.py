"""The rule run's Celery path, with a real worker process over Redis."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from tests.conftest import ROOT, database_url_of_test_db, subprocess_env


@pytest.fixture
def quality_worker(transactional_db, settings):
    from registry.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("CELERY_BROKER_URL must name a real broker for the worker tests")
    queue = f"test-quality-{uuid.uuid4().hex[:10]}"
    env = subprocess_env(DATABASE_URL=database_url_of_test_db(), CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "registry", "worker", "-Q", queue, "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
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
def test_rule_run_on_a_real_worker(quality_worker):
    from registry.models import FormInstance, Job
    from registry.quality.services.custom_rules import rule_save
    from registry.quality.services.runs import run_start
    from registry.services.design import design_of
    from registry.services.entry import form_save
    from registry.services.records import record_create
    from tests.registry.designs import import_classic
    from tests.registry.factories import build_world

    project = import_classic("dqworker")
    world = build_world(project=project)
    record = record_create(scope=world.scope("coord_a"), site=world.site_a)
    form_save(scope=world.scope("coord_a"), record=record, event=design_of(project).default_event(),
              instrument="demographics", values={"age": "40", "weight": "130"})  # fmt: skip
    rule_save(scope=world.scope("dm"), name="W1 Weight over 120 kg", logic="[weight] > 120", real_time=False)
    run = run_start(scope=world.scope("monitor"), rules=["W1", "B"], queue=quality_worker)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.job.refresh_from_db()
        if run.job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        time.sleep(0.2)
    assert run.job.status == Job.Status.SUCCEEDED, run.job.error
    assert run.job.worker and run.job.progress == 100
    run.refresh_from_db()
    assert run.summary["by_rule"] == {"W1": 1, "B": 1}  # consent is required and blank
    assert run.discrepancies.get(rule="W1").value == "[weight]=130"
    assert FormInstance.objects.filter(record=record).count() == 1
