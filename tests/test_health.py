"""/healthz answers 200 with the state of the database and broker, 503 naming what is down."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import PYTHON, ROOT, database_url_of_test_db, subprocess_env

HEALTH_SCRIPT = (
    "import json;from django.test import Client;"
    "r=Client().get('/healthz');print(r.status_code);print(r.content.decode())"
)


def run_health(**env: str) -> tuple[int, dict]:
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", HEALTH_SCRIPT],
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    return int(status), json.loads(body)


@pytest.mark.django_db
def test_healthy_with_real_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_in_process_broker_when_none_configured(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "in-process"}


@pytest.mark.django_db
def test_broker_down_gives_503_naming_it():
    status, body = run_health(CELERY_BROKER_URL="redis://127.0.0.1:1/0", DATABASE_URL=database_url_of_test_db())
    assert status == 503
    assert body["broker"] == "down"
    assert body["database"] == "ok"
    assert body["down"] == "broker"


def test_database_down_gives_503_naming_it():
    status, body = run_health(DATABASE_URL="postgres://postgres@127.0.0.1:1/nodb")
    assert status == 503
    assert body["database"] == "down"
    assert body["down"] == "database"
