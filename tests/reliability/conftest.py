"""Fixtures of the reliability tests: private services the tests may kill, and a broker switch for the app."""

from __future__ import annotations

import pytest

from tests.conftest import database_url_of_test_db, reset_celery_pools
from tests.reliability.procs import PrivateRedis, Worker


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def app_on_broker(private_redis):
    """The Celery app of this test process sends to the private Redis (not the shared one) and not eagerly."""
    from registry.celery import app

    saved = (app.conf.broker_url, app.conf.broker_write_url, app.conf.task_always_eager)

    app.conf.broker_url = app.conf.broker_write_url = private_redis.url
    app.conf.task_always_eager = False
    reset_celery_pools()
    try:
        yield private_redis
    finally:
        app.conf.broker_url, app.conf.broker_write_url, app.conf.task_always_eager = saved
        reset_celery_pools()


@pytest.fixture
def worker_factory(transactional_db, app_on_broker, tmp_path):
    """Workers on the private broker and the test database; all stopped at the end."""
    started: list[Worker] = []

    def make() -> Worker:
        worker = Worker(app_on_broker.url, database_url_of_test_db(), tmp_path / "worker.log",
                        EXPORT_DIR=str(tmp_path / "exports"))  # fmt: skip
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()
    log = tmp_path / "worker.log"
    if log.exists():
        print(log.read_text()[-6000:])
