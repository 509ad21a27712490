"""The server under test: gunicorn as a subprocess on loopback, against the benchmark's own database.

The web figures (form saves, the trivial page, the API export) go through a real WSGI server
with several worker processes, as in production, so they include what a browser pays for:
HTTP parsing, sessions, CSRF, middleware and the database round trips of each request.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import requests
from django.db import connection

from registry.loadtest.server import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60


class ServerError(Exception):
    pass


@dataclass(frozen=True)
class Server:
    base_url: str
    workers: int
    pid: int = 0  # the gunicorn master's (0: not known)


def database_url() -> str:
    """The URL of the database this process uses, so the server sees exactly the same data."""
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        raise ServerError("the web benchmarks need PostgreSQL (set DATABASE_URL)")
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def server_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        DATABASE_URL=db_url,
        # Production-like request handling: no debug query log, persistent connections.
        DJANGO_DEBUG="false",
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        BENCH_SAVE_FLOOR="true",  # the save floor's page (registry/bench/views.py) answers on this server only
    )
    return env


@contextmanager
def running_server(*, workers: int = 4, root: Path = ROOT) -> Iterator[Server]:
    """Start gunicorn on a free loopback port, wait for /healthz, and always stop it afterwards.

    `root`: the checkout whose code it serves (`bench_compare` starts one per checkout).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "registry.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "1800",  # the API export of a large registry is one long request
        "--log-level",
        "warning",
    ]
    # Close this process's connection first so the test database is not held by a forked copy.
    connection.close()
    # The server's log goes to a file, not a pipe: a pipe nobody reads would block gunicorn once full.
    with tempfile.TemporaryFile() as log:
        env = {**server_env(database_url()), "PYTHONPATH": str(root)}
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_until_up(process, base_url, log)
            yield Server(base_url=base_url, workers=workers, pid=process.pid)
        finally:
            stop(process)


def wait_until_up(process: subprocess.Popen, base_url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            error = log.read().decode(errors="replace")[-2000:]
            raise ServerError(f"gunicorn exited with {process.returncode}: {error}")
        try:
            requests.get(f"{base_url}/healthz", timeout=5)  # any answer (even 503: no broker) means it serves
            return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise ServerError(f"gunicorn did not answer on {base_url} within {STARTUP_TIMEOUT_S} s")
