"""Idle and absolute session timeouts end the session on the server and say which limit did."""

from __future__ import annotations

import subprocess
import time

from django.test import Client

from registry.models import AuditEvent
from registry.security.session_clock import SEEN, STARTED
from tests.conftest import PYTHON, ROOT, subprocess_env


def logged_in(world, key: str = "dm") -> Client:
    client = Client()
    client.force_login(world.users[key])
    assert client.get("/projects/sec/audit/").status_code == 200
    return client


def set_clock(client: Client, **ago_seconds: float) -> None:
    session = client.session
    now = time.time()
    for key, ago in ago_seconds.items():
        session[{"started": STARTED, "seen": SEEN}[key]] = now - ago
    session.save()


def test_a_session_idle_for_longer_than_30_minutes_is_logged_out_and_audited(world):
    client = logged_in(world)
    set_clock(client, seen=31 * 60)
    response = client.get("/projects/sec/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/projects/sec/audit/")
    assert not client.get("/").wsgi_request.user.is_authenticated
    row = AuditEvent.objects.get(chain="system", action="session_expired")
    assert row.details == {"limit": "idle"} and row.username == world.users["dm"].username


def test_activity_keeps_a_session_alive_until_the_absolute_limit(world, settings):
    client = logged_in(world)
    set_clock(client, seen=29 * 60, started=11 * 3600)
    assert client.get("/projects/sec/audit/").status_code == 200
    assert time.time() - client.session[SEEN] < 60  # the request counted as activity
    set_clock(client, started=12 * 3600 + 60)
    response = client.get("/projects/sec/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.get(chain="system", action="session_expired").details == {"limit": "absolute"}


def test_timeouts_follow_the_environment_and_reject_nonsense():
    code = "from django.conf import settings; print(settings.SESSION_IDLE_TIMEOUT, settings.SESSION_ABSOLUTE_TIMEOUT)"
    env = subprocess_env(SESSION_IDLE_TIMEOUT_MINUTES="10", SESSION_ABSOLUTE_TIMEOUT_HOURS="8")
    result = subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1].split() == ["600", "28800"], result.stderr
    env = subprocess_env(SESSION_ABSOLUTE_TIMEOUT_HOURS="half a day")
    result = subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: SESSION_ABSOLUTE_TIMEOUT_HOURS='half a day' is not valid: expected a whole number"
    )


def test_activity_is_recorded_once_a_minute_not_on_every_request(world):
    """Each request within a minute of the last recorded activity leaves the session row alone (a save of it
    is three round trips); the first request after that minute records the activity again."""
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(world)
    set_clock(client, seen=10)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/projects/sec/audit/").status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]]
    assert 9 < time.time() - client.session[SEEN] < 60  # not moved
    set_clock(client, seen=61)
    assert client.get("/projects/sec/audit/").status_code == 200
    assert time.time() - client.session[SEEN] < 5  # recorded again
    assert Session.objects.filter(session_key=client.session.session_key).exists()
