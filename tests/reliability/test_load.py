"""The load test in its short CI form: gunicorn on loopback, simulated users in this process, for ~10 s.

The full run (`python manage.py loadtest --users 50 --seconds 60`) is in docs/benchmarks.md; here only
behaviour is asserted: no errors, and every accepted save and query answer is stored and audited.
"""

from __future__ import annotations

import pytest

from registry.loadtest.client import ACTIONS, run_load
from registry.loadtest.server import free_port, start_gunicorn, stop
from registry.loadtest.setup import prepare
from registry.loadtest.verify import missing_answers, missing_saves
from tests.conftest import database_url_of_test_db


@pytest.mark.django_db(transaction=True)
def test_short_load_has_no_errors_and_loses_no_save():
    users = prepare("loadci", 12)
    port = free_port()
    server = start_gunicorn(port, workers=2, threads=4, env={"DATABASE_URL": database_url_of_test_db()})
    try:
        report = run_load(f"http://127.0.0.1:{port}", "loadci", users, seconds=10)
    finally:
        stop(server)
    assert report.errors == []
    assert set(report.summary()) == set(ACTIONS)  # every kind of action ran
    assert report.saves
    assert missing_saves("loadci", report.saves) == []
    assert report.answers  # coordinators answered the monitor's queries on their records
    assert missing_answers(report.answers) == []
