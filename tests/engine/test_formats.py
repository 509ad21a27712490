"""File layouts REDCap and spreadsheets produce: 17 columns, API headers, JSON, BOM, CRLF, bare CR, ; and TAB."""

from __future__ import annotations

import json

import pytest

from forms.dictionary.columns import KEYS
from forms.dictionary.reader import read_dictionary
from forms.dictionary.services import export_dictionary, import_dictionary
from forms.models import Field, Project

from .conftest import HEADER

ROWS = [
    ["record_id", "demo", "", "text", "Record ID"] + [""] * 13,
    ["sex", "demo", "Basics", "radio", "Sex", "0, Female | 1, Male"] + [""] * 12,
    ["note", "demo", "", "notes", "A note, with comma\nand a second line"] + [""] * 12 + ["@HIDDEN"],
]


def _csv(rows, header=HEADER) -> bytes:
    from forms.dictionary.writer import csv_line

    return (header + "".join(csv_line(r) for r in rows)).encode()


def _cells(data: bytes):
    result = read_dictionary(data)
    assert not result.errors, [str(e) for e in result.errors]
    return result, [list(r.cells) for r in result.rows]


def test_label_header_18_columns():
    result, cells = _cells(_csv(ROWS))
    assert result.layout == "labels" and cells == ROWS


def test_17_column_file_reads_by_position_without_annotation():
    header = HEADER.rsplit(',"Field Annotation"', 1)[0] + "\n"
    result, cells = _cells(_csv([r[:17] for r in ROWS], header=header))
    assert result.columns == 17
    assert cells == [[*r[:17], ""] for r in ROWS]


def test_api_header_csv():
    result, cells = _cells(_csv(ROWS, header=",".join(KEYS) + "\n"))
    assert result.layout == "api" and cells == ROWS


def test_api_header_in_another_order_maps_by_name():
    order = list(reversed(KEYS))
    rows = [list(reversed(r)) for r in ROWS]
    _result, cells = _cells(_csv(rows, header=",".join(order) + "\n"))
    assert cells == ROWS


def test_unknown_header_reads_by_position_with_a_warning():
    header = ",".join(f"col{i}" for i in range(18)) + "\n"
    result, cells = _cells(_csv(ROWS, header=header))
    assert result.layout == "positional" and cells == ROWS
    assert "by position" in str(result.warnings[0])


def test_json_metadata():
    data = json.dumps([dict(zip(KEYS, r, strict=True)) for r in ROWS]).encode()
    result, cells = _cells(data)
    assert result.layout == "json" and cells == ROWS


def test_bom_crlf_and_bare_cr():
    plain = _csv(ROWS)
    for variant in (b"\xef\xbb\xbf" + plain, plain.replace(b"\n", b"\r\n"), plain.replace(b"\n", b"\r")):
        _result, cells = _cells(variant)
        # Multi-line cells come back with LF whatever the file used.
        assert cells == ROWS


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters(delimiter):
    from forms.dictionary.columns import LABELS
    from forms.dictionary.writer import csv_line

    data = (csv_line(LABELS, delimiter) + "".join(csv_line(r, delimiter) for r in ROWS)).encode()
    _result, cells = _cells(data)
    assert cells == ROWS


def test_wrong_column_count_is_an_error():
    result = read_dictionary(b"a,b,c\n1,2,3\n")
    assert result.errors and result.errors[0].row == 1 and "3 columns" in result.errors[0].message


def test_extra_cells_in_a_row_are_an_error():
    data = _csv(ROWS) + b"x,demo,,text,X" + b"," * 13 + b",surplus\n"
    result = read_dictionary(data)
    assert [(e.row, "19 cells" in e.message) for e in result.errors] == [(5, True)]


@pytest.mark.django_db
def test_windows_1252_file_is_read_with_a_warning():
    rows = [["record_id", "demo", "", "text", "Caf\u00e9 ID"] + [""] * 13]
    data = _csv(rows).decode().encode("cp1252")
    result = import_dictionary(project_code="enc", source=data)
    assert result.ok and "not UTF-8" in str(result.warnings[0])
    assert Field.objects.get(version__project__code="enc").label == "Caf\u00e9 ID"


@pytest.mark.django_db
def test_export_is_fputcsv_quoting_with_lf_and_json_is_all_strings():
    assert import_dictionary(project_code="fmt", source=_csv(ROWS)).ok
    project = Project.objects.get(code="fmt")
    text = export_dictionary(project)
    assert text.startswith('"Variable / Field Name","Form Name"')
    assert ",Identifier?," in text.splitlines()[0]
    assert 'sex,demo,Basics,radio,Sex,"0, Female | 1, Male"' in text
    assert '"A note, with comma\nand a second line"' in text and "\r" not in text and text.endswith("\n")
    assert export_dictionary(project, excel_safe=True).count('" @HIDDEN"') == 1
    api = export_dictionary(project, api_header=True)
    assert api.splitlines()[0] == ",".join(KEYS)
    items = json.loads(export_dictionary(project, format="json"))
    assert [list(i) for i in items] == [list(KEYS)] * 3
    assert all(isinstance(v, str) for i in items for v in i.values())
    assert items[1]["select_choices_or_calculations"] == "0, Female | 1, Male"


@pytest.mark.django_db
def test_legacy_names_and_flags_are_normalised():
    rows = [
        ["record_id", "demo", "", "text", "ID"] + [""] * 13,
        ["kind", "demo", "", "select", "Kind", "1,A|2,B"] + [""] * 4 + [" Y ", "", "yes", "XX"] + [""] * 4,
        ["age", "demo", "", "text", "Age", "", "", "int", "0", "120"] + [""] * 8,
        ["Visit Date", "demo", "", "textarea", "Visit"] + [""] * 13,
    ]
    result = import_dictionary(project_code="legacy", source=_csv(rows))
    assert result.ok, [str(e) for e in result.errors]
    kind = Field.objects.get(version__project__code="legacy", name="kind")
    assert (kind.field_type, kind.choices, kind.choices_raw) == ("dropdown", [["1", "A"], ["2", "B"]], "1,A | 2,B")
    assert kind.identifier and not kind.required and kind.custom_alignment == ""
    assert Field.objects.get(version__project__code="legacy", name="age").validation == "integer"
    assert Field.objects.get(version__project__code="legacy", name="visit_date").field_type == "notes"
    messages = " ".join(str(w) for w in result.warnings)
    assert '"yes" is not "y"' in messages and '"Visit Date" was read as "visit_date"' in messages
