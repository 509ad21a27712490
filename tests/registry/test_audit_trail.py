"""The audit trail: append-only on PostgreSQL, hash-chained, verifiable and replayable."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.models import AuditEvent
from registry.services.audit import Change, audit_append, chain_of, replay_record, verify_chain
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
