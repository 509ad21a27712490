"""The record status dashboard: statuses, filters, pagination and a query count independent of size."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path, resolve

from registry.models import FormInstance, Record
from registry.selectors_dashboard import DashboardFilters, dashboard_page
from registry.services.design import design_of
from registry.services.entry import SaveConflict, form_save
from registry.services.records import record_create
from registry.views.dashboard_cells import EventCellsHtml
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


def dots(html: str) -> list[dict]:
    """Every status dot of the page with its row's record id, as a browser would see them."""
    found = []
    for row in re.finditer(r'<tr data-record="([^"]*)">(.*?)</tr>', html, re.S):
        for attrs in re.finditer(r'<a href="([^"]*)" class="crf-dot ([^"]*)"([^>]*)>', row.group(2)):
            dot = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs.group(3)))
            dot.update(record=unescape(row.group(1)), href=unescape(attrs.group(1)), classes=attrs.group(2))
            found.append(dot)
    return found


def test_every_dot_links_to_its_own_form_and_shows_its_status(client, world):
    done, empty = enrol(world, 1, status=2)[0], enrol(world, 1)[0]
    client.force_login(world.users["monitor"])
    found = dots(client.get("/projects/classic/records/").content.decode())
    design = design_of(world.project)
    assert len(found) == 2 * len(design.instruments_for_event(EVENT))
    for dot in found:
        match = resolve(dot["href"])
        assert match.url_name == "form-entry"
        kwargs = match.kwargs
        assert (kwargs["record_id"], kwargs["event"], kwargs["instrument"], kwargs["instance"]) == (
            dot["record"], dot["data-event"], dot["data-instrument"], 1)  # fmt: skip
        assert f"crf-status-{dot['data-status']}" in dot["classes"]
        assert dot["title"] == f"{dot['data-instrument']}: {dot['data-status']}"
    statuses = {(d["record"], d["data-instrument"]): d["data-status"] for d in found}
    assert statuses[(done.record_id, "demographics")] == "complete"
    assert statuses[(empty.record_id, "demographics")] == "no_data"


def test_repeated_instances_are_counted_on_the_dot(client, world):
    record = enrol(world, 1, status=0)[0]
    for instance in (2, 3):
        FormInstance.objects.create(record=record, event=EVENT, instrument="demographics", instance=instance, status=2)
    client.force_login(world.users["monitor"])
    html = client.get("/projects/classic/records/").content.decode()
    dot = next(d for d in dots(html) if d["data-instrument"] == "demographics")
    assert dot["data-status"] == "incomplete"  # the worst of the three instances
    assert dot["title"] == "demographics: incomplete (3 instances)"
    assert '<span class="crf-instances">3</span>' in html


def test_record_ids_with_markup_characters_are_escaped_and_linked(client, world):
    odd = Record.objects.create(project=world.project, site=world.site_a, record_id="A&B <i>'1'")
    client.force_login(world.users["monitor"])
    html = client.get("/projects/classic/records/").content.decode()
    assert "<i>" not in html
    found = [d for d in dots(html) if d["record"] == odd.record_id]
    # The server decodes the percent-encoded path before it resolves it, as here.
    assert found and all(resolve(unquote(d["href"])).kwargs["record_id"] == odd.record_id for d in found)


urlpatterns = [  # form pages not nested under the record's home: the cells reverse each link themselves
    path("p/<slug:code>/r/<str:record_id>/", lambda r: None, name="record-home"),
    path(
        "f/<slug:code>/<slug:event>/<slug:instrument>/<int:instance>/<str:record_id>", lambda r: None, name="form-entry"
    ),
]


def test_cells_follow_url_patterns_that_do_not_nest_forms_under_the_record(world):
    record = enrol(world, 1, status=2)[0]
    design = design_of(world.project)
    with override_settings(ROOT_URLCONF=__name__):
        _page, cols, rows = dashboard_page(world.scope("monitor"), design, DashboardFilters(), 1)
        home, cells = EventCellsHtml(world.project.code, cols).row(rows[0])
    assert home == f"/p/classic/r/{record.record_id}/"
    assert f'href="/f/classic/{EVENT}/demographics/1/{record.record_id}"' in cells
