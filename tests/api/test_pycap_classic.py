"""The real PyCap package against a live server, on a classic project with a repeating form and two sites."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from redcap import Project, RedcapError

from registry.api.models import StoredFile
from registry.models import AuditEvent, FormInstance, Record

CHECKBOXES = ["symptoms___1", "symptoms___2", "symptoms____9"]


@pytest.fixture
def dm(classic) -> Project:
    return Project(classic.url, classic.tokens["dm"])


@pytest.fixture
def seeded(classic):
    classic.seed(
        [
            {"record_id": "AAA-0001", "redcap_data_access_group": "a", "name": "Ann Synthetic", "dob": "2015-03-01",
             "age": "9", "consent": "1", "consent_date": "2025-01-10", "weight": "30", "height": "130",
             "symptoms___1": "1", "symptoms____9": "0", "demographics_complete": "2"},
            {"record_id": "AAA-0001", "redcap_repeat_instrument": "labs", "redcap_repeat_instance": "1", "crp": "12.5"},
            {"record_id": "AAA-0001", "redcap_repeat_instrument": "labs", "redcap_repeat_instance": "2", "crp": "3"},
            {"record_id": "BBB-0001", "redcap_data_access_group": "b", "name": "Bob Synthetic", "age": "4",
             "consent": "0"},
        ]
    )  # fmt: skip
    return classic


def test_project_basics_metadata_and_dataframes(seeded, dm):
    assert str(dm.export_version()) == "14.5.10"
    assert dm.is_longitudinal is False
    assert dm.def_field == "record_id"
    assert "consent_doc" in dm.field_names and set(dm.forms) == {"demographics", "labs"}
    meta = dm.export_metadata(format_type="df")
    assert meta.index.name == "field_name" and meta.loc["symptoms", "field_type"] == "checkbox"
    assert [r["instrument_name"] for r in dm.export_instruments()] == ["demographics", "labs"]
    names = dm.export_field_names()
    exported = [n["export_field_name"] for n in names]
    assert exported[exported.index("symptoms___1") : exported.index("symptoms___1") + 3] == CHECKBOXES
    assert "consent_doc" not in exported and "labs_intro" not in exported
    assert "demographics_complete" in exported and "labs_complete" in exported
    assert dm.export_repeating_instruments_events() == [{"form_name": "labs", "custom_form_label": ""}]
    df = dm.export_records(format_type="df")
    assert df.index.name == "record_id"
    assert list(df.columns[:3]) == ["redcap_repeat_instrument", "redcap_repeat_instance", "name"]
    assert len(df.loc["AAA-0001"]) == 3  # the base row and two lab instances


def test_flat_json_columns_values_and_types(seeded, dm):
    rows = dm.export_records()
    first = rows[0]
    columns = list(first)
    assert columns[:4] == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "name"]
    assert columns.index("demographics_complete") < columns.index("crp") < columns.index("labs_complete")
    assert columns[columns.index("symptoms___1") : columns.index("symptoms___1") + 3] == CHECKBOXES
    assert "labs_intro" not in columns and columns[-1] == "labs_complete"
    base = next(r for r in rows if r["record_id"] == "AAA-0001" and r["redcap_repeat_instrument"] == "")
    assert base["redcap_repeat_instance"] == "" and base["dob"] == "2015-03-01"
    assert base["bmi"] == "17.8" and base["symptoms___1"] == "1" and base["symptoms___2"] == "0"
    assert base["demographics_complete"] == "2"
    labs = [r for r in rows if r["redcap_repeat_instrument"] == "labs"]
    assert [(r["redcap_repeat_instance"], r["crp"]) for r in labs] == [(1, "12.5"), (2, "3")]
    assert all(isinstance(v, str) for r in rows for k, v in r.items() if k != "redcap_repeat_instance")


def test_labels_checkbox_labels_and_label_headers(seeded, dm, classic):
    rows = dm.export_records(raw_or_label="label", records=["AAA-0001"])
    base = rows[0]
    assert base["consent"] == "Yes" and base["symptoms___1"] == "Checked" and base["symptoms___2"] == "Unchecked"
    assert base["demographics_complete"] == "Complete"
    assert rows[1]["redcap_repeat_instrument"] == "Labs"
    labelled = dm.export_records(raw_or_label="label", export_checkbox_labels=True, records=["AAA-0001"])
    assert labelled[0]["symptoms___1"] == "Fever" and labelled[0]["symptoms___2"] == ""
    wanted = {"records[0]": "AAA-0001", "fields[0]": "record_id", "fields[1]": "symptoms"}
    response = classic.post(content="record", format="csv", rawOrLabel="label", rawOrLabelHeaders="label", **wanted)
    header = response.text.splitlines()[0]
    assert header.startswith('"Record ID","Repeat Instrument","Repeat Instance",')  # PHP fputcsv quotes spaces
    assert '"Symptoms (choice=Fever)"' in header


def test_record_filters(seeded, dm):
    assert {r["record_id"] for r in dm.export_records(records=["BBB-0001"])} == {"BBB-0001"}
    only = dm.export_records(fields=["age"], records=["AAA-0001"])
    assert list(only[0]) == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "age"]
    by_form = dm.export_records(forms=["labs"])
    assert set(by_form[0]) == {"record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "crp", "esr",
                               "labs_complete"}  # fmt: skip
    filtered = dm.export_records(filter_logic="[age] > 5")
    assert {r["record_id"] for r in filtered} == {"AAA-0001"}
    with pytest.raises(RedcapError):
        dm.export_records(filter_logic="[age] >>> 5")
    with pytest.raises(RedcapError, match=r"parameter \"fields\" are not valid: .*nope"):
        dm.export_records(fields=["nope"])
    assert dm.export_records(date_begin=pd.Timestamp("2100-01-01").to_pydatetime()) == []
    assert len(dm.export_records(date_begin=pd.Timestamp("2000-01-01").to_pydatetime())) == 4
    dags = dm.export_records(export_data_access_groups=True, fields=["age"])
    assert list(dags[0])[3] == "redcap_data_access_group"
    assert {(r["record_id"], r["redcap_data_access_group"]) for r in dags} >= {("AAA-0001", "a"), ("BBB-0001", "b")}


def test_csv_and_eav_and_xml_exports(seeded, dm, classic):
    text = dm.export_records(format_type="csv", records=["BBB-0001"], fields=["record_id", "name", "age"])
    assert text.splitlines() == [
        "record_id,redcap_repeat_instrument,redcap_repeat_instance,name,age",
        'BBB-0001,,,"Bob Synthetic",4',
    ]
    eav = dm.export_records(record_type="eav", records=["BBB-0001"], fields=["age", "consent"])
    assert {(e["record"], e["field_name"], e["value"]) for e in eav} >= {("BBB-0001", "age", "4"),
                                                                        ("BBB-0001", "consent", "0")}  # fmt: skip
    xml = classic.post(content="record", format="xml", **{"records[0]": "BBB-0001"})
    assert xml.headers["Content-Type"].startswith("text/xml")
    assert "<record_id><![CDATA[BBB-0001]]></record_id>" in xml.text
    semi = classic.post(content="record", format="csv", csvDelimiter=";", **{"fields[0]": "weight"})
    assert semi.text.splitlines()[0] == "redcap_repeat_instrument;redcap_repeat_instance;weight"
    comma = classic.post(content="record", format="json", decimalCharacter=",", **{"records[0]": "AAA-0001"})
    assert comma.json()[0]["bmi"] == "17,8"


def test_site_coordinator_sees_and_writes_only_her_site(seeded, classic):
    coord_a = Project(classic.url, classic.tokens["coord_a"])
    assert {r["record_id"] for r in coord_a.export_records()} == {"AAA-0001"}
    with pytest.raises(RedcapError, match="site you cannot write to"):
        coord_a.import_records([{"record_id": "BBB-0001", "age": "5"}])
    assert FormInstance.objects.get(record__record_id="BBB-0001", instrument="demographics").data["age"] == "4"
    with pytest.raises(RedcapError, match="assigned to a Data Access Group"):
        coord_a.export_dags()


def test_statistician_gets_the_deidentified_view_and_cannot_write(seeded, classic):
    stat = Project(classic.url, classic.tokens["stat"])
    rows = stat.export_records()
    assert "name" not in rows[0] and "dob" not in rows[0] and "age" in rows[0]
    # The exports' de-identified profile: keyed hashes instead of record ids, shifted dates.
    assert {r["record_id"] for r in rows}.isdisjoint({"AAA-0001", "BBB-0001"})
    assert all(len(r["record_id"]) == 16 for r in rows)
    consent_dates = {r["consent_date"] for r in rows} - {""}
    assert len(consent_dates) == 1 and consent_dates != {"2025-01-10"}
    assert stat.export_records(fields=["name", "age"])[0].keys() >= {"age"}
    assert "name" not in stat.export_records(fields=["name", "age"])[0]
    with pytest.raises(RedcapError, match="API Import/Update privileges"):
        stat.import_records([{"record_id": "AAA-0001", "age": "10"}])
    with pytest.raises(RedcapError, match="Logging"):
        stat.export_logging()


def test_import_valid_counts_distinct_records_and_returns_ids(classic, dm):
    rows = [
        {"record_id": "AAA-0007", "redcap_data_access_group": "a", "age": "7", "weight": "25", "height": "120"},
        {"record_id": "AAA-0007", "redcap_repeat_instrument": "labs", "redcap_repeat_instance": "1", "crp": "4"},
        {"record_id": "AAA-0007", "redcap_repeat_instrument": "labs", "redcap_repeat_instance": "new", "crp": "5"},
        {"record_id": "BBB-0009", "redcap_data_access_group": "b", "age": "3"},
    ]
    assert dm.import_records(rows) == {"count": 2}
    form = FormInstance.objects.get(record__record_id="AAA-0007", instrument="demographics")
    assert form.data["bmi"] == "17.4"  # calculated on import, as on the web form
    assert Record.objects.get(record_id="BBB-0009").site.code == "b"
    assert sorted(FormInstance.objects.filter(instrument="labs").values_list("instance", flat=True)) == [1, 2]
    assert AuditEvent.objects.filter(record_id="AAA-0007", field="age", source="api").exists()
    assert dm.import_records([{"record_id": "AAA-0007", "esr": "20",
                               "redcap_repeat_instrument": "labs", "redcap_repeat_instance": "1"}],
                             return_content="ids") == ["AAA-0007"]  # fmt: skip


def test_invalid_import_names_record_event_field_value_and_changes_nothing(seeded, dm):
    before = AuditEvent.objects.count()
    with pytest.raises(RedcapError) as caught:
        dm.import_records([
            {"record_id": "AAA-0001", "age": "9"},
            {"record_id": "AAA-0002", "redcap_data_access_group": "a", "age": "seven"},
            {"record_id": "AAA-0003", "redcap_data_access_group": "a", "consent": "5", "dob": "not-a-date"},
        ])  # fmt: skip
    message = str(caught.value)
    assert 'record "AAA-0002", event "event_1_arm_1", field "age", value "seven"' in message
    assert 'field "consent", value "5"' in message
    assert 'field "dob", value "(identifier hidden)"' in message and "not-a-date" not in message
    assert not Record.objects.filter(record_id__in=["AAA-0002", "AAA-0003"]).exists()
    assert AuditEvent.objects.count() == before + 0
    with pytest.raises(RedcapError, match=r"field \"nonsense\": .*nonsense.* is not a field of this project"):
        dm.import_records([{"record_id": "AAA-0001", "nonsense": "1"}])


def test_csv_import_date_format_and_overwrite(seeded, dm, classic):
    FormInstance.objects.filter(record__record_id="AAA-0001").update(status=1)  # not complete: no reason needed
    csv_data = "record_id,dob,weight\nAAA-0001,31/12/2014,\n"
    assert dm.import_records(csv_data, import_format="csv", date_format="DMY") == {"count": 1}
    form = FormInstance.objects.get(record__record_id="AAA-0001", instrument="demographics")
    assert form.data["dob"] == "2014-12-31" and form.data["weight"] == "30"  # normal: a blank does not erase
    response = classic.post(content="record", format="csv", returnFormat="json", overwriteBehavior="overwrite",
                            data="record_id,weight\nAAA-0001,\n")  # fmt: skip
    assert response.json() == {"count": 1}, response.text
    form.refresh_from_db()
    assert "weight" not in form.data and "bmi" not in form.data


def test_force_auto_number_gives_site_prefixed_ids(seeded, classic):
    coord_b = Project(classic.url, classic.tokens["coord_b"])
    ids = coord_b.import_records([{"record_id": "temp-1", "age": "6"}, {"record_id": "temp-2", "age": "8"}],
                                 force_auto_number=True, return_content="auto_ids")  # fmt: skip
    assert ids == ["BBB-0002,temp-1", "BBB-0003,temp-2"]
    assert Record.objects.get(record_id="BBB-0003").site.code == "b"
    assert coord_b.generate_next_record_name() == "BBB-0004"


def test_delete_records_all_or_nothing(seeded, dm, classic):
    with pytest.raises(RedcapError, match=r"do not exist in the project\. The following records do not exist: ZZZ"):
        dm.delete_records(["AAA-0001", "ZZZ"])
    assert Record.objects.filter(record_id="AAA-0001").exists()
    response = classic.post(content="record", action="delete", returnFormat="json", records="AAA-0001")
    assert "must be passed as an array" in response.json()["error"]
    coord = Project(classic.url, classic.tokens["coord_a"])
    with pytest.raises(RedcapError, match="Delete Record privileges"):
        coord.delete_records(["AAA-0001"])
    assert dm.delete_records(["AAA-0001"]) == 1
    assert not Record.objects.filter(record_id="AAA-0001").exists()
    assert AuditEvent.objects.filter(action="record_deleted", record_id="AAA-0001", field="age", old_value="9").exists()


def test_logging_details_hold_old_and_new_values(seeded, dm):
    dm.import_records([{"record_id": "BBB-0001", "age": "5"}])
    log = dm.export_logging(record="BBB-0001")
    assert set(log[0]) >= {"timestamp", "username", "action", "details", "record"}
    update = log[0]
    assert update["action"] == "Update record BBB-0001" and update["username"] == "classic_dm"
    assert "age = '5' (was '4')" in update["details"]
    created = dm.export_logging(log_type="record_add")
    assert {e["record"] for e in created} == {"AAA-0001", "BBB-0001"}
    assert dm.export_logging(user="nobody") == []


def test_files_import_export_delete(seeded, dm, classic):
    # BBB-0001's form is incomplete; on a complete form an upload needs a reason, like any change.
    dm.import_file("BBB-0001", "consent_doc", "consent scan.pdf", io.BytesIO(b"%PDF-1.4 synthetic"))
    content, headers = dm.export_file("BBB-0001", "consent_doc")
    assert content == b"%PDF-1.4 synthetic" and headers["name"] == "consent scan.pdf"
    assert dm.export_records(records=["BBB-0001"], fields=["consent_doc"])[0]["consent_doc"] == "consent scan.pdf"
    raw = classic.post(content="file", action="export", record="BBB-0001", field="consent_doc")
    assert raw.headers["Content-Type"] == 'application/pdf; name="consent scan.pdf"'
    missing = classic.post(content="file", action="export", record="AAA-0001", field="consent_doc")
    assert missing.status_code == 400 and "<error>There is no file to download" in missing.text
    wrong = classic.post(content="file", action="export", record="BBB-0001", field="age")
    assert "is not a 'file' field" in wrong.text
    dm.delete_file("BBB-0001", "consent_doc")
    assert not StoredFile.objects.exists()
    assert "consent_doc" not in FormInstance.objects.get(record__record_id="BBB-0001", instrument="demographics").data


def test_dags_users_and_mappings(seeded, dm):
    dags = dm.export_dags()
    assert [(d["data_access_group_name"], d["unique_group_name"]) for d in dags] == [("Hospital A", "a"),
                                                                                     ("Hospital B", "b")]  # fmt: skip
    assert all(isinstance(d["data_access_group_id"], int) for d in dags)
    mapping = {m["username"]: m["redcap_data_access_group"] for m in dm.export_user_dag_assignment()}
    assert mapping["classic_coord_a"] == "a" and mapping["classic_dm"] == ""
    users = {u["username"]: u for u in dm.export_users()}
    assert users["classic_stat"]["api_export"] == 1 and users["classic_stat"]["api_import"] == 0
    assert users["classic_stat"]["forms_export"]["demographics"] == 2  # de-identified


def test_metadata_import_makes_a_new_version_and_refuses_destructive_changes(classic, dm):
    metadata = dm.export_metadata()
    version = classic.project.current_version.number
    added = dict(metadata[-1], field_name="ferritin", field_label="Ferritin (ng/mL)")
    assert dm.import_metadata([*metadata, added]) == len(metadata) + 1
    classic.project.refresh_from_db()
    assert classic.project.current_version.number == version + 1
    classic.seed([{"record_id": "AAA-0001", "redcap_data_access_group": "a", "age": "9"}])
    without_age = [m for m in metadata if m["field_name"] != "age"] + [added]
    with pytest.raises(RedcapError, match="age"):
        dm.import_metadata(without_age)
    classic.project.refresh_from_db()
    assert classic.project.current_version.number == version + 1


def test_pycap_corrects_a_complete_form_audited_as_an_api_import(seeded, dm, classic):
    assert dm.import_records([{"record_id": "AAA-0001", "weight": "31"}]) == {"count": 1}
    row = AuditEvent.objects.filter(record_id="AAA-0001", field="weight").latest("sequence")
    assert (row.old_value, row.new_value, row.reason, row.source) == ("30", "31", "API import", "api")
    response = classic.post(content="record", format="json", data='[{"record_id":"AAA-0001","weight":"32"}]',
                            reason="scale recalibrated")  # fmt: skip
    assert response.json() == {"count": 1}
    row = AuditEvent.objects.filter(record_id="AAA-0001", field="weight").latest("sequence")
    assert (row.old_value, row.new_value, row.reason) == ("31", "32", "scale recalibrated")
