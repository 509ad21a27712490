"""Security headers on every page, and a Content-Security-Policy the pages actually keep to."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from registry.models import Record
from registry.services.demo import demo_password
from tests.conftest import ROOT
from tests.security.conftest import post_login

# A script element without src, unless it holds JSON data (Django's json_script), which never runs.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
# Inline style attributes found in other teams' templates, reported to them (see docs/security.md).
KNOWN_INLINE_STYLES: set[str] = set()  # none left: progress bars get their width from their scripts


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_the_policy_allows_no_inline_script_no_eval_and_no_other_origin():
    policy = directives(settings.CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in settings.CONTENT_SECURITY_POLICY


def test_pages_carry_the_security_headers(world):
    client = Client()
    login_page = client.get("/accounts/login/")
    assert login_page["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert login_page["X-Frame-Options"] == "DENY" and login_page["X-Content-Type-Options"] == "nosniff"
    assert login_page["Referrer-Policy"] == "same-origin" and "camera=()" in login_page["Permissions-Policy"]
    client.force_login(world.users["dm"])
    page = client.get("/projects/sec/team/")
    assert page["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert page["Cache-Control"] == "no-store"  # patient data stays out of shared caches


def templates() -> list[Path]:
    return sorted(p for top in ("registry", "forms") for p in (ROOT / top).rglob("templates/**/*.html"))


def test_no_template_has_inline_script_or_event_handlers():
    assert len(templates()) > 20
    offenders = [str(p.relative_to(ROOT)) for p in templates() if INLINE_SCRIPT.search(p.read_text())]
    offenders += [str(p.relative_to(ROOT)) for p in templates() if EVENT_HANDLER.search(p.read_text())]
    assert offenders == []


def test_no_new_template_has_inline_style():
    offenders = {str(p.relative_to(ROOT)) for p in templates() if STYLE_ATTRIBUTE.search(p.read_text())}
    assert offenders - KNOWN_INLINE_STYLES == set()


@pytest.mark.django_db
def test_rendered_pages_keep_to_the_policy():
    """What the browser gets, including crispy-forms and the form engine's HTML, has no inline code or style."""
    call_command("load_demo", "--records", "3", "--quiet-logins", stdout=io.StringIO())
    client = Client()
    post_login(client, "datamanager", demo_password("datamanager"))
    record = Record.objects.filter(project__code="sojia").order_by("record_id").first()
    base = f"/projects/sojia/records/{record.record_id}/"
    pages = ["/", "/projects/sojia/records/", base, base + "baseline_arm_1/enrollment/1/",
             base + "baseline_arm_1/disease_activity/1/", "/projects/sojia/audit/", "/projects/sojia/team/",
             "/projects/sojia/two-factor/", "/accounts/two-factor/setup/", "/accounts/locks/"]  # fmt: skip
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not EVENT_HANDLER.search(html), url
        assert not STYLE_ATTRIBUTE.search(html), url
    assert "Content-Security-Policy" in Client().get("/accounts/login/")
