"""Parallel COPY streams: the same bytes as one stream, one snapshot for all streams, progress, failures.

These tests commit their data (transactional_db): the streams run on connections of their own, which
cannot see a test transaction's uncommitted rows.
"""

from __future__ import annotations

import io
import time

import pytest
from django.db import connection, connections

from registry.exports import copystreams, sqlflat
from registry.exports.services import ExportOptions, release_build
from registry.models import FormInstance, Record
from tests.exports.helpers import build_sojia_world, cohort_or_patients

pytestmark = pytest.mark.skipif(not sqlflat.supported(), reason="COPY streams need PostgreSQL")


@pytest.fixture
def committed_sojia(transactional_db):
    world = build_sojia_world()
    world.cohort_source = cohort_or_patients(world)
    return world


@pytest.fixture
def stream_indices(monkeypatch):
    """The index of every COPY stream that ran."""
    ran: list[int] = []
    original = copystreams._Streams._stream

    def spy(self, wrapper, index, *args):
        ran.append(index)
        return original(self, wrapper, index, *args)

    monkeypatch.setattr(copystreams._Streams, "_stream", spy)
    return ran


def csv_bytes(scope, tmp_path, name, **options) -> bytes:
    folder = tmp_path / name
    folder.mkdir()
    release_build(scope, ExportOptions(format="csv", **options), folder)
    return (folder / f"sojia_{options['profile']}.csv").read_bytes()


def backends(expected: int | None = None) -> int:
    """Connections to the test database (waiting a little for closed ones to go: backends exit asynchronously)."""
    for _ in range(50):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            count = cursor.fetchone()[0]
        if expected is None or count == expected:
            break
        time.sleep(0.05)
    return count


@pytest.mark.parametrize(
    "options",
    [
        {"profile": "deidentified"},
        {"profile": "full", "raw_or_label": "label"},
        {"profile": "limited", "events": ["baseline_arm_1", "logs_arm_1"], "sites": ["b"]},
    ],
)
def test_parallel_streams_write_the_bytes_of_one_stream(committed_sojia, tmp_path, settings, stream_indices, options):
    scope = committed_sojia.scope("dm")
    python = csv_bytes(scope, tmp_path, "python", engine="python", **options)
    settings.EXPORT_COPY_STREAMS = 1
    one = csv_bytes(scope, tmp_path, "one", engine="sql", **options)
    assert stream_indices == [0]
    for streams in (2, 3):
        stream_indices.clear()
        settings.EXPORT_COPY_STREAMS = streams
        assert csv_bytes(scope, tmp_path, f"par{streams}", engine="sql", **options) == one, streams
        assert sorted(stream_indices) == list(range(streams))
    assert one == python and one.count(b"\n") > 10


def test_a_save_committed_during_the_export_is_in_no_stream(committed_sojia, tmp_path, settings, monkeypatch):
    """All streams read the first stream's snapshot: a change committed after it, touching records at both
    ends of the export (so in the first and the last range), appears in neither half of the file."""
    scope = committed_sojia.scope("dm")
    records = list(Record.objects.filter(project=committed_sojia.project).order_by("record_id"))
    first, last = records[0], records[-1]
    settings.EXPORT_COPY_STREAMS = 2
    before = csv_bytes(scope, tmp_path, "before", profile="full")
    assert b"ZQXW" not in before

    original = copystreams._Streams._stream

    def save_then_stream(self, wrapper, index, *args):
        if index == 1:  # after the snapshot was exported, before this stream imports it
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute(
                        "UPDATE registry_forminstance SET data = jsonb_set(data, '{country}', '\"ZQXW\"') "
                        "WHERE record_id = ANY(%s) AND instrument = 'enrollment'",
                        [[first.pk, last.pk]],
                    )
                    assert cursor.rowcount == 2
            finally:
                other.close()
        return original(self, wrapper, index, *args)

    monkeypatch.setattr(copystreams._Streams, "_stream", save_then_stream)
    during = csv_bytes(scope, tmp_path, "during", profile="full")
    monkeypatch.setattr(copystreams._Streams, "_stream", original)
    after = csv_bytes(scope, tmp_path, "after", profile="full")

    assert during == before
    assert after.count(b"ZQXW") == 2
    assert FormInstance.objects.filter(data__country="ZQXW").count() == 2


def test_a_late_stream_still_reads_the_snapshot_after_the_first_stream_committed(
    committed_sojia, tmp_path, settings, monkeypatch
):
    """The snapshot lives only while the first stream's transaction is open, and the first stream commits as
    soon as its COPY ends. Every other stream imports it before any stream starts, so a stream whose thread
    starts late (a busy machine; here a sleep) still exports its range (it failed with 'invalid snapshot
    identifier', which a worker crash test met on a loaded machine)."""
    scope = committed_sojia.scope("dm")
    settings.EXPORT_COPY_STREAMS = 1
    one = csv_bytes(scope, tmp_path, "one", profile="full")
    original = copystreams._Streams._stream
    first_done = []

    def late(self, wrapper, index, *args):
        if index == 0:
            result = original(self, wrapper, index, *args)
            first_done.append(True)
            return result
        for _ in range(200):  # until the first stream has committed
            if first_done:
                break
            time.sleep(0.02)
        return original(self, wrapper, index, *args)

    monkeypatch.setattr(copystreams._Streams, "_stream", late)
    settings.EXPORT_COPY_STREAMS = 2
    assert csv_bytes(scope, tmp_path, "late", profile="full") == one
    assert first_done


def deidentified_query(world) -> sqlflat.FlatQuery:
    from registry.exports.profiles import anchor_field, plan_columns
    from registry.exports.services import columns_for, project_secret
    from registry.services.design import design_of

    scope, project = world.scope("dm"), world.project
    design = design_of(project)
    options = ExportOptions(profile="deidentified", format="csv")
    plans = plan_columns(design, columns_for(design, options, scope), options.profile, options.date_mode)
    anchor = anchor_field(design, project)
    return sqlflat.build_query(scope, design, plans, secret=project_secret(project), anchor=anchor)


def test_progress_is_reported_from_the_calling_thread_which_may_use_the_database(committed_sojia, monkeypatch):
    """The job's progress row is written on Django's connection: it must be free while the streams run."""
    project = committed_sojia.project
    query = deidentified_query(committed_sojia)
    seen: list[int] = []

    def progress(done: int) -> None:
        with connection.cursor() as cursor:  # as job_set_progress does
            cursor.execute("SELECT 1")
        seen.append(done)

    monkeypatch.setattr(copystreams, "PROGRESS_POLL_SECONDS", 0.001)
    out = io.BytesIO()
    rows = copystreams.copy_flat_csv(query, out, on_record=progress, streams=2, every=1)
    assert rows == out.getvalue().count(b"\n") > 10
    assert seen and seen == sorted(seen) and seen[-1] <= Record.objects.filter(project=project).count()


def test_a_failing_stream_fails_the_export_and_leaves_no_connection(committed_sojia):
    records = sqlflat.FlatQuery(
        sql="SELECT r.record_id || ',' || (1 / (r.id - r.id))::text FROM registry_record r "  # noqa: S608 - constants
        f"WHERE true {sqlflat.RANGE_MARK} ORDER BY r.record_id",
        records_from="FROM registry_record r WHERE true",
    )
    open_before = backends()
    with pytest.raises(Exception, match="division by zero"):
        copystreams.copy_flat_csv(records, io.BytesIO(), streams=3)
    assert backends(open_before) == open_before


def test_a_failing_progress_write_cancels_the_streams(committed_sojia, monkeypatch):
    monkeypatch.setattr(copystreams, "PROGRESS_POLL_SECONDS", 0.001)
    query = deidentified_query(committed_sojia)
    open_before = backends()
    write, running = copystreams._CountingWriter.write, []

    def slow_write(self, data):  # the streams are still running when the progress write fails
        running.append(1)
        time.sleep(0.01)
        return write(self, data)

    monkeypatch.setattr(copystreams._CountingWriter, "write", slow_write)

    def progress(done: int) -> None:
        raise RuntimeError("the job row is gone")

    with pytest.raises(RuntimeError, match="the job row is gone"):
        copystreams.copy_flat_csv(query, io.BytesIO(), on_record=progress, streams=2, every=1)
    assert 0 < len(running) < 100  # cancelled long before the ~1,000 rows were written
    assert backends(open_before) == open_before
