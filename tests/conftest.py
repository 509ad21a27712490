"""Shared fixtures. Tests talk to the real PostgreSQL and Redis named by DATABASE_URL and CELERY_BROKER_URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still work there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PYTHON = sys.executable


@pytest.fixture(autouse=True)
def _tasks_in_process_by_default():
    """Most tests run Celery tasks eagerly; the worker tests switch this off and start a real worker."""
    from registry.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def make(username: str = "alice", password: str = "correct-horse-battery", **extra):
        user = get_user_model().objects.create_user(username=username, password=password, **extra)
        user.raw_password = password
        return user

    return make


def database_url_of_test_db() -> str:
    """The URL of the test database pytest-django created, for subprocesses such as a Celery worker."""
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def subprocess_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # only the in-process browser tests need it
    env.update(overrides)
    return env


@pytest.fixture(scope="session", autouse=True)
def _close_stray_test_db_sessions(django_db_setup, django_db_blocker):
    """End sessions left on the test database (live-server request threads) so it can be dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return  # nothing to do when the run never created the test database
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def reset_celery_pools() -> None:
    """Drop this process's broker connections: the next send opens fresh ones on the current broker URL.

    Celery's connection pool is kombu's process-wide pool for that broker URL; closing it without
    dropping kombu's registry leaves a closed pool behind for the next test ("Acquire on closed pool").
    """
    from kombu import pools

    from registry.celery import app

    app.amqp._producer_pool = None
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    pools.reset()


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real `celery worker` process on a private queue, using the test database; yields the queue name.

    Send work with `task.apply_async(..., queue=celery_worker)` (services that start jobs take a `queue`).
    """
    from registry.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("CELERY_BROKER_URL must name a real broker for the worker tests")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = subprocess_env(DATABASE_URL=database_url_of_test_db(), CELERY_TASK_DEFAULT_QUEUE=queue)
    worker = subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "registry", "worker", "-Q", queue, "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    app.conf.task_always_eager = False
    reset_celery_pools()
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


def wait_for_job(job, seconds: float = 180):
    """Poll a Job row until it finished (or the time is up); returns it refreshed."""
    from registry.models import Job

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        time.sleep(0.2)
    return job


# Headless Chromium (Debian's package) driven by Playwright; never a downloaded browser.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def login(live_server, browser):
    """Open a new browser context logged in as `username`; returns the page."""

    def do_login(username: str, password: str):
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=current-user]")
        return page

    return do_login


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    """The demo cohort, loaded once per test module inside a transaction rolled back at the end."""
    from django.core.management import call_command
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--quiet-logins")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_loaded, db):
    from forms.models import Project

    return Project.objects.get(code="sojia")
