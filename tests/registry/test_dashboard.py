"""The record status dashboard: statuses, filters, pagination and a query count independent of size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.services.entry import SaveConflict, form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"


@pytest.fixture
def world(db):
    return build_world(project=import_classic())


def enrol(world, n, status=None):
    records = []
    for _ in range(n):
        record = record_create(scope=world.scope("coord_a"))
        if status is not None:
            form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
                      values={"age": "5"}, status=status)  # fmt: skip
        records.append(record)
    return records


def dashboard_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/projects/classic/records/", params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_query_count_does_not_grow_with_records(client, world):
    client.force_login(world.users["monitor"])
    enrol(world, 3, status=1)
    small = dashboard_queries(client)
    enrol(world, 40, status=2)
    assert dashboard_queries(client) == small  # 43 records on one page, same number of queries


def test_status_filter_and_pagination(client, world):
    done = enrol(world, 2, status=2)
    open_ = enrol(world, 1, status=0)
    enrol(world, 1)
    client.force_login(world.users["monitor"])
    html = client.get("/projects/classic/records/", {"instrument": "demographics", "status": "complete"}).content
    html = html.decode()
    assert all(r.record_id in html for r in done) and open_[0].record_id not in html
    html = client.get("/projects/classic/records/", {"instrument": "demographics", "status": "no_data"}).content
    assert b"AAA-0004" in html and b"AAA-0001" not in html
    enrol(world, 50)
    page2 = client.get("/projects/classic/records/", {"page": 2}).content.decode()
    assert "Page 2 of 2" in page2 and "AAA-0054" in page2 and "AAA-0001<" not in page2


def test_conflict_page_shows_both_versions_and_keeps_the_first_save(client, world):
    (record,) = enrol(world, 1, status=0)
    url = f"/projects/classic/records/{record.record_id}/{EVENT}/demographics/1/"
    client.force_login(world.users["coord_a"])
    stale_version = 1
    form_save(scope=world.scope("dm"), record=record, event=EVENT, instrument="demographics", values={"age": "9"},
              expected_row_version=stale_version)  # fmt: skip
    response = client.post(url, {"age": "11", "status": "0", "row_version": str(stale_version), "save_stay": "1"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="conflict"' in html and ">9<" in html and ">11<" in html
    with pytest.raises(SaveConflict):
        form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
                  values={"age": "12"}, expected_row_version=stale_version)  # fmt: skip
