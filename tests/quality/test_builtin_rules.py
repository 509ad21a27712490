"""Each built-in rule A-I: a positive and a negative case on a small classic study."""

from __future__ import annotations

import pytest

from registry.models import FormInstance
from registry.quality.engine import Selection, find_discrepancies
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

GOOD = {"name": "Synthetic One", "age": "40", "consent": "1", "consent_date": "2024-01-10", "weight": "70",
        "height": "175", "symptoms___1": "1"}  # fmt: skip


@pytest.fixture
def study(db):
    project = import_classic("dqclassic")
    world = build_world(project=project)
    scope = world.scope("dm")
    records = []
    for i in range(12):  # enough records for a mean and SD (rule E)
        record = record_create(scope=scope, site=world.site_a)
        values = dict(GOOD, age=str(38 + i % 5), weight=str(68 + i % 5))
        form_save(scope=scope, record=record, event=design_of(project).default_event(), instrument="demographics",
                  values=values)  # fmt: skip
        records.append(record)
    return project, records


def found(project, rule: str, record) -> list:
    design = design_of(project)
    return [f for f in find_discrepancies(project=project, design=design, selection=Selection(rules=[rule]))
            if f.record == record.pk]  # fmt: skip


def tamper(record, **data) -> None:
    """Store values as an import from an older system could have left them (bypassing the save's checks)."""
    form = FormInstance.objects.get(record=record, instrument="demographics")
    for key, value in data.items():
        if value is None:
            form.data.pop(key, None)
        else:
            form.data[key] = value
    form.save()


def test_a_blank_values_respect_branching(study):
    project, (clean, blank, *_) = study
    tamper(blank, weight=None, consent="0", consent_date=None)
    fields = {f.field for f in found(project, "A", blank)}
    assert "weight" in fields
    assert "consent_date" not in fields  # hidden by branching: not a blank to report
    assert "bmi" not in fields  # calc fields are rule H's business
    assert "weight" not in {f.field for f in found(project, "A", clean)}


def test_b_blank_required_fields_only(study):
    project, (clean, blank, *_) = study
    tamper(blank, age=None, weight=None)
    assert {f.field for f in found(project, "B", blank)} == {"age"}  # weight is not required
    assert found(project, "B", clean) == []


def test_c_validation_type_errors(study):
    project, (clean, bad, *_) = study
    tamper(bad, age="forty", consent_date="2024-02-30")
    assert {f.field for f in found(project, "C", bad)} == {"age", "consent_date"}
    assert found(project, "C", clean) == []


def test_d_out_of_range(study):
    project, (clean, bad, *_) = study
    tamper(bad, age="130")
    hits = found(project, "D", bad)
    assert [(f.field, f.value) for f in hits] == [("age", "130")]
    assert "maximum" in hits[0].message
    assert found(project, "D", clean) == []


def test_e_numeric_outliers(study):
    project, (clean, odd, *_) = study
    tamper(odd, weight="149")
    assert "weight" in {f.field for f in found(project, "E", odd)}
    assert "weight" not in {f.field for f in found(project, "E", clean)}


def test_f_hidden_fields_with_values(study):
    project, (clean, bad, *_) = study
    tamper(bad, rash_site="left arm")  # shown only when symptom 2 (rash) is ticked
    assert [(f.field, f.value) for f in found(project, "F", bad)] == [("rash_site", "left arm")]
    assert found(project, "F", clean) == []


def test_g_choice_codes_not_in_the_list(study):
    project, (clean, bad, *_) = study
    tamper(bad, consent="7", symptoms___5="1")
    assert {(f.field, f.value) for f in found(project, "G", bad)} == {("consent", "7"), ("symptoms", "symptoms___5")}
    assert found(project, "G", clean) == []


def test_h_stale_calculations_and_fix_all(study):
    from registry.models import AuditEvent
    from registry.quality.services.calc_fix import fix_calculations
    from registry.quality.services.runs import run_sync

    project, (clean, stale, *_) = study
    tamper(stale, bmi="99")
    hits = found(project, "H", stale)
    assert [(f.field, f.value) for f in hits] == [("bmi", "99")]
    assert "calculated 22.5" in hits[0].message
    assert found(project, "H", clean) == []
    from django.contrib.auth import get_user_model

    from registry.access import scope_for

    dm = scope_for(get_user_model().objects.get(username="dqclassic_dm"), project)
    run = run_sync(scope=dm, rules=["H"])
    assert fix_calculations(scope=dm, run=run) == 1
    assert FormInstance.objects.get(record=stale, instrument="demographics").data["bmi"] == "22.5"
    row = AuditEvent.objects.filter(project=project, field="bmi", record_id=stale.record_id).last()
    assert (row.old_value, row.new_value, row.source) == ("99", "22.5", "calculation")
    assert found(project, "H", stale) == []


def test_i_missing_data_codes(study):
    project, (clean, coded, *_) = study
    form = FormInstance.objects.get(record=coded, instrument="demographics")
    form.data.pop("weight")
    form.missing = {"weight": "UNK"}
    form.save()
    assert [(f.field, f.value) for f in found(project, "I", coded)] == [("weight", "UNK")]
    assert found(project, "I", clean) == []
    assert "weight" not in {f.field for f in found(project, "A", coded)}  # a coded value is not blank
