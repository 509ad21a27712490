"""The flat record format shared by the exports and the API (REDCap API contract section 5)."""

from __future__ import annotations

import pytest

from registry.exports.flat import FlatFormatError, flat_columns, iter_flat_rows
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"


@pytest.fixture
def classic(db):
    return build_world(project=import_classic())


def test_classic_columns_follow_redcap_order(classic):
    design = design_of(classic.project)
    names = [c.name for c in flat_columns(design)]
    assert names == [
        "record_id",
        "name",
        "age",
        "consent",
        "consent_date",
        "weight",
        "height",
        "bmi",
        "symptoms___1",
        "symptoms___2",
        "symptoms____9",
        "rash_site",
        "demographics_complete",
        "crp",
        "esr",
        "labs_complete",
    ]
    with_dag = [c.name for c in flat_columns(design, include_dag=True)]
    assert with_dag[:2] == ["record_id", "redcap_data_access_group"]


def test_field_and_form_selection(classic):
    design = design_of(classic.project)
    assert [c.name for c in flat_columns(design, fields=["age", "labs_complete"])] == ["age", "labs_complete"]
    assert [c.name for c in flat_columns(design, fields=["symptoms"])] == [
        "symptoms___1",
        "symptoms___2",
        "symptoms____9",
    ]
    assert [c.name for c in flat_columns(design, fields=["symptoms___2"])] == ["symptoms___2"]
    assert [c.name for c in flat_columns(design, forms=["labs"])] == ["crp", "esr", "labs_complete"]
    assert flat_columns(design, forms=["demographics"])[0].name == "record_id"
    with pytest.raises(FlatFormatError):
        flat_columns(design, fields=["nope"])


def test_classic_rows_raw_and_label(classic):
    scope = classic.scope("coord_a")
    record = record_create(scope=scope)
    form_save(
        scope=scope,
        record=record,
        event=EVENT,
        instrument="demographics",
        values={
            "name": "Ann",
            "age": "7",
            "consent": "1",
            "consent_date": "2024-01-02",
            "symptoms___2": "1",
            "rash_site": "arm, leg",
        },
        status=2,
    )
    other = record_create(scope=classic.scope("coord_b"))
    form_save(
        scope=classic.scope("coord_b"),
        record=other,
        event=EVENT,
        instrument="labs",
        values={"crp": "12"},
        missing={"esr": "UNK"} if False else None,
    )
    design = design_of(classic.project)
    columns = flat_columns(design, include_dag=True)
    rows = list(iter_flat_rows(classic.scope("dm"), design, columns=columns))
    assert [r["record_id"] for r in rows] == [record.record_id, other.record_id]
    first = rows[0]
    assert first["redcap_data_access_group"] == "a"
    assert first["symptoms___1"] == "0" and first["symptoms___2"] == "1"
    assert first["demographics_complete"] == "2" and first["labs_complete"] == "0"
    assert first["crp"] == "" and first["rash_site"] == "arm, leg"
    second = rows[1]
    assert second["demographics_complete"] == "0" and second["crp"] == "12" and second["symptoms___1"] == "0"
    labels = list(iter_flat_rows(classic.scope("dm"), design, columns=columns, raw_or_label="label"))
    assert labels[0]["consent"] == "Yes" and labels[0]["symptoms___2"] == "Checked"
    assert labels[0]["demographics_complete"] == "Complete" and labels[0]["redcap_data_access_group"] == "Hospital A"
    cb = list(
        iter_flat_rows(classic.scope("dm"), design, columns=columns, raw_or_label="label", export_checkbox_label=True)
    )
    assert cb[0]["symptoms___2"] == "Rash" and cb[0]["symptoms___1"] == ""
    # site scoping and filters
    assert [r["record_id"] for r in iter_flat_rows(classic.scope("coord_b"), design, columns=columns)] == [
        other.record_id
    ]
    filtered = list(iter_flat_rows(classic.scope("dm"), design, columns=columns, filter_logic="[age] >= 5"))
    assert [r["record_id"] for r in filtered] == [record.record_id]
    with pytest.raises(FlatFormatError):
        list(iter_flat_rows(classic.scope("dm"), design, columns=columns, filter_logic="[age] >>> 5"))
