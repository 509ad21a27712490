"""What a save reads of the record's other forms: only those its logic names, the whole record when the
logic can reach any instance. Each behaviour runs on the three paths of the save (prepared and plain
PostgreSQL statements, and the ORM code of the embedded SQLite demo)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from forms.design.services import import_design
from forms.dictionary.services import import_dictionary
from forms.models import Project
from registry import sql_rows
from registry.models import AuditEvent, FormInstance, Record
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.record_logic import forms_read_by
from registry.services.records import record_create
from tests.registry.designs import API_HEADER
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"
ROWS = [
    "record_id,demographics,,text,Record ID,,,,,,,,,,,,,",
    'consent,demographics,,radio,Consent given,"1, Yes | 0, No",,,,,,,,,,,,',
    "weight,demographics,,text,Weight (kg),,,number,1,150,,,,,,,,",
    "unrelated,demographics,,text,Unrelated,,,,,,,,,,,,,",
    "crp,labs,,text,CRP (mg/L),,,number,0,300,,,,,,,,",
    "sample_note,labs,,text,Sample note,,,,,,,[consent] = '1',,,,,,",
    'crp_per_kg,labs,,calc,CRP per kg,"[crp] / [weight]",,,,,,,,,,,,',
    "prior_mas,history,,yesno,Earlier MAS,,,,,,,,,,,,,",
    "visit_crp,visits,,text,CRP at visit (mg/L),,,number,0,300,,,,,,,,",
    'crp_rise,visits,,calc,Rise since last visit,"[visit_crp] - [visit_crp][previous-instance]",,,,,,,,,,,,',
]


@pytest.fixture(params=["prepared", "sql", "orm"])
def world(db, request, monkeypatch):
    if request.param == "orm":
        monkeypatch.setattr(sql_rows, "enabled", lambda: False)
    monkeypatch.setattr(sql_rows, "prepares", lambda: request.param == "prepared")
    return _reads_world()


def _reads_world():
    source = "\n".join([API_HEADER, *ROWS]) + "\n"
    assert not import_dictionary(project_code="reads", source=source.encode(), title="Reads").errors
    assert not import_design(
        project_code="reads", what="repeating", source=b"form_name,custom_form_label\nvisits,\n"
    ).errors
    return build_world(project=Project.objects.get(code="reads"))


def save(world, record, instrument: str, values: dict, instance: int = 1):
    return form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument=instrument,
                     instance=instance, values=values)  # fmt: skip


def test_the_logic_names_the_forms_a_save_reads(world):
    design = design_of(world.project)
    assert forms_read_by(design, EVENT, "labs") == {(EVENT, "demographics", 1)}
    assert forms_read_by(design, EVENT, "demographics") == frozenset()
    assert forms_read_by(design, EVENT, "visits") is None  # [previous-instance]: the record's data decides


def test_branching_and_calcs_read_the_values_of_the_form_they_name(world):
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "demographics", {"consent": "0", "weight": "20", "unrelated": "x"})
    outcome = save(world, record, "labs", {"crp": "50", "sample_note": "haemolysed"})
    assert outcome.cleared_hidden == ["sample_note"]
    labs = FormInstance.objects.get(record=record, instrument="labs")
    assert labs.data == {"crp": "50", "crp_per_kg": "2.5"}

    save(world, record, "demographics", {"consent": "1", "weight": "25", "unrelated": "x"})
    outcome = save(world, record, "labs", {"crp": "50", "sample_note": "haemolysed"})
    assert outcome.cleared_hidden == []
    labs.refresh_from_db()
    assert labs.data == {"crp": "50", "crp_per_kg": "2", "sample_note": "haemolysed"}
    row = AuditEvent.objects.filter(record_id=record.record_id, field="crp_per_kg").latest("sequence")
    assert (row.old_value, row.new_value) == ("2.5", "2")


def test_a_form_the_logic_names_that_was_never_saved_reads_as_blank(world):
    record = record_create(scope=world.scope("coord_a"))
    outcome = save(world, record, "labs", {"crp": "50", "sample_note": "haemolysed"})
    assert outcome.cleared_hidden == ["sample_note"]
    assert FormInstance.objects.get(record=record, instrument="labs").data == {"crp": "50"}


def test_instance_words_read_the_whole_record(world):
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "visits", {"visit_crp": "10"}, instance=1)
    save(world, record, "visits", {"visit_crp": "25"}, instance=2)
    save(world, record, "visits", {"visit_crp": "20"}, instance=3)
    rises = {
        f.instance: f.data.get("crp_rise") for f in FormInstance.objects.filter(record=record, instrument="visits")
    }
    assert rises == {1: None, 2: "15", 3: "-5"}


def test_real_time_rules_see_the_whole_record_after_a_save_that_read_part_of_it(world):
    from registry.quality.services.custom_rules import rule_save

    rule_save(scope=world.scope("dm"), name="R1 High CRP after MAS", logic="[crp] > 40 and [prior_mas] = '1'",
              real_time=True)  # fmt: skip
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "history", {"prior_mas": "1"})
    outcome = save(world, record, "labs", {"crp": "50"})  # its logic reads demographics only
    assert [m.rule for m in outcome.rule_messages] == ["R1"]
    outcome = save(world, record, "labs", {"crp": "30"})
    assert outcome.rule_messages == []


def saved_while_another_commits(world, record, write, instrument: str, values: dict):
    """Save `values` while another transaction holds the record's lock as every save does first, runs
    `write()`, and commits while this save waits for the record."""
    holding, release = threading.Event(), threading.Event()

    def other_save() -> None:
        try:
            with transaction.atomic():
                Record.objects.select_for_update().get(pk=record.pk)
                write()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_save)
    thread.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    outcome = save(world, record, instrument, values)
    thread.join(10)
    return outcome


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path's statements")


@postgresql_only
def test_the_forms_the_logic_names_are_read_with_the_lock(db):
    world = _reads_world()
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "demographics", {"consent": "1", "weight": "20"})
    with CaptureQueriesContext(connection) as captured:
        save(world, record, "labs", {"crp": "50", "sample_note": "haemolysed"})
    statements = [q["sql"] for q in captured.captured_queries]
    assert not any(s.startswith("SELECT event, instrument, instance, data, missing") for s in statements)
    assert any("FOR SHARE" in s and "FOR UPDATE" in s for s in statements)


@postgresql_only
@pytest.mark.parametrize("change", ["updated", "created"])
def test_a_save_that_waited_for_another_reads_the_forms_as_that_save_left_them(transactional_db, change):
    """The lock statement's snapshot predates its wait: what the save it waited for wrote must still be read."""
    world = _reads_world()
    record = record_create(scope=world.scope("coord_a"))
    if change == "updated":
        save(world, record, "demographics", {"consent": "0", "weight": "20"})

    def write() -> None:
        FormInstance.objects.update_or_create(
            record=record, event=EVENT, instrument="demographics", instance=1,
            defaults={"data": {"consent": "1", "weight": "25"}, "missing": {}},
        )  # fmt: skip

    outcome = saved_while_another_commits(world, record, write, "labs", {"crp": "50", "sample_note": "haemolysed"})
    assert outcome.cleared_hidden == []
    assert FormInstance.objects.get(record=record, instrument="labs").data["crp_per_kg"] == "2"


def _history_rule(world) -> None:
    from registry.quality.services.custom_rules import rule_save

    rule_save(scope=world.scope("dm"), name="R1 High CRP after MAS", logic="[crp] > 40 and [prior_mas] = '1'",
              real_time=True)  # fmt: skip


@postgresql_only
def test_the_forms_the_real_time_rules_name_are_read_with_the_update_and_nothing_after_the_commit(db):
    world = _reads_world()
    _history_rule(world)
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "history", {"prior_mas": "1"})
    save(world, record, "labs", {"crp": "10"})
    with CaptureQueriesContext(connection) as captured:
        outcome = save(world, record, "labs", {"crp": "50"})
    assert [m.rule for m in outcome.rule_messages] == ["R1"]
    statements = [q["sql"] for q in captured.captured_queries]
    end = next(i for i, s in enumerate(statements) if s.startswith(("COMMIT", "RELEASE SAVEPOINT")))
    update = next(s for s in statements if "UPDATE registry_forminstance" in s)
    assert "x.instrument = ANY" in update  # the rule's instruments (labs, history), read in the same statement
    # After the commit: only the verification clean-up's own write, if any; no read of the record's forms.
    assert not any("registry_forminstance" in s for s in statements[end + 1 :]), statements[end + 1 :]


@postgresql_only
def test_real_time_rules_see_a_form_created_by_the_save_this_one_waited_for(transactional_db):
    """The rule's forms are read after the record's lock was taken: a form that the save this one waited
    for created (invisible to the lock statement's older snapshot) is there."""
    world = _reads_world()
    _history_rule(world)
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "labs", {"crp": "10"})

    def write() -> None:
        FormInstance.objects.create(record=record, event=EVENT, instrument="history", instance=1,
                                    data={"prior_mas": "1"}, missing={})  # fmt: skip

    outcome = saved_while_another_commits(world, record, write, "labs", {"crp": "50"})
    assert [m.rule for m in outcome.rule_messages] == ["R1"]


def test_a_save_runs_the_rules_as_they_are_now_after_any_change_to_them(world):
    """Each process keeps the project's rules by their fingerprint (PostgreSQL): a rule edited, switched off
    or on, added or deleted, by the rule pages or straight in the database, is what the next save runs."""
    from registry.quality.models import Rule

    _history_rule(world)
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, "history", {"prior_mas": "1"})

    def rules_after_save(crp: str) -> list[str]:
        return [m.rule for m in save(world, record, "labs", {"crp": crp}).rule_messages]

    assert rules_after_save("50") == ["R1"]
    Rule.objects.filter(code="R1").update(logic="[crp] > 60 and [prior_mas] = '1'")  # no updated_at, no signal
    assert rules_after_save("55") == []
    Rule.objects.filter(code="R1").update(active=False)
    assert rules_after_save("70") == []
    Rule.objects.filter(code="R1").update(active=True)
    assert rules_after_save("71") == ["R1"]
    rule = Rule.objects.get(code="R1")
    Rule.objects.filter(pk=rule.pk).delete()
    Rule.objects.create(project=world.project, code="R2", name="Any CRP", logic="[crp] <> ''", real_time=True,
                        order=rule.order)  # fmt: skip
    assert rules_after_save("72") == ["R2"]
