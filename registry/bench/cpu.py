"""CPU time of the processes a load phase kept busy, read from /proc: the web server, PostgreSQL, the clients.

Clients and server share the machine's cores, so a throughput ratio mixes their costs. Reading each
process's CPU around a phase splits a request's machine time into the web server's (the gunicorn
master and its workers), the database's (every `postgres` process: the benchmark owns the machine)
and the simulated browsers' (this process), which says where a ratio comes from. Linux only: elsewhere
the figures are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    web: float  # seconds
    database: float
    clients: float

    def per_request_ms(self, before: CpuSample, requests: int) -> CpuSample:
        scale = 1000 / max(requests, 1)
        return CpuSample(
            web=(self.web - before.web) * scale,
            database=(self.database - before.database) * scale,
            clients=(self.clients - before.clients) * scale,
        )


def _stat(pid: str) -> tuple[int, str, float] | None:
    """(parent pid, command name, user + system CPU seconds) of a process, or None if it is gone."""
    try:
        text = (PROC / pid / "stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def sample(server_pid: int) -> CpuSample | None:
    """The CPU seconds used so far by the server's process tree, PostgreSQL and this process; None without /proc."""
    if not (PROC / "self" / "stat").exists():
        return None
    stats = {pid: found for pid in os.listdir(PROC) if pid.isdigit() and (found := _stat(pid)) is not None}
    tree, web, database = {server_pid}, 0.0, 0.0
    # A child's pid is larger than its parent's unless pids wrapped: walk in pid order, then once more.
    for _ in range(2):
        for pid in sorted(stats, key=int):
            if stats[pid][0] in tree:
                tree.add(int(pid))
    for pid, (_, name, seconds) in stats.items():
        if int(pid) in tree:
            web += seconds
        elif name.startswith("postgres"):
            database += seconds
    own = _stat(str(os.getpid()))
    return CpuSample(web=web, database=database, clients=own[2] if own else 0.0)
