"""Arms, events, mapping and repeating setup: REDCap CSV import/export, the SoJIA study folder, selectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forms.design.services import export_design, import_design, import_study
from forms.dictionary.services import export_dictionary, import_dictionary
from forms.models import Field, Project
from forms.selectors import (
    clear_caches,
    current_version,
    fields_of,
    instruments_for_event,
    is_repeating,
    repeating_kind,
)

from .conftest import dd_rows, row

SOJIA = Path(__file__).resolve().parents[2] / "fixtures" / "sojia"
FILES = {
    "arms": "arms.csv",
    "events": "events.csv",
    "mapping": "instrument_event_mapping.csv",
    "repeating": "repeating_instruments.csv",
}


@pytest.fixture(autouse=True)
def _fresh_selector_cache():
    clear_caches()
    yield
    clear_caches()


@pytest.mark.django_db
@pytest.mark.skipif(not (SOJIA / "project.json").exists(), reason="the SoJIA study folder is not there yet")
def test_sojia_study_imports_as_one_version_and_exports_its_own_files():
    result = import_study(directory=SOJIA)
    assert result.ok, "\n".join(str(e) for e in result.errors)
    project = Project.objects.get(code="sojia")
    version = current_version(project)
    assert version.number == 1 and project.is_longitudinal
    assert result.field_count == Field.objects.filter(version=version).count()
    assert [m.code for m in version.missing_data_codes.all()] == ["NA", "ND", "UNK", "NASK"]
    # What came in goes out byte for byte.
    assert export_dictionary(project) == (SOJIA / "data_dictionary.csv").read_text(encoding="utf-8-sig")
    for what, name in FILES.items():
        assert export_design(project, what=what) == (SOJIA / name).read_text(encoding="utf-8"), what
    # Selectors over the snapshot.
    assert instruments_for_event(version, "baseline_arm_1")[0] == "enrollment"
    assert repeating_kind(version, "disease_activity", "unscheduled_arm_1") == "event"
    assert is_repeating(version, "micro_test_other", "baseline_arm_1")
    assert not is_repeating(version, "enrollment", "baseline_arm_1")
    assert next(f.name for f in fields_of(version, "enrollment")) == "record_id"
    # The same folder again: a new version with no changes.
    again = import_study(directory=SOJIA)
    assert again.ok and again.version.number == 2


@pytest.mark.django_db
@pytest.mark.skipif(not (SOJIA / "project.json").exists(), reason="the SoJIA study folder is not there yet")
def test_study_import_is_all_or_nothing_with_file_names_in_errors(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(SOJIA, folder)
    mapping = folder / "instrument_event_mapping.csv"
    mapping.write_text(mapping.read_text() + "1,baseline_arm_1,no_such_form\n1,week_99_arm_1,enrollment\n")
    result = import_study(directory=folder)
    assert not result.ok and not Project.objects.filter(code="sojia").exists()
    messages = [str(e) for e in result.errors]
    assert any(m.startswith("instrument_event_mapping.csv: row") and "no_such_form" in m for m in messages)
    assert any("week_99_arm_1" in m and "column B (unique_event_name)" in m for m in messages)


def _classic_project():
    data = dd_rows(row("record_id", "demo", "text"), row("visit_date", "visit", "text"), row("ae", "ae_log", "text"))
    assert import_dictionary(project_code="des", source=data).ok
    return Project.objects.get(code="des")


@pytest.mark.django_db
def test_events_arms_mapping_repeating_round_trip_and_each_import_is_a_version():
    project = _classic_project()
    arms = b'arm_num,name\n1,"Arm 1"\n2,Control\n'
    events = (
        b"event_name,arm_num,day_offset,offset_min,offset_max,unique_event_name,custom_event_label\n"
        b'Baseline,1,0,0,0,baseline_arm_1,\n"Week 4",1,28,3,3,,\nScreening,2,0,0,0,screening_arm_2,\n'
    )
    mapping = (
        b"arm_num,unique_event_name,form\n1,baseline_arm_1,demo\n1,baseline_arm_1,visit\n"
        b"1,week_4_arm_1,visit\n1,week_4_arm_1,ae_log\n2,screening_arm_2,demo\n"
    )
    repeating = b"event_name,form_name,custom_form_label\nweek_4_arm_1,ae_log,[ae]\nscreening_arm_2,,\n"
    numbers = [
        import_design(project_code="des", what=w, source=s).version.number
        for w, s in (("arms", arms), ("events", events), ("mapping", mapping), ("repeating", repeating))
    ]
    assert numbers == [2, 3, 4, 5]
    project.refresh_from_db()
    assert project.is_longitudinal
    assert export_design(project, what="arms") == 'arm_num,name\n1,"Arm 1"\n2,Control\n'
    assert 'Week 4",1,28,3,3,week_4_arm_1,' in export_design(project, what="events")
    assert export_design(project, what="mapping") == mapping.decode()
    assert export_design(project, what="repeating") == repeating.decode()
    version = project.current_version
    assert instruments_for_event(version, "week_4_arm_1") == ["visit", "ae_log"]
    assert repeating_kind(version, "ae_log", "week_4_arm_1") == "instrument"
    assert repeating_kind(version, "demo", "screening_arm_2") == "event"
    assert instruments_for_event(version, None) == ["demo", "visit", "ae_log"]


@pytest.mark.django_db
def test_design_errors_name_row_and_column_and_store_nothing():
    project = _classic_project()
    events = b"event_name,arm_num,unique_event_name\nBaseline,1,baseline_arm_1\nLater,3,later_arm_3\nBad,1,Bad Name\n"
    result = import_design(project_code="des", what="events", source=events)
    assert [(e.row, e.column) for e in result.errors] == [(3, "arm_num"), (4, "unique_event_name")]
    assert str(result.errors[0]) == "row 3, column B (arm_num): arm 3 is not defined"
    assert import_design(project_code="des", what="events", source=b"event_name,arm_num\nBaseline,1\n").ok
    bad_mapping = b"arm_num,unique_event_name,form\n1,baseline_arm_1,nope\n1,other_arm_1,demo\n"
    errors = import_design(project_code="des", what="mapping", source=bad_mapping).errors
    assert [(e.row, e.column) for e in errors] == [(2, "form"), (3, "unique_event_name")]
    bad_repeat = b"event_name,form_name,custom_form_label\nbaseline_arm_1,demo,\n"
    errors = import_design(project_code="des", what="repeating", source=bad_repeat).errors
    assert "not mapped to event" in errors[0].message
    project.refresh_from_db()
    assert project.current_version.number == 2


@pytest.mark.django_db
def test_classic_repeating_instruments():
    project = _classic_project()
    result = import_design(project_code="des", what="repeating", source=b"form_name,custom_form_label\nae_log,[ae]\n")
    assert result.ok, [str(e) for e in result.errors]
    project.refresh_from_db()
    assert is_repeating(project.current_version, "ae_log") and not is_repeating(project.current_version, "demo")
    assert export_design(project, what="repeating") == "form_name,custom_form_label\nae_log,[ae]\n"
