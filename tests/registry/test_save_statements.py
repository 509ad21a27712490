"""The form save's hand-written statements (registry/services/save_sql.py, the audit append) against the ORM code.

Every behaviour runs three times: with the PostgreSQL statements prepared (persistent connections),
run as plain statements, and with the ORM code that SQLite (the embedded demo) keeps, so the paths
cannot drift apart. The query count pins the collapsed round trips.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from registry import sql_rows
from registry.models import AuditChainHead, AuditEvent, FormInstance
from registry.quality.models import Verification
from registry.quality.services.verification import verify
from registry.services.audit import chain_of, verify_chain
from registry.services.entry import diff_values, form_save
from registry.services.locking import form_lock, record_lock
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"


@pytest.fixture(params=["prepared", "sql", "orm"])
def world(db, request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(sql_rows, "enabled", lambda: False)
    # Tests close connections after each request (DB_CONN_MAX_AGE=0), where nothing is prepared.
    monkeypatch.setattr(sql_rows, "prepares", lambda: request.param == "prepared")
    return build_world(project=import_classic())


def url(record) -> str:
    return f"/projects/classic/records/{record.record_id}/{EVENT}/demographics/1/"


def saved(world, values: dict, status: int = 0):
    record = record_create(scope=world.scope("coord_a"))
    outcome = form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
                        values=values, status=status)  # fmt: skip
    return record, outcome.form


def post(client, record, row_version: int, **values):
    data = {"age": "11", "status": "2", "row_version": str(row_version), "save_stay": "1", **values}
    return client.post(url(record), data)


def test_a_web_save_writes_the_form_and_one_chained_audit_row_per_change(client, world):
    record, form = saved(world, {"age": "9"}, status=2)
    client.force_login(world.users["coord_a"])
    before = datetime.now(UTC)
    response = post(client, record, form.row_version, reason="transcription error")
    assert response.status_code == 302 and response["Location"] == url(record)  # "save and stay": the same form
    stored = FormInstance.objects.get(pk=form.pk)
    assert stored.data["age"] == "11" and stored.row_version == form.row_version + 1
    assert stored.updated_by == world.users["coord_a"] and stored.updated_at >= before
    assert stored.metadata_version == form.metadata_version and not stored.locked
    row = AuditEvent.objects.filter(record_id=record.record_id, field="age").latest("sequence")
    assert (row.username, row.old_value, row.new_value, row.reason) == ("classic_coord_a", "9", "11",
                                                                        "transcription error")  # fmt: skip
    assert row.user == world.users["coord_a"] and row.source == "web"
    assert row.at.utcoffset() == timedelta(0) and before <= row.at <= datetime.now(UTC)
    chain = chain_of(world.project)
    head, last = AuditChainHead.objects.get(chain=chain), AuditEvent.objects.filter(chain=chain).latest("sequence")
    assert (head.sequence, head.last_hash) == (last.sequence, last.row_hash)
    assert verify_chain(chain).ok


def test_save_and_next_opens_the_events_next_form_and_after_the_last_the_record(client, world):
    record, form = saved(world, {"age": "9"})
    client.force_login(world.users["coord_a"])
    data = {"age": "10", "status": "0", "row_version": str(form.row_version), "save_next": "1"}
    response = client.post(url(record), data)
    assert response.status_code == 302
    assert response["Location"] == f"/projects/classic/records/{record.record_id}/{EVENT}/labs/1/"
    response = client.post(response["Location"], {"crp": "5", "status": "0", "row_version": "0", "save_next": "1"})
    assert response.status_code == 302 and response["Location"] == f"/projects/classic/records/{record.record_id}/"
    assert FormInstance.objects.get(record=record, instrument="labs").data["crp"] == "5"


def test_a_complete_form_still_asks_for_a_reason_and_writes_nothing_without_one(client, world):
    record, form = saved(world, {"age": "9"}, status=2)
    client.force_login(world.users["coord_a"])
    rows = AuditEvent.objects.count()
    response = post(client, record, form.row_version)
    assert response.status_code == 200 and b"reason" in response.content
    assert AuditEvent.objects.count() == rows and FormInstance.objects.get(pk=form.pk).data["age"] == "9"


def test_a_stale_row_version_gets_the_conflict_page_and_nothing_is_written(client, world):
    record, form = saved(world, {"age": "9"})
    form_save(scope=world.scope("dm"), record=record, event=EVENT, instrument="demographics", values={"age": "10"},
              expected_row_version=form.row_version)  # fmt: skip
    client.force_login(world.users["coord_a"])
    rows = AuditEvent.objects.count()
    response = post(client, record, form.row_version, status="0")
    assert response.status_code == 409
    assert AuditEvent.objects.count() == rows and FormInstance.objects.get(pk=form.pk).data["age"] == "10"


@pytest.mark.parametrize("lock", ["record", "form"])
def test_locked_records_and_forms_are_not_saved(client, world, lock):
    record, form = saved(world, {"age": "9"})
    if lock == "record":
        record_lock(scope=world.scope("dm"), record=record)
    else:
        form_lock(scope=world.scope("dm"), form=form)
    client.force_login(world.users["coord_a"])
    rows = AuditEvent.objects.count()
    response = post(client, record, form.row_version, status="0")
    assert response.status_code == 200  # the page shown read-only again, saying why nothing was saved
    page = response.content.decode()
    assert "This form is locked: the changes were not saved." in page and 'name="age"' in page and "disabled" in page
    assert AuditEvent.objects.count() == rows and FormInstance.objects.get(pk=form.pk).data["age"] == "9"


def test_a_record_of_another_site_is_not_found(client, world):
    record, form = saved(world, {"age": "9"})
    client.force_login(world.users["coord_b"])
    assert post(client, record, form.row_version, status="0").status_code == 404
    assert FormInstance.objects.get(pk=form.pk).data["age"] == "9"


def test_the_first_save_of_a_form_creates_it(client, world):
    record = record_create(scope=world.scope("coord_a"))
    client.force_login(world.users["coord_a"])
    assert post(client, record, 0, status="0").status_code == 302
    form = FormInstance.objects.get(record=record, instrument="demographics")
    assert form.data["age"] == "11" and form.row_version == 1
    fields = set(AuditEvent.objects.filter(record_id=record.record_id).values_list("field", flat=True))
    assert {"age", "demographics_complete"} <= fields and verify_chain(chain_of(world.project)).ok


def test_a_changed_value_drops_its_source_verification(client, world):
    record, form = saved(world, {"age": "9"})
    verify(scope=world.scope("monitor"), record=record, event=EVENT, instrument="demographics", field="age")
    client.force_login(world.users["coord_a"])
    assert post(client, record, form.row_version, status="0").status_code == 302
    assert not Verification.objects.filter(record=record, field="age").exists()


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path's statements")


@postgresql_only
def test_a_save_is_six_statements_two_of_them_in_its_transaction(client, db):
    world = build_world(project=import_classic())  # the PostgreSQL path's count
    record, form = saved(world, {"age": "9"})
    client.force_login(world.users["coord_a"])
    with CaptureQueriesContext(connection) as captured:
        assert post(client, record, form.row_version, status="0").status_code == 302
    statements = [q["sql"] for q in captured.captured_queries]
    # The save's transaction (a savepoint inside the test's own transaction, BEGIN/COMMIT in production).
    begin = next(i for i, s in enumerate(statements) if s.startswith(("BEGIN", "SAVEPOINT")))
    end = next(i for i, s in enumerate(statements) if s.startswith(("COMMIT", "RELEASE SAVEPOINT")))
    inside = statements[begin + 1 : end]
    # Was six: the record and the form locked one by one, the form's UPDATE, the chain head's lock,
    # the rows' INSERT and the head's UPDATE; then three. Now: the record and then the form locked in one
    # statement; the form's UPDATE, the chain head's lock, the rows (hashed by PostgreSQL) and the head's
    # new position in another. (This design's logic reads no other form; the workup's adds one read of
    # the one form it names.)
    assert [s.split(" ", 1)[0] for s in inside] == ["WITH", "WITH"], inside
    assert "FOR UPDATE" in inside[0] and "registry_forminstance" in inside[0]
    # ... and reads what the checks after the save need: the form's verifications, the active rules, the
    # record's open rule queries (three queries once, then one after the commit).
    assert all(table in inside[0] for table in ("quality_verification", "quality_rule", "quality_query"))
    assert "UPDATE registry_forminstance" in inside[1] and "registry_auditchainhead" in inside[1]
    assert "INSERT INTO registry_auditevent" in inside[1] and "UPDATE registry_auditchainhead" in inside[1]
    # Before the transaction: session, user, 2FA device, and the user's memberships with their projects and
    # sites, which the second-factor check reads and the page's scope takes its own from (was a query of its
    # own). The page's read of the record and its form (once two queries) is gone: the save's lock reads them.
    # Nothing after the commit.
    assert len(statements) - 2 == 6, statements
    assert end == len(statements) - 1, statements[end:]
    assert verify_chain(chain_of(world.project)).ok


@postgresql_only
def test_prepared_statements_are_prepared_once_per_connection(client, db, monkeypatch):
    monkeypatch.setattr(sql_rows, "prepares", lambda: True)
    world = build_world(project=import_classic())
    record, form = saved(world, {"age": "9"})
    client.force_login(world.users["coord_a"])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # a fresh connection's state (earlier tests shared this one)
    sql_rows._prepared.pop(connection.connection, None)
    with CaptureQueriesContext(connection) as first:
        assert post(client, record, form.row_version, status="0", age="10").status_code == 302
    first = [q["sql"] for q in first.captured_queries]  # read now: the next request resets the log
    assert post(client, record, form.row_version + 1, status="0", age="11").status_code == 302
    with CaptureQueriesContext(connection) as third:  # the same statements as the second save
        assert post(client, record, form.row_version + 2, status="0", age="12").status_code == 302
    assert any(sql.startswith("PREPARE") for sql in first)
    assert not any(q["sql"].startswith("PREPARE") for q in third.captured_queries)
    # memberships (scope), lock (with the checks' reads), UPDATE with the audit rows and the head's move
    assert sum(q["sql"].startswith("EXECUTE") for q in third.captured_queries) == 3
    assert FormInstance.objects.get(pk=form.pk).data["age"] == "12" and verify_chain(chain_of(world.project)).ok


stored_values = st.dictionaries(
    st.sampled_from(["age", "crp", "esr", "sex", "note", "fever___1", "fever___2"]),
    st.sampled_from(["", "0", "1", "2.5", "fièvre", None]),
    max_size=7,
)


@given(old=stored_values, new=stored_values, old_missing=stored_values, new_missing=stored_values)
def test_the_diff_names_every_changed_column_once_in_order_as_the_whole_comparison_does(
    old, new, old_missing, new_missing
):
    """The save's diff sorts only the changed names; the audit must be what comparing every name gives."""
    expected = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            expected.append((name, before or None, after or None, {}))
    for name in sorted(set(old_missing) | set(new_missing)):
        before, after = old_missing.get(name), new_missing.get(name)
        if before != after:
            expected.append((name, before, after, {"missing_code": True}))
    changes = diff_values(old, new, old_missing, new_missing)
    assert [(c.field, c.old, c.new, c.details) for c in changes] == expected
