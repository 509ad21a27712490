"""One small broken dictionary per error case: every error names row, column and problem; nothing is stored."""

from __future__ import annotations

import pytest

from forms.dictionary.services import import_dictionary
from forms.models import Field, Project, ProjectVersion, ValidationType

from .conftest import dd_rows, row

RID = row("record_id", "demo", "text", "Record ID")

# (case id, rows after the record-id row, expected (row, column, message fragment) of the errors)
CASES = [
    (
        "duplicate name",
        [row("age", "demo", "text"), row("age", "demo", "text")],
        [(4, "Variable / Field Name", "duplicate of the variable in row 3")],
    ),
    ("invalid name", [row("2age", "demo", "text")], [(3, "Variable / Field Name", "not a valid variable name")]),
    ("name with symbols", [row("age-years", "demo", "text")], [(3, "Variable / Field Name", "not a valid")]),
    ("reserved name", [row("redcap_event_name", "demo", "text")], [(3, "Variable / Field Name", "reserves")]),
    ("name ends with _", [row("age_", "demo", "text")], [(3, "Variable / Field Name", 'may not end with "_"')]),
    ("missing name", [row("", "demo", "text")], [(3, "Variable / Field Name", "missing")]),
    ("unknown type", [row("age", "demo", "txt")], [(3, "Field Type", '"txt" is not a field type')]),
    ("missing form", [row("age", "", "text")], [(3, "Form Name", "form name is missing")]),
    (
        "malformed choice code",
        [row("sex", "demo", "radio", choices="0, F | a b, M")],
        [(3, "Choices, Calculations, OR Slider Labels", 'choice code "a b"')],
    ),
    (
        "duplicate choice code",
        [row("sex", "demo", "radio", choices="0, F | 0, M")],
        [(3, "Choices, Calculations, OR Slider Labels", "appears twice")],
    ),
    (
        "choice without code",
        [row("sex", "demo", "checkbox", choices="0, F | , M")],
        [(3, "Choices, Calculations, OR Slider Labels", "no code")],
    ),
    (
        "calc without expression",
        [row("bmi", "demo", "calc")],
        [(3, "Choices, Calculations, OR Slider Labels", "need a calculation")],
    ),
    (
        "bad validation name",
        [row("age", "demo", "text", text_validation_type_or_show_slider_number="Not A Type")],
        [(3, "Text Validation Type OR Show Slider Number", "not a validation type name")],
    ),
    (
        "validation on radio",
        [row("sex", "demo", "radio", choices="1, a", text_validation_type_or_show_slider_number="integer")],
        [(3, "Text Validation Type OR Show Slider Number", "not valid for a radio field")],
    ),
    (
        "min without validation",
        [row("age", "demo", "text", text_validation_min="0")],
        [(3, "Text Validation Min", "needs a validation type")],
    ),
    (
        "min not a number",
        [row("age", "demo", "text", text_validation_type_or_show_slider_number="integer", text_validation_min="ten")],
        [(3, "Text Validation Min", '"ten" is not an integer')],
    ),
    (
        "max not a date",
        [
            row(
                "dob",
                "demo",
                "text",
                text_validation_type_or_show_slider_number="date_ymd",
                text_validation_max="2020-13-45",
            )
        ],
        [(3, "Text Validation Max", "not a valid date")],
    ),
    (
        "max below min",
        [
            row(
                "age",
                "demo",
                "text",
                text_validation_type_or_show_slider_number="number",
                text_validation_min="10",
                text_validation_max="2",
            )
        ],
        [(3, "Text Validation Max", "below the minimum")],
    ),
    (
        "min pipes unknown field",
        [
            row(
                "dob",
                "demo",
                "text",
                text_validation_type_or_show_slider_number="date_ymd",
                text_validation_min="[nope]",
            )
        ],
        [(3, "Text Validation Min", "[nope] is not")],
    ),
    (
        "slider bound not integer",
        [row("pain", "demo", "slider", text_validation_min="0.5")],
        [(3, "Text Validation Min", "whole numbers")],
    ),
    (
        "branching syntax error",
        [row("age", "demo", "text", branching_logic="[record_id] = ")],
        [(3, "Branching Logic (Show field only if...)", "syntax error")],
    ),
    (
        "branching unknown field",
        [row("age", "demo", "text", branching_logic="[nope] = '1'")],
        [(3, "Branching Logic (Show field only if...)", "[nope] is not a field")],
    ),
    (
        "branching unknown checkbox code",
        [
            row("cb", "demo", "checkbox", choices="1, A | 2, B"),
            row("age", "demo", "text", branching_logic="[cb(3)] = '1'"),
        ],
        [(4, "Branching Logic (Show field only if...)", '"3" is not a choice code of checkbox cb')],
    ),
    (
        "code on a non-checkbox",
        [
            row("sex", "demo", "radio", choices="1, A | 2, B"),
            row("age", "demo", "text", branching_logic="[sex(1)] = '1'"),
        ],
        [(4, "Branching Logic (Show field only if...)", "only checkbox fields")],
    ),
    (
        "calc unknown field",
        [row("bmi", "demo", "calc", choices="[weight] / 2")],
        [(3, "Choices, Calculations, OR Slider Labels", "[weight] is not a field")],
    ),
    (
        "calctext unknown field",
        [row("lvl", "demo", "text", field_annotation="@CALCTEXT(if([x]=1,'a','b'))")],
        [(3, "Field Annotation", "[x] is not a field")],
    ),
    ("record id not first", [row("age", "demo", "text")], "record-id-moved"),
    ("record id not text", "first-is-radio", [(2, "Field Type", "must be a text field")]),
    (
        "forms not contiguous",
        [row("a", "one", "text"), row("b", "two", "text"), row("c", "demo", "text")],
        [(5, "Form Name", 'form "demo" already ended at row 2')],
    ),
    (
        "matrix mixed types",
        [
            row("m1", "demo", "radio", choices="1, A | 2, B", matrix_group_name="grid"),
            row("m2", "demo", "checkbox", choices="1, A | 2, B", matrix_group_name="grid"),
        ],
        [(4, "Field Type", "mixes radio (row 3) and checkbox")],
    ),
    (
        "matrix differing choices",
        [
            row("m1", "demo", "radio", choices="1, A | 2, B", matrix_group_name="grid"),
            row("m2", "demo", "radio", choices="1, A | 2, C", matrix_group_name="grid"),
        ],
        [(4, "Choices, Calculations, OR Slider Labels", "choices differ from those of row 3")],
    ),
    (
        "matrix of text",
        [row("m1", "demo", "text", matrix_group_name="grid")],
        [(3, "Matrix Group Name", "only radio and checkbox")],
    ),
    (
        "X_complete clash",
        [row("demo_complete", "demo", "text")],
        [(3, "Variable / Field Name", 'clashes with the complete field REDCap creates for form "demo"')],
    ),
    (
        "checkbox column clash",
        [row("cb", "demo", "checkbox", choices="1, A"), row("cb___1", "demo", "text")],
        [(4, "Variable / Field Name", 'data column of a choice of checkbox "cb"')],
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_dictionary_lists_every_error_and_stores_nothing(rows, expected):
    if rows == "first-is-radio":
        rows, first = [], row("record_id", "demo", "radio", choices="1, A")
    else:
        first = RID
    if expected == "record-id-moved":
        assert import_dictionary(project_code="bad", source=dd_rows(RID, row("age", "demo", "text"))).ok
        data, expected = dd_rows(row("age", "demo", "text"), RID), [(3, "Variable / Field Name", "must be the first")]
    else:
        data = dd_rows(first, *rows)
    versions_before = ProjectVersion.objects.count()
    result = import_dictionary(project_code="bad", source=data)
    found = [(e.row, e.column, e.message) for e in result.errors]
    for want_row, want_column, fragment in expected:
        assert any(r == want_row and c == want_column and fragment in m for r, c, m in found), found
        assert any(fragment in str(e) and f"row {want_row}, column" in str(e) for e in result.errors)
    assert result.version is None
    assert ProjectVersion.objects.count() == versions_before


@pytest.mark.django_db
def test_all_errors_are_listed_at_once_and_new_project_is_not_created():
    data = dd_rows(
        RID,
        row("Bad Name!", "demo", "text"),
        row("x", "demo", "nope"),
        row("s", "demo", "radio", choices="1, A | 1, B"),
        row("y", "demo", "text", branching_logic="[zz] = 1"),
    )
    result = import_dictionary(project_code="never", source=data)
    assert sorted(e.row for e in result.errors) == [3, 4, 5, 6]
    assert not Project.objects.filter(code="never").exists()
    assert not Field.objects.exists()


@pytest.mark.django_db
def test_unknown_validation_type_is_a_warning_and_a_placeholder():
    data = dd_rows(RID, row("mrn", "demo", "text", text_validation_type_or_show_slider_number="mrn_8d"))
    result = import_dictionary(project_code="custom", source=data)
    assert result.ok
    assert any("mrn_8d" in w.message and w.row == 3 for w in result.warnings)
    placeholder = ValidationType.objects.get(project__code="custom")
    assert (placeholder.name, placeholder.regex) == ("mrn_8d", "")
    # The second import knows the type: no warning any more.
    assert not any("mrn_8d" in w.message for w in import_dictionary(project_code="custom", source=data).warnings)


@pytest.mark.django_db
def test_long_names_warn_but_import():
    long_name = "a_rather_long_variable_name_x"
    result = import_dictionary(project_code="warn", source=dd_rows(RID, row(long_name, "demo", "text")))
    assert result.ok and any("longer than 26" in w.message for w in result.warnings)


@pytest.mark.django_db
def test_min_max_today_now_and_piped_field_are_accepted_and_dates_normalised():
    data = dd_rows(
        RID,
        row(
            "start",
            "demo",
            "text",
            text_validation_type_or_show_slider_number="date_dmy",
            text_validation_min="1/2/2019",
        ),
        row(
            "end",
            "demo",
            "text",
            text_validation_type_or_show_slider_number="date_ymd",
            text_validation_min="[start]",
            text_validation_max="today",
        ),
        row("at", "demo", "text", text_validation_type_or_show_slider_number="datetime_ymd", text_validation_max="now"),
        row("t", "demo", "text", text_validation_type_or_show_slider_number="time", text_validation_min="6:00"),
    )
    result = import_dictionary(project_code="bounds", source=data)
    assert result.ok, [str(e) for e in result.errors]
    fields = {f.name: f for f in Field.objects.filter(version__project__code="bounds")}
    assert fields["start"].validation_min == "2019-02-01"  # D/M/Y on a dmy field
    assert (fields["end"].validation_min, fields["end"].validation_max) == ("[start]", "today")
    assert fields["t"].validation_min == "06:00"


@pytest.mark.django_db
def test_event_references_are_checked_once_the_project_has_events(tmp_path):
    from forms.design.services import import_design

    assert import_dictionary(project_code="ev", source=dd_rows(RID, row("age", "demo", "text"))).ok
    assert import_design(
        project_code="ev", what="events", source=b"event_name,arm_num,unique_event_name\nBaseline,1,baseline_arm_1\n"
    ).ok
    good = dd_rows(RID, row("age", "demo", "text", branching_logic="[baseline_arm_1][record_id] <> ''"))
    assert import_dictionary(project_code="ev", source=good).ok
    bad = dd_rows(RID, row("age", "demo", "text", branching_logic="[week_9_arm_1][record_id] <> ''"))
    errors = import_dictionary(project_code="ev", source=bad).errors
    assert [(e.row, e.letter) for e in errors] == [(3, "L")]
    assert "[week_9_arm_1] is not an event" in errors[0].message
