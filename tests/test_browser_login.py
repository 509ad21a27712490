"""End to end in headless Chromium: a demo user logs in and sees her project."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.fixture
def browser_page(browser):
    page = browser.new_page()
    yield page
    page.close()


@pytest.mark.browser
def test_coordinator_logs_in_and_sees_project(live_server, transactional_db, browser_page):
    call_command("load_demo", "--quiet-logins")
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "coordinator_a")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".alert-danger, .invalid-feedback, .alert-block").first.is_visible()

    page.fill("input[name=username]", "coordinator_a")
    page.fill("input[name=password]", "demo-coordinator_a")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=project-list]")
    assert page.locator("[data-testid=current-user]").inner_text() == "coordinator_a"
    row = page.locator("[data-testid=project-list] tbody tr").first.inner_text()
    assert "sojia" in row and "Northfield" in row
    # Bootstrap really loaded from this server: the navbar is styled.
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"

    page.click("text=Log out")
    page.wait_for_url("**/accounts/login/")
