"""A coordinator enrols a patient and fills a form in the browser; another site cannot see it."""

from __future__ import annotations

import pytest

from registry.models import FormInstance, Record
from tests.registry.designs import import_classic
from tests.registry.factories import build_world


@pytest.mark.browser
def test_coordinator_enrols_fills_form_and_dashboard_turns_green(live_server, transactional_db, login):
    world = build_world(project=import_classic("brw"))
    coord_a = world.users["coord_a"]
    page = login(coord_a.username, "pw-" + "coord_a" * 3)
    page.goto(f"{live_server.url}/projects/brw/records/")
    page.click("text=Enroll a patient")
    page.wait_for_selector("#crf-form[data-logic-ready]")
    assert page.input_value("input[name=record_id]") == "AAA-0001"
    assert "/records/AAA-0001/event_1_arm_1/demographics/1/" in page.url

    consent_date = page.locator("[data-field=consent_date]")
    assert consent_date.is_hidden()  # branching: shown only when consent = Yes
    page.check("input[name=consent][value='1']")
    assert consent_date.is_visible()
    page.check("input[name=consent][value='0']")
    assert consent_date.is_hidden()
    page.check("input[name=consent][value='1']")
    page.fill("input[name=consent_date]", "2026-01-05")

    page.fill("input[name=name]", "Testpatient Synthetic")
    page.fill("input[name=age]", "7")
    page.fill("input[name=weight]", "25")
    page.fill("input[name=height]", "120")
    assert page.input_value("input[name=bmi]") == "17.4"  # live calc, same rule as the server
    page.fill("input[name=weight]", "30")
    assert page.input_value("input[name=bmi]") == "20.8"

    page.select_option("select[name=status]", "2")
    page.click("button[name=save_stay]")
    page.wait_for_selector(".alert-success")
    page.wait_for_selector("#crf-form[data-logic-ready]")
    form = FormInstance.objects.get(record__record_id="AAA-0001", instrument="demographics")
    assert form.data["bmi"] == "20.8" and form.data["consent_date"] == "2026-01-05" and form.status == 2

    page.goto(f"{live_server.url}/projects/brw/records/")
    dot = page.locator("tr[data-record='AAA-0001'] [data-instrument=demographics]")
    assert dot.get_attribute("data-status") == "complete"
    assert "rgb(25, 135, 84)" in dot.evaluate("e => getComputedStyle(e).backgroundColor")
    assert page.js_errors == []

    # A coordinator at another site finds nothing: not in the dashboard, not by URL, not by search.
    other = login(world.users["coord_b"].username, "pw-" + "coord_b" * 3)
    other.goto(f"{live_server.url}/projects/brw/records/")
    assert other.locator("tr[data-record='AAA-0001']").count() == 0
    other.goto(f"{live_server.url}/projects/brw/records/?record_id=AAA")
    assert other.locator("tr[data-record]").count() == 0
    response = other.goto(f"{live_server.url}/projects/brw/records/AAA-0001/")
    assert response.status == 404
    response = other.goto(f"{live_server.url}/projects/brw/records/AAA-0001/event_1_arm_1/demographics/1/")
    assert response.status == 404
    assert Record.objects.filter(project=world.project).count() == 1
