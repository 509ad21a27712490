"""The audit trail: append-only on PostgreSQL, hash-chained, verifiable and replayable."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils.timezone import now as timezone_now
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import sql_rows
from registry.models import AuditChainHead, AuditEvent
from registry.selectors_audit import AuditFilters, audit_rows
from registry.services.audit import (
    Change,
    _canonical,
    _canonical_around_sequence,
    audit_append,
    chain_of,
    replay_record,
    row_hash,
    verify_chain,
    write_and_append,
)
from tests.registry.factories import build_world


def as_superuser_bypassing_triggers(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql)
        finally:
            cursor.execute("SET session_replication_role = origin")


def write_changes(world, changes, reason=""):
    return audit_append(
        project=world.project, action="data_change", changes=changes, user=world.users["coord_a"], reason=reason
    )


@pytest.mark.django_db
def test_rows_name_who_when_what_and_why():
    world = build_world()
    (row,) = write_changes(
        world, [Change(field="crp", old="12", new="15", record_id="AAA-0001", event="baseline_arm_1",
                       instrument="labs", instance=1)],
        reason="transcription error",
    )  # fmt: skip
    row = AuditEvent.objects.get(pk=row.pk)
    assert (row.username, row.field, row.old_value, row.new_value) == (
        world.users["coord_a"].username,
        "crp",
        "12",
        "15",
    )
    assert row.reason == "transcription error"
    assert row.at.utcoffset().total_seconds() == 0  # stored in UTC


@pytest.mark.django_db
def test_database_refuses_update_and_delete_of_audit_rows():
    assert connection.vendor == "postgresql"
    world = build_world()
    (row,) = write_changes(world, [Change(field="crp", old=None, new="15", record_id="AAA-0001")])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).update(new_value="999")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE registry_auditevent SET reason = 'tampered'")
    assert AuditEvent.objects.get(pk=row.pk).new_value == "15"


@pytest.mark.django_db
def test_chain_verifies_and_detects_tampering():
    world = build_world()
    for i in range(5):
        write_changes(world, [Change(field="crp", old=str(i), new=str(i + 1), record_id="AAA-0001")])
    report = verify_chain(chain_of(world.project))
    assert report.ok and report.checked == 5
    call_command("verify_audit", "--project", world.project.code)

    # Tamper as a database superuser could: bypass triggers for the session, edit a value.
    as_superuser_bypassing_triggers("UPDATE registry_auditevent SET new_value = '100' WHERE sequence = 3")
    report = verify_chain(chain_of(world.project))
    assert not report.ok
    assert report.problem == "row 3 was altered"
    with pytest.raises(CommandError):
        call_command("verify_audit", "--project", world.project.code)


@pytest.mark.django_db
def test_removed_row_is_detected():
    world = build_world()
    for i in range(4):
        write_changes(world, [Change(field="esr", old=None, new=str(i), record_id="AAA-0001")])
    as_superuser_bypassing_triggers("DELETE FROM registry_auditevent WHERE sequence = 2")
    report = verify_chain(chain_of(world.project))
    assert not report.ok and "row 2 is missing" in report.problem


@pytest.fixture(params=["sql", "orm"])
def append_path(request, monkeypatch):
    """The append's hand-written statements (PostgreSQL) or the ORM code SQLite keeps."""
    if request.param == "orm":
        monkeypatch.setattr(sql_rows, "enabled", lambda: False)
    return request.param


@pytest.mark.django_db
def test_a_new_chain_and_an_append_of_hundreds_of_rows_verify(append_path):
    world = build_world()
    chain = chain_of(world.project)
    assert not AuditChainHead.objects.filter(chain=chain).exists()  # the first append creates the head
    awkward = [  # what the canonical JSON must carry exactly: quotes, non-ASCII, a nested "source" key
        Change(field="note", old='say "hi", %s', new="fièvre 39,5 °C — 発熱", record_id="AAA-0001",
               details={"source": "x", "cleared_by": "branching logic"}),
        Change(details={"role": "monitor"}),  # a non-data action: no field, no instance
    ]  # fmt: skip
    first = write_changes(world, awkward, reason="transcription error")
    many = write_changes(world, [Change(field=f"f{i}", new=str(i), record_id="AAA-0002") for i in range(250)])
    rows = list(AuditEvent.objects.filter(chain=chain).order_by("sequence"))
    assert [r.sequence for r in rows] == list(range(1, 253))
    # The rows returned are the rows stored, hashes and all; each follows the one before it.
    assert [(r.pk, r.sequence, r.row_hash) for r in first + many] == [(r.pk, r.sequence, r.row_hash) for r in rows]
    prev = "0" * 64
    for row in rows:
        assert (row.prev_hash, row.row_hash) == (prev, row_hash(prev, row))
        prev = row.row_hash
    assert rows[0].new_value == "fièvre 39,5 °C — 発熱" and rows[0].details["source"] == "x"
    head = AuditChainHead.objects.get(chain=chain)
    assert (head.sequence, head.last_hash) == (252, rows[-1].row_hash)
    assert verify_chain(chain).ok


AWKWARD = [  # what the canonical JSON must carry exactly: quotes, non-ASCII, nested "sequence" and "source" keys
    Change(field="note", old='say "hi", %s', new="fièvre 39,5 °C — 発熱", record_id="AAA-0001", event="baseline_arm_1",
           instrument="labs", instance=3, details={"source": "x", "sequence": 0, "cleared_by": "branching logic"}),
    Change(details={"role": "monitor"}),  # a non-data action: no field, no instance
    Change(field="crp", old=None, new="\\ \n \t \u2028", record_id="AAA-0001"),  # escapes JSON writes
]  # fmt: skip


@pytest.mark.django_db
def test_the_canonical_json_splits_around_the_sequence_number_byte_for_byte():
    world = build_world()
    rows = write_changes(world, AWKWARD, reason="transcription error")
    for row in rows:
        prefix, suffix = _canonical_around_sequence(row)
        assert prefix + str(row.sequence).encode() + suffix == _canonical(row)
        row.sequence = 12345678901234  # any number, any length
        assert prefix + b"12345678901234" + suffix == _canonical(row)


def name_written(world, name: str) -> tuple[str, list]:
    """A change's own statement, as a save's UPDATE of its form is: here the user's last name."""
    return "UPDATE auth_user SET last_name = %s WHERE id = %s", [name, world.users["coord_a"].pk]


def last_name(world) -> str:
    return type(world.users["coord_a"]).objects.get(pk=world.users["coord_a"].pk).last_name


def write_and_append_changes(world, changes, name="written", reason="", also=None):
    with transaction.atomic():
        return write_and_append(world.project, name_written(world, name), action="data_change", changes=changes,
                                user=world.users["coord_a"], reason=reason, also=also)  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 3, 101])  # more than a statement takes: the rows go through bulk_create
def test_a_write_with_its_audit_rows_hashed_by_postgresql_verifies_as_python_hashes(append_path, count):
    world = build_world()
    chain = chain_of(world.project)
    write_changes(world, [Change(field="crp", new="0", record_id="AAA-0001")])  # the head exists
    changes = (AWKWARD * count)[:count]
    before = last_name(world)
    also = ("(SELECT last_name FROM auth_user WHERE id = %s)", [world.users["coord_a"].pk])
    rows, more = write_and_append_changes(world, changes, reason="transcription error", also=also)
    # The change's own statement ran; the columns read with it see the statement's snapshot (not its own write).
    # Off PostgreSQL they are not read (the checks after a save read their forms themselves).
    assert last_name(world) == "written" and more == ((before,) if append_path == "sql" else ())
    stored = list(AuditEvent.objects.filter(chain=chain, sequence__gt=1).order_by("sequence"))
    assert [(r.pk, r.sequence, r.prev_hash, r.row_hash) for r in rows] == [
        (r.pk, r.sequence, r.prev_hash, r.row_hash) for r in stored
    ]
    assert [r.sequence for r in stored] == list(range(2, 2 + count))
    prev = AuditEvent.objects.get(chain=chain, sequence=1).row_hash
    for row in stored:
        assert (row.prev_hash, row.row_hash) == (prev, row_hash(prev, row))
        prev = row.row_hash
    assert (stored[0].new_value, stored[0].details, stored[0].reason) == (
        "fièvre 39,5 °C — 発熱", AWKWARD[0].details, "transcription error")  # fmt: skip
    head = AuditChainHead.objects.get(chain=chain)
    assert (head.sequence, head.last_hash) == (1 + count, prev)
    assert verify_chain(chain).ok


@pytest.mark.django_db
def test_a_write_with_its_audit_rows_on_a_chain_without_a_head_creates_the_head(append_path):
    world = build_world()
    chain = chain_of(world.project)
    assert not AuditChainHead.objects.filter(chain=chain).exists()
    rows, _ = write_and_append_changes(world, AWKWARD[:2])
    assert [r.sequence for r in rows] == [1, 2]
    assert last_name(world) == "written"
    head = AuditChainHead.objects.get(chain=chain)
    assert (head.sequence, head.last_hash) == (2, rows[-1].row_hash) and verify_chain(chain).ok


@pytest.mark.django_db
def test_a_write_whose_audit_value_is_too_long_is_refused_whole():
    """The statement's parameters are cast to their columns' types without a length: a cast to varchar(100)
    would cut a record id the column must refuse, and the change's own write goes back with it."""
    world = build_world()
    write_changes(world, [Change(field="crp", new="1", record_id="AAA-0001")])
    with pytest.raises(DatabaseError, match="too long"):
        write_and_append_changes(world, [Change(field="crp", new="2", record_id="A" * 101)], name="not written")
    assert last_name(world) != "not written"
    assert verify_chain(chain_of(world.project)).checked == 1


@pytest.mark.django_db
def test_a_value_too_long_for_its_column_is_refused_not_cut():
    assert connection.vendor == "postgresql"
    world = build_world()
    write_changes(world, [Change(field="crp", new="1", record_id="AAA-0001")])
    with pytest.raises(DatabaseError, match="too long"), transaction.atomic():
        write_changes(world, [Change(field="crp", new="2", record_id="A" * 101)])  # record_id: 100 characters
    assert verify_chain(chain_of(world.project)).checked == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_chain_keep_it_whole():
    """Appends from separate transactions queue on the chain's head: each reads the head as the one
    before it left it (PostgreSQL's FOR UPDATE returns the row's newest version after the wait), whether
    Python hashes the rows or the save's statement does."""
    world = build_world()
    write_changes(world, [Change(field="crp", new="0", record_id="AAA-0001")])  # the head exists
    start, failures = threading.Barrier(8), []

    def append(n: int) -> None:
        try:
            start.wait()
            for round_ in range(5):
                changes = [Change(field=f"f{n}", new=f"{round_}.{i}", record_id="AAA-0001") for i in range(3)]
                if n % 2:  # half the writers append as a save does: rows hashed in the write's own statement
                    write_and_append_changes(world, changes, name=f"writer {n}")
                else:
                    with transaction.atomic():
                        write_changes(world, changes)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    report = verify_chain(chain_of(world.project))
    assert report.ok and report.checked == 1 + 8 * 5 * 3


edits = st.lists(
    st.tuples(st.sampled_from(["crp", "esr", "ferritin"]), st.sampled_from(["", "1", "2.5", "abc", "10"])),
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=edits)
def test_replay_equals_the_final_values_after_random_edits(sequence):
    with transaction.atomic():
        world = build_world(code=f"p{abs(hash(tuple(sequence))) % 10**8}")
        current: dict[str, str] = {}
        for field, value in sequence:
            old = current.get(field, "")
            if old == value:
                continue
            write_changes(world, [Change(field=field, old=old, new=value, record_id="AAA-0001",
                                         event="baseline_arm_1", instrument="labs", instance=1)])  # fmt: skip
            if value:
                current[field] = value
            else:
                current.pop(field, None)
        replayed = replay_record(world.project, "AAA-0001")
        assert replayed.get(("baseline_arm_1", "labs", 1), {}) == current
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_records_history_is_read_from_its_chain_and_record_index():
    """The record history (audit page, field history, API log by record) reads its chain-and-record index,
    not the whole project chain through (chain, sequence), however long the chain grows. (Whether it then
    sorts a handful of rows or reads the index backwards is the planner's choice on a table this small.)"""
    world = build_world()
    for i in range(40):
        write_changes(world, [Change(field="crp", old=str(i), new=str(i + 1), record_id=f"AAA-{i % 8:04d}",
                                     event="baseline_arm_1", instrument="labs", instance=1)])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_auditevent")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole anyway
    rows = audit_rows(world.scope("dm"), AuditFilters(record_id="AAA-0003"))
    assert [r.old_value for r in rows] == ["35", "27", "19", "11", "3"]
    plan = rows.explain()
    assert "audit_chain_record" in plan and "audit_sequence_unique" not in plan, plan


@pytest.mark.django_db
def test_an_audit_rows_insert_parameters_are_what_the_fields_themselves_give():
    """The append's fast path (`_row_params`) against each field's own get_db_prep_save, value kind by kind."""
    from registry.models import AuditSource
    from registry.services.audit import _insert_fields, _row_params

    world = build_world()
    user = world.users["coord_a"]
    rows = [
        AuditEvent(project=world.project, chain="project:x", sequence=7, at=timezone_now(), user=user,
                   username=user.username, record_id="AAA-0001", event="baseline_arm_1", instrument="labs",
                   instance=2, field="crp", old_value=None, new_value="fièvre", reason="", source=AuditSource.API,
                   request_id="r", details={"cleared_by": "branching logic"}, prev_hash="0" * 64, row_hash="a" * 64),
        AuditEvent(project=None, chain="system", sequence=1, at=timezone_now(), user=None, username="",
                   action="login", instance=None, source="web", details={}, prev_hash="0" * 64, row_hash="b" * 64),
    ]  # fmt: skip

    def plain(value):  # psycopg2's JSON adapter has no equality of its own
        return getattr(value, "adapted", value)

    for row in rows:
        expected = [plain(f.get_db_prep_save(f.pre_save(row, True), connection)) for f in _insert_fields()]
        assert [plain(v) for v in _row_params(row, connection)] == expected
