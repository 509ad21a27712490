"""Releases: both engines agree, dates keep their intervals, hashes are stable, SPSS/Stata/ODM read back."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pyreadstat
import pytest

from registry.exports import sqlflat
from registry.exports.models import ExportKey
from registry.exports.profiles import date_offset, hash_record_id
from registry.exports.services import ExportOptions, ExportRefused, release_build
from registry.models import FormInstance, Record
from registry.services.design import design_of

DATE_FIELDS_CHECKED = ("enrol_date", "consent_date", "visit_date", "cm_start", "ana_start", "ae_start")


def build(scope, tmp_path, name, **options):
    folder = tmp_path / name
    folder.mkdir()
    result = release_build(scope, ExportOptions(**options), folder)
    return folder, result.manifest


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def secret_of(project):
    return ExportKey.objects.get(project=project).secret


@pytest.mark.skipif(not sqlflat.supported(), reason="the COPY engine needs PostgreSQL")
@pytest.mark.parametrize(
    "options",
    [
        {"profile": "full"},
        {"profile": "full", "raw_or_label": "label"},
        {"profile": "full", "raw_or_label": "label", "export_checkbox_label": True},
        {"profile": "limited"},
        {"profile": "deidentified"},
        {"profile": "deidentified", "date_mode": "study_day"},
        {"profile": "deidentified", "events": ["baseline_arm_1", "logs_arm_1"], "sites": ["b"]},
        {"profile": "full", "instruments": ["biomarker_sample", "conmed"]},
    ],
)
def test_postgresql_copy_and_python_write_the_same_bytes(sojia, tmp_path, options):
    scope = sojia.scope("dm")
    sql_dir, sql_manifest = build(scope, tmp_path, "sql", format="csv", engine="sql", **options)
    py_dir, py_manifest = build(scope, tmp_path, "py", format="csv", engine="python", **options)
    assert sql_manifest["engine"] == "postgresql-copy" and py_manifest["engine"] == "python"
    name = f"sojia_{options['profile']}.csv"
    sql_bytes, py_bytes = (sql_dir / name).read_bytes(), (py_dir / name).read_bytes()
    assert sql_bytes.count(b"\n") > 10
    assert sql_bytes == py_bytes


def test_flat_rows_follow_redcap_layout(sojia, tmp_path):
    folder, manifest = build(sojia.scope("dm"), tmp_path, "full", profile="full", format="csv")
    rows = read_csv(folder / "sojia_full.csv")
    header = list(rows[0])
    assert header[:5] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    assert header.index("enrollment_complete") < header.index("class_date")
    ids = [r["record_id"] for r in rows]
    assert ids == sorted(ids)
    conmed = [r for r in rows if r["redcap_repeat_instrument"] == "conmed"]
    assert conmed and all(r["redcap_event_name"] == "logs_arm_1" and r["redcap_repeat_instance"] for r in conmed)
    assert all(r["enrollment_complete"] == "" for r in conmed)
    baseline = [r for r in rows if r["redcap_event_name"] == "baseline_arm_1" and not r["redcap_repeat_instrument"]]
    assert len(baseline) == Record.objects.filter(project=sojia.project).count()
    assert all(r["enrollment_complete"] in ("0", "1", "2") for r in baseline)
    assert all(r["followup_status_complete"] == "" for r in baseline)  # not designated at baseline
    assert manifest["row_counts"]["sojia_full.csv"] == len(rows)


def test_shifted_dates_keep_intervals_and_hashes_are_stable(sojia, tmp_path):
    scope = sojia.scope("stat")
    full_dir, _ = build(sojia.scope("dm"), tmp_path, "full", profile="full", format="csv")
    one_dir, one = build(scope, tmp_path, "one", profile="deidentified", format="csv")
    two_dir, _two = build(scope, tmp_path, "two", profile="deidentified", format="tidy")
    secret = secret_of(sojia.project)
    full = read_csv(full_dir / "sojia_full.csv")
    shifted = read_csv(one_dir / "sojia_deidentified.csv")
    assert len(full) == len(shifted)
    by_hash = {hash_record_id(secret, r.record_id): r.record_id for r in Record.objects.filter(project=sojia.project)}
    checked = 0
    for original, moved in zip(full, shifted, strict=True):
        assert by_hash[moved["record_id"]] == original["record_id"]
        offset = date_offset(secret, original["record_id"])
        assert 0 <= offset <= 364
        for name in DATE_FIELDS_CHECKED:
            if original.get(name):
                delta = date.fromisoformat(moved[name]) - date.fromisoformat(original[name])
                assert delta.days == offset, (name, original[name], moved[name])
                checked += 1
    assert checked > 50
    offsets = {date_offset(secret, rid) for rid in by_hash.values()}
    assert len(offsets) > 1  # per record, not one offset for everybody
    # The same record has the same hash in another release (another format, later).
    tidy = read_csv(two_dir / "sojia_deidentified_enrollment.csv")
    assert {r["record"] for r in tidy} == {r["record_id"] for r in shifted}
    assert one["columns"][0]["action"] == "hashed"
    actions = {c["name"]: (c["action"], c.get("reason", "")) for c in one["columns"]}
    assert actions["dob"] == ("removed", "identifier field")
    assert actions["biobank_id"] == ("removed", "free text (unvalidated text)")
    assert actions["visit_date"][0] == "shifted" and actions["crp"] == ("kept", "")
    assert actions["redcap_data_access_group"] == ("kept", "")


def test_study_days_count_from_enrolment(sojia, tmp_path):
    folder, manifest = build(
        sojia.scope("stat"), tmp_path, "days", profile="deidentified", format="csv", date_mode="study_day"
    )
    full_dir, _ = build(sojia.scope("dm"), tmp_path, "full", profile="full", format="csv")
    days = read_csv(folder / "sojia_deidentified.csv")
    full = read_csv(full_dir / "sojia_full.csv")
    enrol = {r["record_id"]: date.fromisoformat(r["enrol_date"]) for r in full if r["enrol_date"]}
    checked = 0
    for original, converted in zip(full, days, strict=True):
        for name in ("visit_date", "cm_start", "enrol_date"):
            if original.get(name):
                assert int(converted[name]) == (date.fromisoformat(original[name]) - enrol[original["record_id"]]).days
                checked += 1
    assert checked > 20
    assert {c["name"]: c["action"] for c in manifest["columns"]}["visit_date"] == "study_day"


def test_tidy_tables_keep_missing_codes_apart(sojia, tmp_path):
    instance = FormInstance.objects.filter(record__project=sojia.project, instrument="disease_activity").first()
    instance.data.pop("esr", None)
    instance.missing["esr"] = "ND"
    instance.save()
    folder, manifest = build(sojia.scope("dm"), tmp_path, "tidy", profile="full", format="tidy")
    rows = read_csv(folder / "sojia_full_disease_activity.csv")
    assert list(rows[0])[:4] == ["record", "site", "event", "instance"]
    marked = [r for r in rows if r["esr__missing"] == "ND"]
    assert marked and all(r["esr"] == "" for r in marked)
    assert manifest["row_counts"]["sojia_full_disease_activity.csv"] == len(rows)
    flat_dir, _ = build(sojia.scope("dm"), tmp_path, "flat", profile="full", format="csv")
    assert any(r["esr"] == "ND" for r in read_csv(flat_dir / "sojia_full.csv"))  # REDCap puts codes in the value


def test_spss_and_stata_carry_labels_types_and_user_missing(sojia, tmp_path):
    instance = FormInstance.objects.filter(record__project=sojia.project, instrument="disease_activity").first()
    instance.data.pop("esr", None)
    instance.missing["esr"] = "ND"
    instance.save()
    design = design_of(sojia.project)
    sex = {float(code): label for code, label in design.field_map["sex"].choice_list()}
    for fmt, reader, ext in (("spss", pyreadstat.read_sav, "sav"), ("stata", pyreadstat.read_dta, "dta")):
        folder, _ = build(sojia.scope("stat"), tmp_path, fmt, profile="deidentified", format=fmt)
        frame, meta = reader(str(folder / f"sojia_deidentified.{ext}"), user_missing=True)
        labels = {float(k): v for k, v in meta.variable_value_labels["sex"].items()}
        assert {k: v for k, v in labels.items() if k > -99990} == sex  # the dictionary's value labels
        if fmt == "spss":  # and the missing-data codes, as labelled user-missing values
            assert labels[-99991.0] == "Not applicable" and labels[-99992.0] == "Not done"
        assert meta.column_names_to_labels["sex"] == design.field_map["sex"].label
        assert "dob" not in frame.columns and "name_first" not in frame.columns
        assert frame["wt_kg"].dtype.kind == "f"
        visit = frame["visit_date"].dropna()
        assert len(visit) and all(isinstance(v, date | datetime) for v in visit)
        if fmt == "spss":
            assert -99992.0 in set(frame["esr"].dropna())  # ND, user-missing
            assert meta.missing_ranges["esr"]
        else:
            assert "b" in set(frame["esr"].dropna())  # .b
        assert frame["record_id"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_odm_is_well_formed_and_round_trips(sojia, tmp_path):
    folder, _ = build(sojia.scope("stat"), tmp_path, "odm", profile="deidentified", format="odm")
    flat_dir, _ = build(sojia.scope("stat"), tmp_path, "flat", profile="deidentified", format="csv")
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    root = ET.parse(folder / "sojia_deidentified.xml").getroot()  # noqa: S314 - our own file
    assert root.get("ODMVersion") == "1.3.2"
    assert root.find("odm:Study/odm:MetaDataVersion/odm:ItemDef[@OID='sex']", ns) is not None
    assert root.find("odm:Study/odm:MetaDataVersion/odm:CodeList[@OID='sex.choices']", ns) is not None
    from_odm = {}
    for subject in root.iterfind("odm:ClinicalData/odm:SubjectData", ns):
        for event in subject.iterfind("odm:StudyEventData", ns):
            event_name = event.get("StudyEventOID").removeprefix("Event.")
            for form in event.iterfind("odm:FormData", ns):
                form_name = form.get("FormOID").removeprefix("Form.")
                repeat = form.get("FormRepeatKey") or event.get("StudyEventRepeatKey") or ""
                instrument = form_name if form.get("FormRepeatKey") else ""
                key = (subject.get("SubjectKey"), event_name, instrument, repeat)
                for item in form.iterfind("odm:ItemGroupData/odm:ItemData", ns):
                    value = item.get("Value")
                    if "T" in value and value[:4].isdigit():
                        value = value.replace("T", " ")[:16]
                    from_odm.setdefault(key, {})[item.get("ItemOID")] = value
    flat = {
        (r["record_id"], r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"]): r
        for r in read_csv(flat_dir / "sojia_deidentified.csv")
    }
    assert set(from_odm) == set(flat)
    compared = 0
    for key, items in from_odm.items():
        for name, value in items.items():
            assert flat[key][name] == value, (key, name)
            compared += 1
    assert compared > 500


def test_release_files_match_the_manifest(sojia, tmp_path):
    from registry.exports.metadata import sha256_of

    folder, manifest = build(sojia.scope("stat"), tmp_path, "r", profile="deidentified", format="r")
    names = {f["name"] for f in manifest["files"]}
    assert {"sojia_deidentified.csv", "read_data.R", "data_dictionary.csv", "codebook.html", "schema.json"} <= names
    for entry in manifest["files"]:
        assert sha256_of(folder / entry["name"]) == entry["sha256"]
    on_disk = json.loads((folder / "manifest.json").read_text())
    assert on_disk["profile"] == "deidentified" and on_disk["requested_by"] == sojia.users["stat"].username
    dictionary = list(csv.reader(io.StringIO((folder / "data_dictionary.csv").read_text())))
    assert all(len(row) == 18 for row in dictionary)
    assert "dob" not in {row[0] for row in dictionary} and "record_id" in {row[0] for row in dictionary}
    schema = json.loads((folder / "schema.json").read_text())
    props = schema["files"]["sojia_deidentified.csv"]["properties"]
    assert props["visit_date"]["format"] == "date" and props["visit_date"]["x-action"] == "shifted"
    assert "dob" not in props
    assert "sex" in (folder / "codebook.html").read_text()


def test_statistician_cannot_have_identifiers_and_coordinator_gets_her_site(sojia, tmp_path):
    with pytest.raises(ExportRefused):
        build(sojia.scope("stat"), tmp_path, "full", profile="full", format="csv")
    with pytest.raises(ExportRefused):
        build(sojia.scope("stat"), tmp_path, "limited", profile="limited", format="csv")
    with pytest.raises(ExportRefused):
        build(sojia.scope("coord_a"), tmp_path, "cfull", profile="full", format="csv")
    with pytest.raises(ExportRefused):
        build(sojia.scope("monitor"), tmp_path, "mon", profile="deidentified", format="csv")
    with pytest.raises(ExportRefused):
        build(sojia.scope("coord_a"), tmp_path, "other", profile="limited", format="csv", sites=["b"])
    folder, manifest = build(sojia.scope("coord_a"), tmp_path, "coord", profile="limited", format="csv")
    rows = read_csv(folder / "sojia_limited.csv")
    site_a_ids = set(Record.objects.filter(project=sojia.project, site__code="a").values_list("record_id", flat=True))
    assert rows and {r["redcap_data_access_group"] for r in rows} == {"a"}
    assert {r["record_id"] for r in rows} == site_a_ids
    assert manifest["scope"]["sites"] == ["a"]
    for fmt in ("tidy", "odm"):
        folder, _ = build(sojia.scope("coord_a"), tmp_path, f"coord-{fmt}", profile="deidentified", format=fmt)
        text = "".join(p.read_text(errors="ignore") for p in folder.iterdir() if p.suffix in (".csv", ".xml"))
        other = Record.objects.filter(project=sojia.project, site__code="b").values_list("record_id", flat=True)
        secret = secret_of(sojia.project)
        assert not any(hash_record_id(secret, rid) in text for rid in other)


def test_scope_and_filter_choose_rows_and_columns(sojia, tmp_path):
    folder, manifest = build(
        sojia.scope("dm"),
        tmp_path,
        "sel",
        profile="full",
        format="csv",
        instruments=["enrollment"],
        events=["baseline_arm_1"],
        sites=["a"],
        filter_logic="[sex] = '1'",
    )
    rows = read_csv(folder / "sojia_full.csv")
    assert rows and all(r["sex"] == "1" and r["redcap_data_access_group"] == "a" for r in rows)
    assert {r["redcap_event_name"] for r in rows} == {"baseline_arm_1"}
    assert list(rows[0])[-1] == "enrollment_complete" and "visit_date" not in rows[0]
    assert manifest["engine"] == "python" and manifest["scope"]["filter"] == "[sex] = '1'"
    with pytest.raises(ExportRefused):
        build(sojia.scope("dm"), tmp_path, "bad", profile="full", format="csv", filter_logic="[sex] ==== 1")
