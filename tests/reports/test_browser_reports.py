"""End to end in headless Chromium: the statistician opens Table 1 and a chart, with no identifier on screen."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture
def browser_page(browser):
    page = browser.new_page()
    yield page
    page.close()


@pytest.mark.browser
def test_statistician_opens_table1_and_the_response_chart(live_server, transactional_db, browser_page):
    from registry.models import FormInstance

    call_command("load_demo", "--quiet-logins")
    names = {f.data["name_last"] for f in FormInstance.objects.filter(instrument="enrollment")}
    page = browser_page
    page.goto(f"{live_server.url}/projects/sojia/reports/table1/")
    page.fill("input[name=username]", "statistician")
    page.fill("input[name=password]", "demo-statistician")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=table1]")
    crp_row = page.locator("[data-testid=table1] tr[data-variable=CRP]").inner_text()
    assert crp_row.count("[") == 2  # median [IQR] in both cohorts
    assert page.locator("[data-testid=csv-download]").is_visible()
    assert not any(name in page.content() for name in names)

    page.goto(f"{live_server.url}/projects/sojia/reports/response/")
    chart = page.locator("svg[data-testid=response-chart]")
    chart.wait_for()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 200  # drawn, not an empty element
    assert page.locator("svg[data-testid=response-chart] .iqr-band").count() >= 2

    page.goto(f"{live_server.url}/projects/sojia/reports/timeline/LPR-0002/")
    page.locator("svg[data-testid=timeline-chart] rect.dosing").first.wait_for()
    assert not any(name in page.content() for name in names)
