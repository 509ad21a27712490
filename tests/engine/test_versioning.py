"""Every import is a new version; the diff says what changed; destructive changes need confirmation."""

from __future__ import annotations

import pytest

from forms.dictionary import services
from forms.dictionary.services import export_dictionary, import_dictionary, register_data_presence_provider
from forms.models import Field, Project

from .conftest import dd_rows, row

RID = row("record_id", "demo", "text", "Record ID")
V1 = dd_rows(
    RID,
    row("sex", "demo", "radio", "Sex", "1, Male | 2, Female"),
    row("age", "demo", "text", "Age", text_validation_type_or_show_slider_number="integer"),
    row("dob", "demo", "text", "DOB", text_validation_type_or_show_slider_number="date_ymd"),
    row("notes", "demo", "notes", "Notes"),
    row("weight", "visit", "text", "Weight"),
)


@pytest.fixture(autouse=True)
def _default_provider():
    """These tests exercise the engine's own conservative default, then put the registry's provider back."""
    previous = services._data_presence_provider
    register_data_presence_provider(None)
    yield
    register_data_presence_provider(previous)


@pytest.mark.django_db
def test_versions_are_numbered_and_complete_snapshots():
    first = import_dictionary(project_code="ver", source=V1, title="Versioned")
    project = Project.objects.get(code="ver")
    assert (first.version.number, project.title, project.current_version) == (1, "Versioned", first.version)
    assert project.record_id_field == "record_id"
    second = import_dictionary(
        project_code="ver", source=V1 + row("extra", "visit", "text").replace("\t", ",").encode() + b"\n"
    )
    assert second.ok and second.version.number == 2
    assert second.diff["added"] == ["extra"]
    assert Field.objects.filter(version=first.version).count() == 6
    assert Field.objects.filter(version=second.version).count() == 7
    project.refresh_from_db()
    assert export_dictionary(project, version=first.version) != export_dictionary(project)
    assert first.version.source_sha256 and second.version.diff["added"] == ["extra"]


@pytest.mark.django_db
def test_diff_lists_every_kind_of_change_and_refuses_destructive_ones():
    assert import_dictionary(project_code="ver", source=V1).ok
    v2 = dd_rows(
        RID,
        row("sex", "demo", "radio", "Sex", "1, Man | 3, Other"),  # 1 relabelled, 2 removed, 3 added
        row("age", "demo", "text", "Age in years", text_validation_type_or_show_slider_number="number"),
        row("dob", "demo", "text", "DOB", text_validation_type_or_show_slider_number="date_dmy"),  # same storage
        row("weight", "demo", "text", "Weight"),  # moved form
        row("notes", "demo", "text", "Notes"),  # retyped
        row("height", "demo", "text", "Height"),
    )
    refused = import_dictionary(project_code="ver", source=v2)
    diff = refused.diff
    assert diff["added"] == ["height"] and diff["removed"] == []
    assert diff["retyped"] == [{"field": "notes", "from": "notes", "to": "text"}]
    assert diff["recoded"] == [
        {
            "field": "sex",
            "removed_codes": ["2"],
            "relabelled": [{"code": "1", "from": "Male", "to": "Man"}],
            "added_codes": ["3"],
        }
    ]
    assert [c["field"] for c in diff["validation_changed"]] == ["age", "dob"]
    assert diff["moved"] == [{"field": "weight", "from": "visit", "to": "demo"}]
    assert {"field": "age", "columns": ["Field Label"]} in diff["changed"]
    assert diff["forms_removed"] == ["visit"]
    # Refused: one error per destructive change, pinned to the row and column; dob (ymd -> dmy) is not one.
    assert sorted((e.row, e.letter) for e in refused.errors) == [(3, "F"), (3, "F"), (4, "H"), (7, "D")]
    assert refused.version is None and Project.objects.get(code="ver").current_version.number == 1

    accepted = import_dictionary(project_code="ver", source=v2, confirm_destructive=True)
    assert accepted.ok and accepted.version.number == 2
    assert "destructive changes confirmed" in accepted.version.note
    assert accepted.version.diff["retyped"] == diff["retyped"]


@pytest.mark.django_db
def test_removing_a_field_with_data_is_destructive_only_when_it_has_data():
    assert import_dictionary(project_code="ver", source=V1).ok
    without_notes = dd_rows(
        *[
            r
            for r in (
                RID,
                row("sex", "demo", "radio", "Sex", "1, Male | 2, Female"),
                row("age", "demo", "text", "Age", text_validation_type_or_show_slider_number="integer"),
                row("dob", "demo", "text", "DOB", text_validation_type_or_show_slider_number="date_ymd"),
                row("weight", "visit", "text", "Weight"),
            )
        ]
    )
    refused = import_dictionary(project_code="ver", source=without_notes, dry_run=True)
    assert [(e.row, e.column, "notes" in e.message) for e in refused.errors] == [(None, "Variable / Field Name", True)]

    # The registry tells which fields really hold values: notes has none, so it may go.
    register_data_presence_provider(lambda project: {"record_id", "sex"})
    assert services.fields_with_data(Project.objects.get(code="ver")) == {"record_id", "sex"}
    result = import_dictionary(project_code="ver", source=without_notes)
    assert result.ok and result.diff["removed"] == ["notes"]


@pytest.mark.django_db
def test_dry_run_stores_nothing():
    result = import_dictionary(project_code="dry", source=V1, dry_run=True)
    assert result.ok and result.field_count == 6 and result.diff["added"][0] == "record_id"
    assert not Project.objects.filter(code="dry").exists()


@pytest.mark.django_db
def test_design_is_carried_into_the_next_dictionary_version():
    from forms.design.services import import_design
    from forms.selectors import instruments_for_event

    assert import_dictionary(project_code="carry", source=V1).ok
    assert import_design(project_code="carry", what="events", source=b"event_name,arm_num\nBaseline,1\nWeek 4,1\n").ok
    mapping = b"arm_num,unique_event_name,form\n1,baseline_arm_1,demo\n1,baseline_arm_1,visit\n1,week_4_arm_1,visit\n"
    assert import_design(project_code="carry", what="mapping", source=mapping).ok
    # A new dictionary without form "visit": its mapping goes with a warning; the rest stays.
    result = import_dictionary(project_code="carry", source=dd_rows(RID), confirm_destructive=True)
    assert result.ok and result.version.number == 4
    assert any('"visit" is gone' in w.message for w in result.warnings)
    assert instruments_for_event(result.version, "baseline_arm_1") == ["demo"]
    assert instruments_for_event(result.version, "week_4_arm_1") == []
    assert result.diff["mapping"]["removed"] == ["baseline_arm_1:visit", "week_4_arm_1:visit"]
