"""Redis stops under a running registry: forms still save over HTTP, a job started meanwhile waits with a message
the user can read, and when Redis is back the worker that was running all along picks the job up and finishes it.

The Redis is a private one (tests/reliability/procs.py): the shared Redis of the machine is never touched. The web
server is pytest-django's live server in this process, so it sends jobs to the private Redis too.
"""

from __future__ import annotations

import pytest
import requests

from registry.exports.models import Release
from registry.models import AuditEvent, FormInstance, Job
from registry.quality.services.runs import run_start
from registry.services.jobs import DISPATCH_WAITING
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world
from tests.reliability.procs import wait_until
from tests.reliability.web import csrf_of, login

pytestmark = pytest.mark.worker

CODE = "nored"


def test_redis_down_forms_save_jobs_wait_with_a_message_then_run(
    transactional_db, settings, tmp_path, live_server, worker_factory, app_on_broker
):
    settings.EXPORT_DIR = str(tmp_path / "exports")  # where the worker (worker_factory) writes releases
    world = build_world(project=import_classic(CODE))
    records = [record_create(scope=world.scope("coord_a"), site=world.site_a) for _ in range(2)]
    worker = worker_factory()
    worker.start()
    base = live_server.url
    coord = login(base, f"{CODE}_coord_a", "pw-" + "coord_a" * 3)
    dm = login(base, f"{CODE}_dm", "pw-" + "dm" * 3)
    assert requests.get(f"{base}/healthz", timeout=30).json()["broker"] == "ok"

    app_on_broker.stop()
    assert requests.get(f"{base}/healthz", timeout=30).json()["broker"] == "down"

    for i, record in enumerate(records):  # data entry does not need Redis
        url = f"{base}/projects/{CODE}/records/{record.record_id}/event_1_arm_1/demographics/1/"
        saved = coord.post(url, data={"csrfmiddlewaretoken": csrf_of(coord, url), "row_version": "0", "age": str(
            30 + i), "consent": "0", "status": "0"}, allow_redirects=False, timeout=60)  # fmt: skip
        assert saved.status_code == 302
    stored = FormInstance.objects.filter(record__in=records, instrument="demographics")
    assert sorted(f.data["age"] for f in stored) == ["30", "31"]
    assert AuditEvent.objects.filter(chain=f"project:{CODE}", field="age").count() == 2

    requested = dm.post(f"{base}/projects/{CODE}/exports/request/", data={
        "csrfmiddlewaretoken": csrf_of(dm, base), "profile": "full", "format": "csv"}, timeout=60)  # fmt: skip
    assert requested.status_code == 200  # the request is taken, not an error page
    release = Release.objects.get(project=world.project)
    job = Job.objects.get(pk=release.job_id)
    assert (job.status, job.error) == (Job.Status.QUEUED, DISPATCH_WAITING)
    status = dm.get(f"{base}/projects/{CODE}/exports/{release.public_id}/status.json", timeout=60).json()
    assert status["status"] != "failed" and status["error"] == DISPATCH_WAITING  # the user is told why it waits
    assert DISPATCH_WAITING in dm.get(f"{base}/projects/{CODE}/exports/", timeout=60).text
    run = run_start(scope=world.scope("dm"), rules=["A"])  # a data-quality run waits the same way
    run_job = Job.objects.get(pk=run.job_id)
    assert (run_job.status, run_job.error) == (Job.Status.QUEUED, DISPATCH_WAITING)
    run_url = f"{base}/projects/{CODE}/quality/runs/{run.pk}/"
    assert dm.get(run_url + "status.json", timeout=60).json()["error"] == DISPATCH_WAITING
    assert DISPATCH_WAITING in dm.get(run_url, timeout=60).text

    app_on_broker.start()  # the same port: the worker reconnects by itself and dispatches the waiting job
    wait_until(lambda: Job.objects.get(pk=job.pk).status in (Job.Status.SUCCEEDED, Job.Status.FAILED), 120,
               "the waiting job to run once Redis is back")  # fmt: skip
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.error == ""
    wait_until(lambda: Job.objects.get(pk=run_job.pk).status in (Job.Status.SUCCEEDED, Job.Status.FAILED), 120,
               "the waiting rule run to run once Redis is back")  # fmt: skip
    run_job.refresh_from_db()
    assert run_job.status == Job.Status.SUCCEEDED and run_job.error == ""
    run_state = dm.get(run_url + "status.json", timeout=60).json()
    assert run_state["finished"] and run_state["error"] == ""
    status = dm.get(f"{base}/projects/{CODE}/exports/{release.public_id}/status.json", timeout=60).json()
    assert status["status"] == "ready" and status["error"] == ""
    download = dm.get(status["download_url"] if status["download_url"].startswith("http") else
                      base + status["download_url"], timeout=60)  # fmt: skip
    assert download.status_code == 200
    assert requests.get(f"{base}/healthz", timeout=30).json()["broker"] == "ok"
