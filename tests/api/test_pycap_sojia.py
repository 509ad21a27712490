"""The real PyCap package against the longitudinal SoJIA study: events, arms, mappings, repeating events
and instruments, DataFrame indexes, filters and imports."""

from __future__ import annotations

import pytest
from redcap import Project, RedcapError

from registry.models import FormInstance, Record

BASELINE = "baseline_arm_1"


@pytest.fixture
def dm(sojia) -> Project:
    return Project(sojia.url, sojia.tokens["dm"])


@pytest.fixture
def seeded(sojia):
    sojia.seed(
        [
            {"record_id": "AAA-0001", "redcap_event_name": BASELINE, "redcap_data_access_group": "a",
             "sex": "2", "dob": "2016-05-04", "name_first": "Synthetic", "enrollment_complete": "1"},
            {"record_id": "AAA-0001", "redcap_event_name": BASELINE, "wt_kg": "22.5", "esr": "40"},
            {"record_id": "AAA-0001", "redcap_event_name": "month_3_arm_1", "wt_kg": "23.0"},
            {"record_id": "AAA-0001", "redcap_event_name": "unscheduled_arm_1", "redcap_repeat_instance": "1",
             "wt_kg": "22.8"},
            {"record_id": "AAA-0001", "redcap_event_name": "unscheduled_arm_1", "redcap_repeat_instance": "2",
             "wt_kg": "22.9"},
            {"record_id": "AAA-0001", "redcap_event_name": "logs_arm_1", "redcap_repeat_instrument": "conmed",
             "redcap_repeat_instance": "1", "cm_drug": "1", "cm_indication": "1"},
            {"record_id": "BBB-0001", "redcap_event_name": BASELINE, "redcap_data_access_group": "b", "sex": "1"},
        ]
    )  # fmt: skip
    return sojia


def test_longitudinal_design_contents(sojia, dm):
    assert dm.is_longitudinal is True
    events = dm.export_events()
    assert events[0]["unique_event_name"] == BASELINE and events[0]["event_name"] == "Baseline"
    assert isinstance(events[0]["arm_num"], int) and isinstance(events[0]["event_id"], int)
    assert len(events) == 15
    arms = dm.export_arms()
    assert len(arms) == 1 and arms[0]["arm_num"] == 1 and isinstance(arms[0]["name"], str)
    mapping = dm.export_instrument_event_mappings()
    assert {"arm_num": 1, "unique_event_name": "logs_arm_1", "form": "conmed"} in mapping
    repeating = dm.export_repeating_instruments_events()
    assert {"event_name": "unscheduled_arm_1", "form_name": "", "custom_form_label": ""} in repeating
    assert {"event_name": "logs_arm_1", "form_name": "conmed", "custom_form_label": "[cm_drug] from [cm_start]"} in (
        repeating
    )
    info = dm.export_project_info()
    assert info["is_longitudinal"] == 1 and info["missing_data_codes"].startswith("NA, Not applicable")
    response = sojia.post(content="formEventMapping", format="csv")
    assert response.text.splitlines()[0] == "arm_num,unique_event_name,form"


def test_longitudinal_rows_and_dataframe_index(seeded, dm):
    rows = dm.export_records(records=["AAA-0001"])
    assert list(rows[0])[:5] == ["record_id", "redcap_event_name", "redcap_repeat_instrument",
                                 "redcap_repeat_instance", "site_id"]  # fmt: skip
    keys = [(r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) for r in rows]
    assert keys == [
        (BASELINE, "", ""),
        ("month_3_arm_1", "", ""),
        ("unscheduled_arm_1", "", 1),
        ("unscheduled_arm_1", "", 2),
        ("logs_arm_1", "conmed", 1),
    ]
    baseline, month3 = rows[0], rows[1]
    assert baseline["wt_kg"] == "22.5" and month3["wt_kg"] == "23.0"
    assert baseline["enrollment_complete"] == "1" and month3["enrollment_complete"] == ""  # not designated at M3
    df = dm.export_records(format_type="df")
    assert df.index.names == ["record_id", "redcap_event_name"]
    assert len(df.loc["AAA-0001"]) == 5


def test_event_filters_labels_and_dags(seeded, dm):
    only = dm.export_records(events=["month_3_arm_1"])
    assert [(r["record_id"], r["redcap_event_name"]) for r in only] == [("AAA-0001", "month_3_arm_1")]
    labelled = dm.export_records(raw_or_label="label", records=["AAA-0001"], fields=["record_id", "sex"])
    assert labelled[0]["redcap_event_name"] == "Baseline" and labelled[0]["sex"] == "Female"
    with pytest.raises(RedcapError, match="events"):
        dm.export_records(events=["month_99_arm_1"])
    logic = dm.export_records(filter_logic="[wt_kg] > 22.85", fields=["record_id", "wt_kg"])
    assert {(r["redcap_event_name"], r["redcap_repeat_instance"]) for r in logic} == {
        ("month_3_arm_1", ""),
        ("unscheduled_arm_1", 2),
    }


def test_statistician_and_coordinator_scopes(seeded, sojia):
    stat = Project(sojia.url, sojia.tokens["stat"]).export_records()
    assert "dob" not in stat[0] and "name_first" not in stat[0] and "sex" in stat[0]
    coord_b = Project(sojia.url, sojia.tokens["coord_b"]).export_records()
    assert {r["record_id"] for r in coord_b} == {"BBB-0001"}


def test_longitudinal_imports_events_instances_and_errors(seeded, dm):
    count = dm.import_records(
        [
            {"record_id": "AAA-0001", "redcap_event_name": "unscheduled_arm_1", "redcap_repeat_instance": "new",
             "wt_kg": "23.1"},
            {"record_id": "AAA-0001", "redcap_event_name": "logs_arm_1", "redcap_repeat_instrument": "conmed",
             "redcap_repeat_instance": "new", "cm_drug": "2", "cm_indication": "2"},
        ]
    )  # fmt: skip
    assert count == {"count": 1}
    record = Record.objects.get(record_id="AAA-0001")
    instances = FormInstance.objects.filter(record=record, event="unscheduled_arm_1", instrument="disease_activity")
    assert sorted(instances.values_list("instance", flat=True)) == [1, 2, 3]
    assert FormInstance.objects.get(record=record, instrument="conmed", instance=2).data["cm_drug"] == "2"
    with pytest.raises(RedcapError) as caught:
        dm.import_records([
            {"record_id": "AAA-0001", "redcap_event_name": "logs_arm_1", "sex": "1"},
            {"record_id": "AAA-0001", "wt_kg": "20"},
            {"record_id": "AAA-0001", "redcap_event_name": "logs_arm_1", "cm_drug": "1"},
        ])  # fmt: skip
    message = caught.value.args[0]["error"]  # PyCap raises with the parsed error object
    assert (
        'record "AAA-0001", event "logs_arm_1", field "sex", value "1": the form \'enrollment\' is not used' in message
    )
    assert "give the event (redcap_event_name)" in message
    assert "'conmed' repeats: give redcap_repeat_instrument" in message
    assert FormInstance.objects.get(record=record, event=BASELINE, instrument="enrollment").data["sex"] == "2"


def test_force_auto_number_in_the_longitudinal_study(seeded, sojia):
    coord_a = Project(sojia.url, sojia.tokens["coord_a"])
    ids = coord_a.import_records([{"record_id": "x", "redcap_event_name": BASELINE, "sex": "1"}],
                                 force_auto_number=True, return_content="auto_ids")  # fmt: skip
    assert ids == ["AAA-0002,x"]
    assert coord_a.generate_next_record_name() == "AAA-0003"
