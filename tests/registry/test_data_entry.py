"""Saving forms: validation, calculations, branching, audit, reason for change, conflicts, locking."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.models import AuditEvent, FormInstance
from registry.services.audit import replay_record
from registry.services.entry import EntryError, SaveConflict, form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"


@pytest.fixture
def world(db):
    return build_world(project=import_classic())


def save(world, record, values, user="coord_a", instrument="demographics", **kwargs):
    return form_save(scope=world.scope(user), record=record, event=EVENT, instrument=instrument, instance=1,
                     values=values, **kwargs)  # fmt: skip


def test_save_computes_calc_and_audits_each_field(world):
    record = record_create(scope=world.scope("coord_a"))
    outcome = save(world, record, {"age": "7", "weight": "25", "height": "120", "consent": "0"}, status=0)
    form = FormInstance.objects.get(pk=outcome.form.pk)
    assert form.data["bmi"] == "17.4"  # 25 / 1.2^2 = 17.36
    rows = AuditEvent.objects.filter(record_id=record.record_id, action="data_change")
    changed = {r.field: (r.old_value, r.new_value) for r in rows}
    assert changed["age"] == (None, "7")
    assert changed["bmi"] == (None, "17.4")
    assert changed["demographics_complete"] == (None, "0")
    assert all(r.username == world.users["coord_a"].username for r in rows)


def test_hard_errors_refuse_the_whole_save(world):
    record = record_create(scope=world.scope("coord_a"))
    with pytest.raises(EntryError) as caught:
        save(world, record, {"age": "seven", "consent": "5", "weight": "20"})
    assert "not a valid Integer" in " ".join(caught.value.errors["age"])
    assert "not one of the choices" in " ".join(caught.value.errors["consent"])
    assert not FormInstance.objects.filter(record=record).exists()
    assert not AuditEvent.objects.filter(record_id=record.record_id, action="data_change").exists()


def test_soft_limit_warns_and_force_minmax_blocks(world):
    record = record_create(scope=world.scope("coord_a"))
    outcome = save(world, record, {"esr": "160"}, instrument="labs")
    assert [w.field for w in outcome.warnings] == ["esr"]
    assert FormInstance.objects.get(record=record, instrument="labs").data["esr"] == "160"
    with pytest.raises(EntryError) as caught:
        save(world, record, {"crp": "301"}, instrument="labs")
    assert "above the maximum" in caught.value.errors["crp"][0]


def test_hidden_fields_are_cleared_and_the_clearing_is_audited(world):
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, {"consent": "1", "consent_date": "2026-01-05", "symptoms___2": "1", "rash_site": "arm"})
    outcome = save(world, record, {"consent": "0", "consent_date": "2026-01-05", "symptoms___2": "0",
                                   "rash_site": "arm"})  # fmt: skip
    assert set(outcome.cleared_hidden) == {"consent_date", "rash_site"}
    data = FormInstance.objects.get(record=record, instrument="demographics").data
    assert "consent_date" not in data and "rash_site" not in data
    row = AuditEvent.objects.filter(record_id=record.record_id, field="consent_date").latest("sequence")
    assert (row.old_value, row.new_value, row.details.get("cleared_by")) == ("2026-01-05", None, "branching logic")


def test_required_fields_warn_but_save(world):
    record = record_create(scope=world.scope("coord_a"))
    outcome = save(world, record, {"name": "Test Patient"})
    assert set(outcome.missing_required) >= {"age", "consent"}
    assert "consent_date" not in outcome.missing_required  # hidden by branching: not required


def test_complete_form_needs_a_reason_for_change(world):
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, {"age": "7"}, status=2)
    with pytest.raises(EntryError) as caught:
        save(world, record, {"age": "8"})
    assert "reason" in caught.value.errors
    save(world, record, {"age": "8"}, reason="typo in source document")
    row = AuditEvent.objects.filter(record_id=record.record_id, field="age").latest("sequence")
    assert (row.old_value, row.new_value, row.reason) == ("7", "8", "typo in source document")


def test_second_concurrent_save_gets_a_conflict_and_nothing_is_lost(world):
    record = record_create(scope=world.scope("coord_a"))
    first = save(world, record, {"age": "7"})
    opened_at = first.form.row_version
    save(world, record, {"age": "9"}, expected_row_version=opened_at)  # user 1 saves
    with pytest.raises(SaveConflict) as caught:
        save(world, record, {"age": "11"}, user="dm", expected_row_version=opened_at)  # user 2, stale
    assert caught.value.current.data["age"] == "9"
    assert caught.value.submitted["age"] == "11"
    assert FormInstance.objects.get(pk=first.form.pk).data["age"] == "9"


def test_locked_form_refuses_saves(world):
    record = record_create(scope=world.scope("coord_a"))
    outcome = save(world, record, {"age": "7"})
    FormInstance.objects.filter(pk=outcome.form.pk).update(locked=True)
    with pytest.raises(EntryError, match="locked"):
        save(world, record, {"age": "8"})


def test_other_site_and_read_only_roles_cannot_save(world):
    from django.http import Http404

    record = record_create(scope=world.scope("coord_a"))
    with pytest.raises(EntryError, match="record not found"):
        save(world, record, {"age": "8"}, user="coord_b")
    with pytest.raises(Http404):
        save(world, record, {"age": "8"}, user="monitor")


def test_replay_rebuilds_saved_values(world):
    record = record_create(scope=world.scope("coord_a"))
    save(world, record, {"age": "7", "weight": "25", "height": "120", "symptoms___1": "1"})
    save(world, record, {"age": "8", "weight": "26", "height": "120", "symptoms___1": "0"})
    form = FormInstance.objects.get(record=record, instrument="demographics")
    replayed = replay_record(world.project, record.record_id)[(EVENT, "demographics", 1)]
    replayed.pop("demographics_complete")
    assert replayed == form.data


def test_design_change_is_destructive_only_for_fields_with_stored_values(world):
    from forms.dictionary.services import import_dictionary
    from tests.registry.designs import API_HEADER, CLASSIC_ROWS

    without_esr = "\n".join([API_HEADER, *[r for r in CLASSIC_ROWS if not r.startswith("esr,")]]) + "\n"
    dry = import_dictionary(project_code="classic", source=without_esr.encode(), dry_run=True)
    assert dry.errors == []  # nobody stored an ESR yet: removing it orphans nothing

    record = record_create(scope=world.scope("coord_a"))
    save(world, record, {"esr": "12"}, instrument="labs")
    refused = import_dictionary(project_code="classic", source=without_esr.encode())
    assert refused.errors and any("esr" in str(issue) for issue in refused.errors)
    assert FormInstance.objects.get(record=record, instrument="labs").data["esr"] == "12"  # nothing deleted


form_edits = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "age": st.sampled_from(["", "1", "7", "12"]),
            "consent": st.sampled_from(["", "0", "1"]),
            "consent_date": st.sampled_from(["", "2026-01-05", "2025-12-31"]),
            "weight": st.sampled_from(["", "20", "31.5"]),
            "height": st.sampled_from(["", "110", "140"]),
            "symptoms___1": st.sampled_from(["0", "1"]),
            "symptoms___2": st.sampled_from(["0", "1"]),
            "rash_site": st.sampled_from(["", "arm", "leg"]),
        },
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=form_edits)
def test_audit_replay_equals_stored_data_after_random_edit_sequences(world, edits):
    """Whatever sequence of saves (with calcs and branching clearing), replaying the audit rebuilds the form."""
    with transaction.atomic():
        record = record_create(scope=world.scope("coord_a"))
        for values in edits:
            save(world, record, values, partial=True)
        form = FormInstance.objects.get(record=record, instrument="demographics")
        replayed = replay_record(world.project, record.record_id)[(EVENT, "demographics", 1)]
        assert replayed.pop("demographics_complete") == str(form.status)
        assert replayed == form.data
        transaction.set_rollback(True)


def test_calctext_and_calcdate_tags_compute_on_save(db):
    from forms.dictionary.services import import_dictionary
    from tests.registry.designs import API_HEADER

    rows = [
        "record_id,visit,,text,Record ID,,,,,,,,,,,,,",
        "onset,visit,,text,Onset,,,date_ymd,,,,,,,,,,",
        "review,visit,,text,Review date,,,date_ymd,,,,,,,,,,\"@CALCDATE([onset], 14, 'd')\"",
        "band,visit,,text,Band,,,,,,,,,,,,,\"@CALCTEXT(if([onset] <> '', 'dated', 'undated'))\"",
    ]
    assert not import_dictionary(project_code="tags", source=("\n".join([API_HEADER, *rows]) + "\n").encode()).errors
    from forms.models import Project

    world = build_world(project=Project.objects.get(code="tags"))
    record = record_create(scope=world.scope("coord_a"))
    outcome = form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="visit",
                        values={"onset": "2026-01-30"})  # fmt: skip
    assert outcome.form.data["review"] == "2026-02-13"
    assert outcome.form.data["band"] == "dated"
