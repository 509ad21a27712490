"""The rule run's Celery path, with a real worker process over Redis."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for_job


@pytest.mark.worker
def test_rule_run_on_a_real_worker(celery_worker):
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
    run = run_start(scope=world.scope("monitor"), rules=["W1", "B"], queue=celery_worker)

    wait_for_job(run.job)
    assert run.job.status == Job.Status.SUCCEEDED, run.job.error
    assert run.job.worker and run.job.progress == 100
    run.refresh_from_db()
    assert run.summary["by_rule"] == {"W1": 1, "B": 1}  # consent is required and blank
    assert run.discrepancies.get(rule="W1").value == "[weight]=130"
    assert FormInstance.objects.filter(record=record).count() == 1
