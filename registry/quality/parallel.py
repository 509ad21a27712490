"""A run's Python pass split over record ranges, one forked process per core.

The pass is CPU-bound Python, so threads do not help; processes do. Celery's prefork workers are
daemonic and `multiprocessing` refuses to start children there, so the shards are plain `os.fork()`
children: they inherit the loaded design, the rule E statistics and the compiled rules (no start-up
cost), open their own database connection, evaluate their record range and store its discrepancies
in one transaction, and report progress and their count through a pipe.

Crash safety: each child asks the kernel to SIGKILL it when its parent dies (PR_SET_PDEATHSIG), so a
killed worker leaves no child writing into a run that a restart has cleared; a child that dies
mid-COPY rolls its transaction back. Children only see committed rows, so a caller inside a
transaction (tests wrapped in one) gets the single-process pass.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import selectors
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.db import connection, connections, transaction

from registry.models import Record
from registry.quality.engine import Progress, Selection

# One child per core; fewer records than this are not worth a fork (the pass takes well under a second).
MIN_RECORDS_PER_SHARD = 250
PR_SET_PDEATHSIG = 1
# Evaluates and stores one shard, returns its count: a number, or numbers by key (a run's by rule); the shards'
# results are added up. Its third argument swaps a value with the other shards: the shard passes its part,
# waits until every shard has passed one, and gets `combine` of all the parts.
Counts = int | dict[str, int]
ShardWork = Callable[[Selection, Progress, Callable[[Any], Any]], Counts]

_inherited: list = []  # the parent's DB connections, kept referenced in a child so they are never closed there


def shard_count(project, selection: Selection) -> int:
    """How many processes the pass should use: one per core, when the data and the setting allow."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or not hasattr(os, "fork"):
        return 1
    from django.conf import settings

    cores = getattr(settings, "QUALITY_RUN_PROCESSES", None) or os.cpu_count() or 1
    records = Record.objects.filter(project=project)
    if selection.site_ids:
        records = records.filter(site_id__in=selection.site_ids)
    if selection.record_ids:
        records = records.filter(pk__in=selection.record_ids)
    return max(1, min(cores, records.count() // MIN_RECORDS_PER_SHARD))


def shards(project, selection: Selection, n: int) -> list[Selection]:
    """`selection` cut into n record-pk ranges holding about the same number of form rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.record_id, count(*) FROM registry_forminstance a JOIN registry_record r ON r.id = a.record_id"
            " WHERE r.project_id = %s GROUP BY a.record_id ORDER BY a.record_id",
            [project.pk],
        )
        counts = cursor.fetchall()
    total = sum(c for _, c in counts) or 1
    bounds, running = [], 0
    for pk, rows in counts:
        if len(bounds) < n - 1 and running >= total * (len(bounds) + 1) / n:
            bounds.append(pk)
        running += rows
    edges = [None, *bounds, None]
    return [replace(selection, pk_range=(edges[i], edges[i + 1])) for i in range(len(edges) - 1)]


def run_sharded(project, selection: Selection, n: int, work: ShardWork, progress: Progress | None,
                combine: Callable[[list], Any] | None = None) -> Counts:  # fmt: skip
    """`work` on each of n shards in forked children; their counts added up. Raises if any child failed."""
    return fork_all(shards(project, selection, n), work, progress, combine)


def fork_all(parts: list[Selection], work: ShardWork, progress: Progress | None,
             combine: Callable[[list], Any] | None = None) -> Counts:  # fmt: skip
    """One forked child per part, each running `work` in its own transaction; the sum of their counts.

    Values the shards swap (`work`'s third argument) travel as pickles in a private temporary folder;
    the pipes carry their names.
    """
    children: dict[int, tuple[int, int]] = {}  # read fd -> (pid, shard index)
    answers: dict[int, int] = {}  # shard index -> the write end of the pipe that answers its swaps
    parent = os.getpid()
    folder = tempfile.mkdtemp(prefix="quality-run-")
    try:
        for index, part in enumerate(parts):
            read, write = os.pipe()
            answer_read, answer_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                for fd in (read, answer_write, *children, *answers.values()):
                    os.close(fd)  # its siblings' pipes and its own parent-side ends
                _child(parent, part, work, write, _Swap(index, folder, answer_read))
            os.close(write)
            os.close(answer_read)
            children[read] = (pid, index)
            answers[index] = answer_write
        return _collect(children, len(parts), progress, _Answers(answers, folder, combine))
    finally:
        for fd in answers.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


class _Swap:
    """The child's side of a swap: write its part, tell the parent, wait for the combined value."""

    def __init__(self, index: int, folder: str, answers: int) -> None:
        self.index, self.folder, self.answers = index, folder, answers
        self.out: Any = None  # the pipe to the parent, set by _child

    def __call__(self, part: Any) -> Any:
        path = os.path.join(self.folder, f"part-{self.index}.pickle")
        with open(path, "wb") as file:
            pickle.dump(part, file, protocol=pickle.HIGHEST_PROTOCOL)
        self.out.write(f"x {path}\n")
        self.out.flush()
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(self.answers, 4096)
            if not chunk:
                break
            line += chunk
        kind, _, answer = line.decode().strip().partition(" ")
        if kind != "r":
            raise RuntimeError("another shard failed before the swap")
        with open(answer, "rb") as file:
            return pickle.load(file)  # noqa: S301 - written by this run's parent in its private folder


class _Answers:
    """The parent's side of the swaps: gather one part per shard, then answer all of them with `combine`."""

    def __init__(self, pipes: dict[int, int], folder: str, combine: Callable[[list], Any] | None) -> None:
        self.pipes, self.folder, self.combine = pipes, folder, combine
        self.parts: dict[int, Any] = {}
        self.answered = False

    def receive(self, index: int, path: str, n: int) -> None:
        with open(path, "rb") as file:
            self.parts[index] = pickle.load(file)  # noqa: S301 - written by this run's own child
        if len(self.parts) < n:
            return
        if self.combine is None:
            raise RuntimeError("a shard asked for a swap the run does not make")
        answer = self.combine([self.parts[i] for i in range(n)])
        path = os.path.join(self.folder, "answer.pickle")
        with open(path, "wb") as file:
            pickle.dump(answer, file, protocol=pickle.HIGHEST_PROTOCOL)
        self.answered = True
        for fd in self.pipes.values():
            with contextlib.suppress(OSError):
                os.write(fd, f"r {path}\n".encode())

    def abort(self) -> None:
        """Release the shards waiting for an answer that will not come (another shard failed)."""
        if not self.answered:
            self.answered = True
            for fd in self.pipes.values():
                with contextlib.suppress(OSError):
                    os.write(fd, b"abort\n")


def _child(parent: int, part: Selection, work: ShardWork, fd: int, swap: _Swap) -> None:
    status = 1
    out = os.fdopen(fd, "w", buffering=1)
    swap.out = out
    try:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # not the worker's handlers: this process has nothing to clean up
        _detach_connections()
        with transaction.atomic():  # the shard's rows appear together or not at all
            count = work(part, lambda fraction: out.write(f"p {fraction:.4f}\n"), swap)
        out.write(f"done {json.dumps(count)}\n")
        status = 0
    except BaseException as exc:  # reported to the parent, which fails the run
        with contextlib.suppress(Exception):
            out.write(f"error {type(exc).__name__}: {str(exc)[:500]}\n".replace("\n", " ").rstrip() + "\n")
    finally:
        with contextlib.suppress(Exception):
            out.flush()
            connections.close_all()  # only this child's own connections (the inherited ones are detached)
        os._exit(status)


def _detach_connections() -> None:
    """Forget the parent's sockets without closing them (closing would end the parent's session)."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _inherited.append(conn.connection)
            conn.connection = None


def _collect(children: dict[int, tuple[int, int]], n: int, progress: Progress | None, answers: _Answers) -> Counts:
    fractions = [0.0] * n
    counts: dict[int, Counts] = {}
    errors: list[str] = []
    buffers = {fd: b"" for fd in children}
    selector = selectors.DefaultSelector()
    for fd in children:
        selector.register(fd, selectors.EVENT_READ)
    open_fds = set(children)
    last = -1.0
    while open_fds:
        for key, _ in selector.select():
            fd = key.fd
            chunk = os.read(fd, 65536)
            if not chunk:
                selector.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
                if children[fd][1] not in counts:  # ended without a result: the others must not wait for it
                    answers.abort()
                continue
            buffers[fd] += chunk
            *lines, buffers[fd] = buffers[fd].split(b"\n")
            index = children[fd][1]
            for line in lines:
                kind, _, rest = line.decode().partition(" ")
                if kind == "p":
                    fractions[index] = float(rest)
                elif kind == "x":
                    try:
                        answers.receive(index, rest, n)
                    except Exception as exc:  # reported as the run's failure below
                        errors.append(f"combining the shards' parts: {type(exc).__name__}: {exc}")
                        answers.abort()
                elif kind == "done":
                    counts[index] = json.loads(rest)
                elif kind == "error":
                    errors.append(rest)
                    answers.abort()
            done = sum(fractions) / n
            if progress and done - last >= 0.01:
                progress(done)
                last = done
    selector.close()
    for pid, index in children.values():
        _, status = os.waitpid(pid, 0)
        if index not in counts and not errors:
            errors.append(f"shard {index} ended without a result (wait status {status})")
    if errors:
        raise RuntimeError("data-quality shard failed: " + "; ".join(errors))
    return _add_up([counts[index] for index in sorted(counts)])


def _add_up(results: list[Counts]) -> Counts:
    if all(isinstance(result, int) for result in results):
        return sum(results)  # type: ignore[arg-type]
    total: Counter = Counter()
    for result in results:
        total.update(result)  # type: ignore[arg-type]
    return dict(total)
