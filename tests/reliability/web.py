"""Real-HTTP helpers for the reliability tests: gunicorn on the test database, logged-in sessions, a data checksum.

Requests go to 127.0.0.1 only. The checksum is what "nothing was half-applied" is measured with: a SHA-256 over
every table a refused write could have touched, in a fixed order.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from django.db import connection

from registry.loadtest.server import free_port, start_gunicorn, stop
from tests.conftest import database_url_of_test_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ROW_VERSION = re.compile(r'name="row_version" value="(\d*)"')


@contextmanager
def gunicorn_on_test_db(workers: int = 2, threads: int = 8) -> Iterator[str]:
    """Separate server processes (several workers, several threads each) on the test database; yields the base URL."""
    port = free_port()
    env = {"DATABASE_URL": database_url_of_test_db(), "DJANGO_ENV": "test", "CELERY_BROKER_URL": ""}
    server = start_gunicorn(port, workers=workers, threads=threads, env=env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=60)
    data = {"username": username, "password": password, "csrfmiddlewaretoken": CSRF.search(page.text).group(1)}
    answer = session.post(f"{base}/accounts/login/", data=data, allow_redirects=False, timeout=60)
    assert answer.status_code == 302, f"{username} could not log in"
    return session


def clone(session: requests.Session) -> requests.Session:
    """A second connection with the same cookies: requests' Session is not meant to be shared by threads."""
    copy = requests.Session()
    copy.cookies.update(session.cookies)
    return copy


def csrf_of(session: requests.Session, url: str) -> str:
    return session.cookies.get("csrftoken") or CSRF.search(session.get(url, timeout=60).text).group(1)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together by a barrier; results in the order of `calls`."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # kept and asserted on by the test, not lost in a thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# Every table a clinical-data or design write changes, each in a fixed order; volatile columns (timestamps of
# rate-limit buckets, sessions) are left out because no refused call may change the data, but a call may be counted.
CHECKSUM_QUERIES = (
    "SELECT project_id, record_id, site_id, locked FROM registry_record ORDER BY project_id, record_id",
    "SELECT r.project_id, r.record_id, f.event, f.instrument, f.instance, f.data::text, f.missing::text, f.status,"
    " f.locked, f.row_version, f.metadata_version FROM registry_forminstance f JOIN registry_record r"
    " ON r.id = f.record_id ORDER BY r.project_id, r.record_id, f.event, f.instrument, f.instance",
    "SELECT project_id, number, source_sha256 FROM crf_projectversion ORDER BY project_id, number",
    "SELECT id, code, current_version_id FROM crf_project ORDER BY id",
    "SELECT version_id, name, field_type FROM crf_field ORDER BY version_id, name",
    "SELECT chain, sequence, action, record_id, field, old_value, new_value, row_hash FROM registry_auditevent"
    " ORDER BY chain, sequence",
    "SELECT site_id, next_number FROM registry_sitecounter ORDER BY site_id",
)


def data_checksum(cursor: Any = None, *, audit: bool = True) -> str:
    """SHA-256 over the ordered records, form rows, design versions, audit rows and id counters.

    `cursor`: any DB-API cursor (a restored copy's, through psycopg2); default the test database's.
    `audit=False` leaves the audit trail out (a successful export appends a row to it, and changes nothing else).
    """
    if cursor is None:
        with connection.cursor() as own:
            return data_checksum(own, audit=audit)
    digest = hashlib.sha256()
    for query in CHECKSUM_QUERIES:
        if not audit and "registry_auditevent" in query:
            continue
        cursor.execute(query)
        for row in cursor.fetchall():
            digest.update(json.dumps([str(v) for v in row]).encode())
        digest.update(b"\x00")
    return digest.hexdigest()
