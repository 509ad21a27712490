"""A Celery worker killed with SIGKILL in the middle of an export or a rule run: after a restart the job
finishes exactly once, and the release is never offered before it is complete.

To stop the worker at a known point without timing, the test holds the audit chain's row lock: the job
does its work, then waits to append its closing audit row (the release's "published" row, the run's
"dq_run" row). It is killed there, with its files written but not yet published.
"""

from __future__ import annotations

import hashlib

import psycopg2
import pytest
from django.test import Client

from registry.exports.models import Release
from registry.exports.services import ExportOptions, release_request
from registry.models import AuditEvent, Job
from registry.quality.models import Discrepancy
from registry.quality.services.runs import run_start
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.conftest import database_url_of_test_db
from tests.registry.designs import import_classic
from tests.registry.factories import build_world
from tests.reliability.procs import wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    world = build_world(project=import_classic("crash"))
    for who, site in (("coord_a", world.site_a), ("coord_b", world.site_b)) * 3:
        record = record_create(scope=world.scope(who), site=site)
        form_save(scope=world.scope(who), record=record, event="event_1_arm_1", instrument="demographics",
                  instance=1, values={"age": "9", "consent": "0", "weight": "30"})  # fmt: skip
    return world


class AuditGate:
    """Holds every audit chain's row lock from another connection, so appends wait behind it."""

    def __init__(self) -> None:
        self.conn = psycopg2.connect(database_url_of_test_db())
        self.conn.autocommit = False
        with self.conn.cursor() as cur:
            cur.execute("SELECT chain FROM registry_auditchainhead FOR UPDATE")
        # A second session watches: pg_stat_activity is a snapshot inside one transaction.
        self.watch = psycopg2.connect(database_url_of_test_db())
        self.watch.autocommit = True

    def waiting_backend(self) -> int | None:
        """The pid of a session waiting for a lock in the test database (the worker at the gate)."""
        with self.watch.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND pid <> %s",
                [self.conn.get_backend_pid()],
            )
            row = cur.fetchone()
        return row[0] if row else None

    def backend_alive(self, pid: int) -> bool:
        with self.watch.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return cur.fetchone()[0] > 0

    def open(self) -> None:
        self.conn.rollback()
        self.conn.autocommit = True

    def close(self) -> None:
        self.conn.close()
        self.watch.close()


def kill_at_the_gate(worker_factory):
    """Start a worker, let it reach the audit gate, kill it there; returns the restarted worker's factory."""
    gate = AuditGate()
    try:
        first = worker_factory()
        first.start()
        wait_until(lambda: gate.waiting_backend() is not None, 120, "the worker to reach the audit gate")
        backend = gate.waiting_backend()
        first.kill()
        gate.open()  # the dead worker's session finds its client gone and ends, rolling back
        wait_until(lambda: not gate.backend_alive(backend), 60, "the killed worker's session to end")
    finally:
        gate.close()


def test_export_killed_mid_job_is_published_exactly_once(world, worker_factory):
    dm = world.scope("dm")
    release = release_request(scope=dm, options=ExportOptions(profile="full", format="csv"))

    kill_at_the_gate(worker_factory)
    release.refresh_from_db()
    assert release.status != Release.Status.READY  # the files were written, but nothing was published
    client = Client()
    client.force_login(world.users["dm"])
    status = client.get(f"/projects/crash/exports/{release.public_id}/status.json").json()
    assert status["download_url"] is None
    assert client.get(f"/projects/crash/exports/{release.public_id}/download/").status_code == 410

    worker_factory().start()  # the restarted worker takes the orphaned job over
    job = Job.objects.get(pk=release.job_id)
    wait_until(lambda: Job.objects.get(pk=job.pk).status in (Job.Status.SUCCEEDED, Job.Status.FAILED), 120, "job")
    job.refresh_from_db()
    release.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert release.status == Release.Status.READY
    published = AuditEvent.objects.filter(action="export_release", details__release=str(release.public_id),
                                          details__stage="published")  # fmt: skip
    assert published.count() == 1
    download = client.get(f"/projects/crash/exports/{release.public_id}/download/")
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == release.sha256


def test_rule_run_killed_mid_job_stores_its_findings_once(world, worker_factory):
    dm = world.scope("dm")
    run = run_start(scope=dm, rules=["A"])

    kill_at_the_gate(worker_factory)
    assert Job.objects.get(pk=run.job_id).status == Job.Status.RUNNING  # orphaned: its worker is gone

    worker_factory().start()
    wait_until(lambda: Job.objects.get(pk=run.job_id).status in (Job.Status.SUCCEEDED, Job.Status.FAILED), 120,
               "job")  # fmt: skip
    job = Job.objects.get(pk=run.job_id)
    assert job.status == Job.Status.SUCCEEDED, job.error
    stored = Discrepancy.objects.filter(run=run)
    distinct = stored.values("rule", "record", "event", "instance", "field").distinct().count()
    assert stored.count() == distinct > 0  # the first attempt's rows were not kept beside the second's
    assert AuditEvent.objects.filter(action="dq_run", details__run=run.pk).count() == 1


def test_a_job_whose_message_died_with_its_worker_runs_when_a_worker_reconnects(world, worker_factory):
    """A worker killed after taking a job's message but before claiming it loses the message (the broker
    gives it back only after its visibility timeout, an hour). A worker starting up dispatches again every
    job queued for longer than STALE_QUEUED_AFTER, so the job runs; a job queued just now is left alone."""
    from datetime import timedelta

    from django.utils import timezone

    from registry.services.jobs import STALE_QUEUED_AFTER, job_create

    lost = job_create(kind="ping", params={"message": "lost with its worker"})  # no message was ever sent
    Job.objects.filter(pk=lost.pk).update(created_at=timezone.now() - STALE_QUEUED_AFTER - timedelta(seconds=5))
    fresh = job_create(kind="ping", params={"message": "its message is still on its way"})

    worker_factory().start()
    wait_until(lambda: Job.objects.get(pk=lost.pk).status == Job.Status.SUCCEEDED, 120, "the lost job to run")
    assert Job.objects.get(pk=lost.pk).result["pong"] == "lost with its worker"
    assert Job.objects.get(pk=fresh.pk).status == Job.Status.QUEUED  # not sent twice while its message may be queued
