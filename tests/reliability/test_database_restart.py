"""PostgreSQL restarted under a running server: requests fail cleanly with 503, then recover by themselves.

A private cluster is started for this (the shared one is never touched), migrated, and served by gunicorn
with persistent connections, so the restart breaks connections the server holds open.
"""

from __future__ import annotations

import subprocess

import pytest
import requests

from registry.loadtest.server import free_port, start_gunicorn, stop
from tests.conftest import PYTHON, ROOT, subprocess_env
from tests.reliability.procs import PrivateCluster

PASSWORD = "restart-test-password"


@pytest.fixture
def cluster():
    c = PrivateCluster()
    c.init()
    try:
        yield c
    finally:
        c.destroy()


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def test_requests_answer_503_while_postgres_restarts_and_recover(cluster):
    cluster.createdb("registry")
    env = subprocess_env(DATABASE_URL=cluster.url("registry"), DB_CONN_MAX_AGE="60", DJANGO_ENV="test")
    env.pop("CELERY_BROKER_URL", None)
    manage(env, "migrate", "--noinput")
    manage(env, "shell", "-c", f"from django.contrib.auth.models import User; "
           f"User.objects.create_user('restart', password='{PASSWORD}')")  # fmt: skip
    port = free_port()
    server = start_gunicorn(port, workers=1, threads=2, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        page = session.get(f"{base}/accounts/login/", timeout=30)
        csrf = page.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        credentials = {"username": "restart", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
        login = session.post(f"{base}/accounts/login/", allow_redirects=False, timeout=30, data=credentials)
        assert login.status_code == 302
        assert session.get(f"{base}/accounts/profile/", timeout=30).status_code == 200
        api = {"token": "0" * 32, "content": "version", "format": "json"}
        assert requests.post(f"{base}/api/", data=api, timeout=30).status_code == 403

        cluster.stop()
        down_page = session.get(f"{base}/accounts/profile/", timeout=30)
        assert down_page.status_code == 503
        assert "database is unavailable" in down_page.text and down_page.headers["Retry-After"]
        down_api = requests.post(f"{base}/api/", data=api, timeout=30)
        assert down_api.status_code == 503 and "database is unavailable" in down_api.json()["error"]

        cluster.start()  # nothing else: no server restart, no manual step
        answers = [session.get(f"{base}/accounts/profile/", timeout=30).status_code for _ in range(4)]
        assert answers[-1] == 200 and 500 not in answers  # at most a stale connection's clean 503 first
        assert requests.post(f"{base}/api/", data=api, timeout=30).status_code == 403
    finally:
        stop(server)
