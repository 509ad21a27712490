"""The flat CSV's COPY run as one or more streams over contiguous ranges of records, concatenated in order.

One COPY keeps one core busy (the PostgreSQL backend that pivots and formats the rows). With
`EXPORT_COPY_STREAMS` > 1 the records of the scope, in export order (record id, code-point order),
are cut into that many contiguous ranges of about equal record counts; each range is exported by
its own COPY on its own connection, in its own thread, into its own file (the first straight into
the release file, the others into anonymous temporary files beside it), and the parts are appended
in order. Every flat row belongs to one record and every record to one range, so the result is
byte for byte the single COPY's output; the header is written once by the caller.

**One snapshot.** The first connection opens a REPEATABLE READ, READ ONLY transaction and exports
its snapshot (`pg_export_snapshot()`); every other connection imports it (`SET TRANSACTION
SNAPSHOT`) before its COPY, and the ranges are computed inside it. All streams therefore read the
same committed state: a save committed while the export runs is in none of them or (if committed
before the snapshot) in all of them, never in half of the file.

Django's own connection runs no COPY here, so the caller's progress callback (which writes the
job's progress row) can use it while the streams run; it is called from the calling thread only.
Inside a caller's transaction (`atomic`), whose uncommitted rows other connections cannot see,
the export is one COPY on Django's connection, and progress is reported only when it ends.
"""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import IO

from django.db import connection, connections, transaction

from registry.exports.conf import copy_streams
from registry.exports.sqlflat import FlatQuery

# Session settings of every COPY stream (SET LOCAL: they end with the stream's transaction).
# Hashing each row's JSON as a memoize key, and JIT-compiling ~1,000 cell expressions, cost more than
# they save.
STREAM_SETTINGS = (
    "SET LOCAL datestyle = 'ISO, YMD'",
    "SET LOCAL extra_float_digits = 0",
    "SET LOCAL enable_memoize = off",
    "SET LOCAL jit = off",
)
PROGRESS_POLL_SECONDS = 0.25


class ExportCancelled(Exception):
    pass


class _CountingWriter:
    """Takes COPY's text-format lines (one CSV line each), undoes COPY's backslash escapes, writes them,
    and counts records as their first cell changes (for progress)."""

    def __init__(
        self,
        out,
        on_record: Callable[[int], None] | None = None,
        every: int = 200,
        stop: threading.Event | None = None,
    ):
        self.out = out
        self._stop = stop
        self.rows = 0
        self.records = 0
        self._last = None
        self._on_record = on_record
        self._every = every

    def write(self, data) -> int:
        if self._stop is not None and self._stop.is_set():
            # The server may have sent the rest already: stop reading it (psycopg2 ends the COPY with this error).
            raise ExportCancelled("another stream of the export failed")
        if isinstance(data, str):
            data = data.encode()
        if b"\\" in data:
            # COPY's text format escapes backslash, \b \f \n \r \t \v; escape_decode undoes exactly those.
            data = codecs.escape_decode(data[:-1])[0] + b"\n"
        self.rows += 1
        head = data[: data.find(b",")]
        if head != self._last:
            self._last = head
            self.records += 1
            if self._on_record is not None and self.records % self._every == 0:
                self._on_record(self.records)
        return self.out.write(data)


def copy_flat_csv(
    query: FlatQuery,
    out: IO[bytes],
    *,
    on_record: Callable[[int], None] | None = None,
    streams: int | None = None,
    every: int = 200,
) -> int:
    """Write the flat CSV's lines (not the header) into the binary file `out`; returns the rows written.

    `streams` defaults to `EXPORT_COPY_STREAMS`; `on_record(records_done)` is called about every
    `every` records, from the calling thread.
    """
    wanted = copy_streams() if streams is None else max(1, streams)
    if connection.in_atomic_block:
        # The caller's transaction may hold rows no other connection can see: one COPY on its connection,
        # which is busy until the COPY ends, so no progress until then. The savepoint is rolled back
        # (the COPY wrote nothing) so that the SET LOCALs do not outlive the export.
        writer = _CountingWriter(out)
        savepoint = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                _run_copy(cursor.cursor, query.over(), writer)
        finally:
            transaction.savepoint_rollback(savepoint)
        return writer.rows
    return _Streams(query, out, wanted, on_record, every).run()


def _run_copy(cursor, sql: str, writer: _CountingWriter) -> None:
    """COPY (sql) TO STDOUT with the stream settings, inside the transaction the cursor is already in."""
    for statement in STREAM_SETTINGS:
        cursor.execute(statement)
    cursor.copy_expert(f"COPY ({sql}) TO STDOUT", writer, size=1 << 16)


class _Streams:
    def __init__(self, query: FlatQuery, out: IO[bytes], wanted: int, on_record, every: int):
        self.query = query
        self.out = out
        self.wanted = wanted
        self.on_record = on_record
        self.every = every
        self.wrappers: list = []
        self.parts: list[IO[bytes]] = []
        self.writers: list[_CountingWriter] = []
        self.errors: list[BaseException] = []
        self.jobs: list[threading.Thread] = []
        self.stop = threading.Event()

    def run(self) -> int:
        try:
            first = self._open()
            cursor = first.connection.cursor()
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            starts = self._range_starts(cursor) if self.wanted > 1 else []
            snapshot = None
            if starts:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            bounds = [None, *starts, None]
            jobs = self.jobs
            for i in range(len(bounds) - 1):
                wrapper = first if i == 0 else self._open()
                if i > 0:
                    # Imported here, before any stream starts: the snapshot lives only while the first
                    # transaction is open, and the first stream commits as soon as its COPY ends (on a
                    # small export, before another thread would have reached its import).
                    other = wrapper.connection.cursor()
                    other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    other.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
                sink = self.out if i == 0 else self._part()
                writer = _CountingWriter(sink, stop=self.stop)
                self.writers.append(writer)
                sql = self.query.over(bounds[i], bounds[i + 1])
                jobs.append(threading.Thread(target=self._stream, args=(wrapper, i, sql, writer),
                                             name=f"export-copy-{i}", daemon=True))  # fmt: skip
            for job in jobs:
                job.start()
            self._wait(jobs)
            if self.errors:
                raise self.errors[0]
            for part in self.parts:
                _append(part, self.out)
            return sum(w.rows for w in self.writers)
        finally:
            if any(job.is_alive() for job in self.jobs):  # the calling thread failed (e.g. its progress write)
                self._cancel()
                for job in self.jobs:
                    job.join()
            for part in self.parts:
                part.close()
            for wrapper in self.wrappers:
                wrapper.close()

    def _open(self):
        """A connection of its own, set up as Django sets up its connections (time zone, role)."""
        wrapper = connections.create_connection(connection.alias)
        self.wrappers.append(wrapper)
        wrapper.ensure_connection()
        wrapper.connection.autocommit = True  # transactions below are explicit
        return wrapper

    def _part(self) -> IO[bytes]:
        # Beside the release file (same file system, which has room for it); anonymous, so a crash
        # leaves nothing behind and the folder listing for the manifest never sees it.
        folder = os.path.dirname(getattr(self.out, "name", "") or "") or None
        part = tempfile.TemporaryFile(dir=folder if folder and os.path.isdir(folder) else None)  # noqa: SIM115 - closed by run()
        self.parts.append(part)
        return part

    def _range_starts(self, cursor) -> list[str]:
        """The first record id of each range after the first: about equal record counts, in export order."""
        n = int(self.wanted)
        cursor.execute(
            "SELECT rid FROM (SELECT r.record_id AS rid, "  # noqa: S608 - records_from is built by sqlflat
            'row_number() OVER (ORDER BY r.record_id COLLATE "C") - 1 AS i, count(*) OVER () AS total '
            f"{self.query.records_from}) x "
            f"WHERE i > 0 AND i IN (SELECT k * x.total / {n} FROM generate_series(1, {n - 1}) k) ORDER BY i"
        )
        return [row[0] for row in cursor.fetchall()]

    def _stream(self, wrapper, index: int, sql: str, writer: _CountingWriter) -> None:
        """Stream `index` (0: the first range, on the connection that exported the snapshot)."""
        try:
            cursor = wrapper.connection.cursor()  # every stream's transaction is open, on the one snapshot
            _run_copy(cursor, sql, writer)
            cursor.execute("COMMIT")
        except BaseException as exc:  # reported by the calling thread, which cancels the other streams
            self.errors.append(exc)

    def _wait(self, jobs: list[threading.Thread]) -> None:
        """Join the streams, relaying progress; on a stream's error, cancel the others' COPY."""
        reported = 0
        while alive := [job for job in jobs if job.is_alive()]:
            alive[0].join(PROGRESS_POLL_SECONDS)
            if self.errors:
                self._cancel()
                for job in jobs:
                    job.join()
                return
            done = sum(w.records for w in self.writers)
            if self.on_record is not None and done // self.every > reported // self.every:
                reported = done
                self.on_record(done)

    def _cancel(self) -> None:
        self.stop.set()
        for wrapper in self.wrappers:
            raw = wrapper.connection
            if raw is not None and not raw.closed:
                raw.cancel()


def _append(part: IO[bytes], out: IO[bytes]) -> None:
    """Append a finished part to the release file: in the kernel when both are files, else by copying."""
    part.flush()
    size = part.seek(0, os.SEEK_END)
    try:
        out_fd, in_fd = out.fileno(), part.fileno()
    except (AttributeError, OSError):
        out_fd = None
    if out_fd is not None and hasattr(os, "copy_file_range"):
        out.flush()
        offset, done = 0, 0
        try:
            while done < size:
                sent = os.copy_file_range(in_fd, out_fd, size - done, offset)
                if sent == 0:
                    break
                offset += sent
                done += sent
        except OSError:
            pass
        # The buffered writer must learn where the file now ends.
        out.seek(0, os.SEEK_END)
        if done == size:
            return
        part.seek(done)
    else:
        part.seek(0)
    shutil.copyfileobj(part, out, 1 << 20)
