"""Throwaway services for fault tests: a private Redis, a private PostgreSQL cluster, a Celery worker.

The shared PostgreSQL and Redis of the machine are never stopped; every test that needs to kill or
restart a service starts its own copy on a free loopback port and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from registry.loadtest.server import free_port
from tests.conftest import ROOT, subprocess_env

PG_BIN = Path("/usr/lib/postgresql") / (sorted(os.listdir("/usr/lib/postgresql"))[-1] if Path(
    "/usr/lib/postgresql").exists() else "15") / "bin"  # fmt: skip


def wait_until(check: Callable[[], bool], seconds: float = 60, what: str = "condition") -> None:
    """Poll until `check()` is true; the limit only stops a hung test, nothing is asserted about time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.answers, 30, "redis to start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class PrivateCluster:
    """A PostgreSQL cluster in a temporary folder, owned by `postgres` when the tests run as root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # initdb refuses root: the cluster belongs to the postgres system user
            shutil.chown(self.dir, "postgres", "postgres")
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd="/")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """`celery worker` (solo pool, its own process group) on the given broker and database."""

    def __init__(self, broker_url: str, database_url: str, log: Path, **env: str) -> None:
        self.env = subprocess_env(CELERY_BROKER_URL=broker_url, DATABASE_URL=database_url, **env)
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        out = self.log.open("a")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "registry", "worker", "--pool", "solo", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a pulled plug would: no cleanup, no acknowledgement."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
