"""In Chromium: log in with a password and a TOTP code, open a form, and no CSP violation is reported."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from registry.models import Record
from registry.security.models import TotpDevice
from registry.services.demo import demo_password
from tests.security.conftest import totp_code


@pytest.mark.browser
def test_totp_login_and_a_form_page_without_csp_violations(live_server, transactional_db, browser):
    call_command("load_demo", "--records", "3", "--quiet-logins")
    user = get_user_model().objects.get(username="coordinator_a")
    secret = pyotp.random_base32()
    TotpDevice.objects.create(user=user, secret=secret, confirmed_at=user.date_joined)
    record = Record.objects.filter(project__code="sojia", site__code="site_01").order_by("record_id").first()

    page = browser.new_context().new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda exc: console.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "coordinator_a")
    page.fill("input[name=password]", demo_password("coordinator_a"))
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=two-factor-form]")
    page.fill("input[name=code]", totp_code(secret))
    page.click("[data-testid=two-factor-form] button[type=submit]")
    page.wait_for_selector("[data-testid=current-user]")
    assert "/accounts/two-factor/" not in page.url

    page.goto(f"{live_server.url}/projects/sojia/records/{record.record_id}/baseline_arm_1/enrollment/1/")
    page.wait_for_selector("#crf-form[data-logic-ready]")  # the form's logic ran: scripts were allowed
    page.goto(f"{live_server.url}/projects/sojia/records/")
    page.wait_for_selector("[data-testid=current-user]")
    refused = [text for text in console if "Refused to" in text or "Content Security Policy" in text]
    assert refused == []
    assert not [text for text in console if "Error" in text]
