"""File-level checks of the SoJIA study definition (fixtures/sojia): REDCap format and internal consistency."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter

import pytest

from .helpers import (
    FIELD_SMART,
    FIXTURES,
    REDCAP_HEADER,
    calctext_of,
    dictionary,
    fields_by_name,
    logic_cells,
    parse_choices,
    read_rows,
    references,
)

CSV_FILES = [
    "data_dictionary.csv",
    "arms.csv",
    "events.csv",
    "instrument_event_mapping.csv",
    "repeating_instruments.csv",
    "dq_rules.csv",
]
FIELD_TYPES = {"text", "notes", "radio", "dropdown", "calc", "file", "checkbox", "yesno", "truefalse", "descriptive"}
VALIDATIONS = {
    "date_ymd",
    "datetime_ymd",
    "time",
    "integer",
    "number",
    "number_1dp",
    "number_2dp",
    "number_3dp",
    "mrn_generic",
}
FUNCTIONS = {
    "if",
    "datediff",
    "round",
    "roundup",
    "rounddown",
    "abs",
    "min",
    "max",
    "sum",
    "isnumber",
    "concat",
}
SPEC_IDENTIFIERS = {"name_first", "name_last", "dob", "mrn", "postcode"}


def fputcsv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\r\n\t '):
        return '"' + value.replace('"', '""') + '"'
    return value


def event_names() -> set[str]:
    return {e["unique_event_name"] for e in read_rows("events.csv")}


# --- REDCap file format ---------------------------------------------------------------------------------------


def test_dictionary_header_is_byte_identical_to_redcap():
    data = (FIXTURES / "data_dictionary.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.split(b"\n", 1)[0] == REDCAP_HEADER.encode()


def test_header_matches_a_real_redcap_export_when_the_corpus_is_available():
    corpus = FIXTURES.parents[2] / "shared" / "corpus" / "data-dictionaries"
    sample = corpus / "OuhscBbmc__REDCapR__longitudinal_dictionary.csv"
    if not sample.exists():
        pytest.skip("shared corpus not present")
    real = sample.read_bytes().lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    assert real == REDCAP_HEADER.encode()


@pytest.mark.parametrize("name", CSV_FILES)
def test_csv_is_written_exactly_as_redcap_exports(name):
    """LF only, final newline, no BOM, UTF-8, and every cell quoted iff fputcsv would quote it."""
    data = (FIXTURES / name).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in data
    assert data.endswith(b"\n") and not data.endswith(b"\n\n")
    text = data.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    width = len(rows[0])
    assert all(len(r) == width for r in rows), name
    rebuilt = "".join(",".join(fputcsv_cell(c) for c in row) + "\n" for row in rows)
    assert rebuilt == text
    assert "\\" not in text  # PHP fputcsv would also quote a backslash; keep them out


def test_every_row_has_18_columns():
    assert all(len(f) == 18 for f in dictionary())


def test_build_script_reproduces_the_committed_files(tmp_path):
    script = FIXTURES / "build_dictionary.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    for name in [*CSV_FILES, "project.json"]:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name


def test_committed_files_and_study_doc_are_up_to_date():
    """--check compares the CSVs, project.json and docs/sojia-study.md with what the script would write."""
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "build_dictionary.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_project_json():
    project = json.loads((FIXTURES / "project.json").read_text())
    assert project == {
        "code": "sojia",
        "title": "Suspected vs established systemic JIA treated early with anakinra",
        "is_longitudinal": True,
        "record_id_field": "record_id",
        "missing_data_codes": "NA, Not applicable | ND, Not done | UNK, Unknown | NASK, Not asked",
    }


# --- data dictionary rules ------------------------------------------------------------------------------------


def test_record_id_first_and_not_an_identifier():
    first = dictionary()[0]
    assert (first["field_name"], first["form_name"], first["field_type"]) == ("record_id", "enrollment", "text")
    assert first["identifier"] == ""


def test_forms_are_contiguous_and_in_spec_order():
    order = []
    for f in dictionary():
        if not order or order[-1] != f["form_name"]:
            assert f["form_name"] not in order, f"form {f['form_name']} reappears"
            order.append(f["form_name"])
    assert order == [
        "enrollment",
        "classification",
        "ddx_workup",
        "micro_test_other",
        "disease_activity",
        "biomarker_sample",
        "anakinra_start",
        "anakinra_period",
        "conmed",
        "followup_status",
        "adverse_event",
    ]


def test_field_names_follow_redcap_rules():
    names = [f["field_name"] for f in dictionary()]
    assert len(names) == len(set(names))
    forms = {f["form_name"] for f in dictionary()}
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*[a-z0-9]", name), name
        assert "___" not in name and len(name) <= 26, name
        assert name not in {f"{form}_complete" for form in forms}, name


def test_types_validations_and_choices():
    for f in dictionary():
        name, ftype = f["field_name"], f["field_type"]
        assert ftype in FIELD_TYPES, name
        if ftype in {"radio", "dropdown", "checkbox"}:
            choices = parse_choices(f["choices"])
            assert len(choices) == len(f["choices"].split("|")), f"duplicate codes in {name}"
            assert " | ".join(f"{c}, {label}" for c, label in choices.items()) == f["choices"], name
            assert all(re.fullmatch(r"-?[A-Za-z0-9._]+", c) for c in choices), name
        elif ftype == "calc":
            assert f["choices"], name
        else:
            assert f["choices"] == "", name
        if f["validation"]:
            assert ftype == "text" and f["validation"] in VALIDATIONS, name
        if f["min"] or f["max"]:
            assert f["validation"], f"{name}: min/max without validation"
            assert "@FORCE-MINMAX" in f["annotation"], f"{name}: hard range must be forced"
        assert f["identifier"] in {"", "y"} and f["required"] in {"", "y"}, name
        if ftype == "descriptive":
            assert f["required"] == "", name


def test_min_max_values_are_typed():
    for f in dictionary():
        for bound in (f["min"], f["max"]):
            if not bound or bound.startswith("["):
                continue
            if f["validation"] == "date_ymd":
                assert bound == "today" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", bound), f["field_name"]
            elif f["validation"] == "datetime_ymd":
                assert bound == "now", f["field_name"]
            else:
                float(bound)
        if f["min"] and f["max"] and not f["min"].startswith("[") and f["validation"].startswith(("number", "int")):
            assert float(f["min"]) < float(f["max"]), f["field_name"]


def test_identifiers_are_exactly_the_spec_phi():
    flagged = {f["field_name"] for f in dictionary() if f["identifier"] == "y"}
    assert flagged == SPEC_IDENTIFIERS


def test_matrix_groups_are_contiguous_with_identical_choices():
    groups: dict[str, list[dict[str, str]]] = {}
    previous = None
    for f in dictionary():
        group = f["matrix_group"]
        if group:
            assert group not in groups or previous == group, f"matrix {group} not contiguous"
            groups.setdefault(group, []).append(f)
        previous = group
    assert set(groups) == {"micro_res", "micro_meth"}
    for rows in groups.values():
        assert {r["field_type"] for r in rows} <= {"radio", "checkbox"}
        assert len({r["field_type"] for r in rows}) == 1 and len({r["choices"] for r in rows}) == 1
        assert len(rows) == 19


def test_calc_fields_carry_nomissing_and_calctext_is_on_text_fields():
    for f in dictionary():
        if f["field_type"] == "calc":
            assert "@NOMISSING" in f["annotation"], f["field_name"]
        if calctext_of(f["annotation"]) is not None:
            assert f["field_type"] == "text", f["field_name"]


def test_checkboxes_with_a_none_option_use_noneoftheabove():
    for name in ("feat_serositis", "ilar_excl"):
        f = fields_by_name()[name]
        assert "0" in parse_choices(f["choices"])
        assert "@NONEOFTHEABOVE='0'" in f["annotation"]


# --- references -----------------------------------------------------------------------------------------------


def test_every_reference_in_logic_exists():
    fields = fields_by_name()
    events = event_names()
    for where, expr in logic_cells():
        refs = references(expr, events)
        for event, name, code in refs:
            if event is not None:
                assert event in events or event.endswith("event-name"), f"{where}: unknown event {event}"
            if name in FIELD_SMART:
                assert code is None, where
                continue
            assert name in fields, f"{where}: unknown field [{name}]"
            if code is not None:
                field = fields[name]
                assert field["field_type"] == "checkbox", f"{where}: [{name}({code})] on a non-checkbox"
                assert code in parse_choices(field["choices"]), f"{where}: no code {code} in {name}"
            else:
                assert fields[name]["field_type"] != "checkbox", f"{where}: checkbox [{name}] without a code"


def test_piped_min_max_and_labels_reference_existing_fields():
    fields = fields_by_name()
    events = event_names()
    piped = [(f["field_name"], b) for f in dictionary() for b in (f["min"], f["max"]) if b.startswith("[")]
    piped += [(r["form_name"], r["custom_form_label"]) for r in read_rows("repeating_instruments.csv")]
    piped += [(e["unique_event_name"], e["custom_event_label"]) for e in read_rows("events.csv")]
    assert piped
    for where, text in piped:
        for _event, name, _code in references(text, events):
            assert name in fields, f"{where}: [{name}]"
    for f in dictionary():
        if f["min"].startswith("["):
            assert fields[f["min"].strip("[]")]["form_name"] == f["form_name"], f["field_name"]


def test_logic_uses_only_redcap_functions_and_balanced_brackets():
    for where, expr in logic_cells():
        bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expr)
        assert bare.count("(") == bare.count(")"), where
        assert bare.count("[") == bare.count("]"), where
        called = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.sub(r"\[[^\]]*\]", "", bare)))
        called -= {"and", "or", "not"}
        assert called <= FUNCTIONS, f"{where}: {called - FUNCTIONS}"
        assert "&&" not in bare and "||" not in bare and "==" not in bare, where


def test_calc_fields_referenced_by_other_calcs_come_first():
    """REDCap computes calcs in field order within a form; a calc should not read a later calc."""
    order = {f["field_name"]: i for i, f in enumerate(dictionary())}
    fields = fields_by_name()
    events = event_names()
    for f in dictionary():
        if f["field_type"] != "calc" and calctext_of(f["annotation"]) is None:
            continue
        expr = f["choices"] if f["field_type"] == "calc" else calctext_of(f["annotation"])
        for event, name, _code in references(expr, events):
            same_form_calc = name in fields and fields[name]["field_type"] == "calc"
            if event is None and same_form_calc and fields[name]["form_name"] == f["form_name"]:
                assert order[name] < order[f["field_name"]], f"{f['field_name']} reads later calc {name}"


# --- events, mapping, repeating set-up ------------------------------------------------------------------------


def test_events_schedule():
    events = read_rows("events.csv")
    assert [e["unique_event_name"] for e in events] == [
        "baseline_arm_1",
        "day_3_arm_1",
        "week_1_arm_1",
        "month_1_arm_1",
        "month_3_arm_1",
        "month_6_arm_1",
        "month_9_arm_1",
        "month_12_arm_1",
        "month_18_arm_1",
        "month_24_arm_1",
        "month_36_arm_1",
        "month_48_arm_1",
        "month_60_arm_1",
        "unscheduled_arm_1",
        "logs_arm_1",
    ]
    arms = {a["arm_num"] for a in read_rows("arms.csv")}
    assert arms == {"1"}
    offsets = [int(e["day_offset"]) for e in events]
    assert offsets == sorted(offsets)
    for e in events:
        assert e["arm_num"] in arms
        expected = re.sub(r"[^a-z0-9]+", "_", e["event_name"].lower()).strip("_") + f"_arm_{e['arm_num']}"
        assert e["unique_event_name"] == expected
    month3 = next(e for e in events if e["unique_event_name"] == "month_3_arm_1")
    assert (month3["day_offset"], month3["offset_min"], month3["offset_max"]) == ("91", "14", "14")


def test_mapping_refers_to_existing_events_and_forms():
    forms = {f["form_name"] for f in dictionary()}
    events = event_names()
    mapping = read_rows("instrument_event_mapping.csv")
    pairs = [(m["unique_event_name"], m["form"]) for m in mapping]
    assert len(pairs) == len(set(pairs))
    assert {m["arm_num"] for m in mapping} == {"1"}
    assert {e for e, _ in pairs} <= events and {f for _, f in pairs} == forms
    by_form: dict[str, set[str]] = {}
    for event, form in pairs:
        by_form.setdefault(form, set()).add(event)
    assert by_form["enrollment"] == by_form["anakinra_start"] == {"baseline_arm_1"}
    assert by_form["adverse_event"] == by_form["conmed"] == by_form["anakinra_period"] == {"logs_arm_1"}
    assert by_form["classification"] == {"baseline_arm_1", "month_6_arm_1", "month_12_arm_1", "unscheduled_arm_1"}
    assert "baseline_arm_1" not in by_form["followup_status"]
    assert len(by_form["disease_activity"]) == 14


def test_repeating_setup_refers_to_mapped_forms():
    mapping = {(m["unique_event_name"], m["form"]) for m in read_rows("instrument_event_mapping.csv")}
    events = event_names()
    repeating = read_rows("repeating_instruments.csv")
    whole_events = {r["event_name"] for r in repeating if r["form_name"] == ""}
    assert whole_events == {"unscheduled_arm_1"}
    for r in repeating:
        assert r["event_name"] in events
        if r["form_name"]:
            assert (r["event_name"], r["form_name"]) in mapping
            assert r["event_name"] not in whole_events  # a repeating event already repeats its forms
    repeated_forms = {r["form_name"] for r in repeating if r["form_name"]}
    assert repeated_forms == {"anakinra_period", "conmed", "adverse_event", "biomarker_sample", "micro_test_other"}


# --- data-quality rules ---------------------------------------------------------------------------------------


def test_dq_rules():
    rules = read_rows("dq_rules.csv")
    assert len(rules) >= 20
    names = [r["rule_name"] for r in rules]
    assert len(names) == len(set(names))
    assert Counter(n[:3] for n in names if re.match(r"R\d\d ", n)) == {f"R{i:02d}": 1 for i in range(1, 21)}
    assert all(r["real_time_execution"] in {"y", "n"} for r in rules)
    assert all(r["rule_logic"].strip() for r in rules)


def test_event_names_in_logic_are_real_events():
    events = event_names()
    for where, expr in logic_cells():
        for event, _name, _code in references(expr, events):
            assert event is None or event in events or event == "previous-event-name", where
        for literal in re.findall(r"\[event-name\]\s*=\s*'([^']+)'", expr):
            assert literal in events, where
