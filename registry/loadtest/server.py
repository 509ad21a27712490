"""Start gunicorn for the load test on 127.0.0.1 with the configured database, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, *, workers: int = 4, threads: int = 4, env: dict | None = None) -> subprocess.Popen:
    """gunicorn (gthread workers) bound to loopback only; returns once it answers.

    `--keep-alive 30`: gthread closes a kept-alive or newly accepted connection once the keep-alive
    time (2 s by default) has passed without its worker reading from it, even when the client's request
    is already waiting on it; under a full load that dropped a request now and then (a ConnectionError
    on the client). 30 s outlasts any queueing the load test produces.
    """
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "registry.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60  # a start-up limit only: the server answering is what is awaited
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
