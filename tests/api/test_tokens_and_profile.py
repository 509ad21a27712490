"""Tokens from the command line and from the profile page: shown once, listed, revocable."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from registry.api.models import ApiToken
from registry.api.services.tokens import token_hash, token_scope
from tests.api.conftest import import_classic_api
from tests.registry.factories import build_world


@pytest.fixture
def world(db):
    return build_world(project=import_classic_api())


def test_create_api_token_command_prints_a_32_character_token(world):
    out = io.StringIO()
    call_command("create_api_token", world.users["stat"].username, "--project", "classic", stdout=out)
    token = out.getvalue().strip()
    assert re.fullmatch(r"[0-9A-F]{32}", token)
    stored = ApiToken.objects.get(user=world.users["stat"], revoked_at__isnull=True)
    assert stored.token_hash == token_hash(token)
    found = token_scope(token)
    assert found is not None and found[1].role == "statistician"
    # A second token replaces the first: one active token per user and project.
    call_command("create_api_token", world.users["stat"].username, "--project", "classic", stdout=io.StringIO())
    assert token_scope(token) is None
    assert ApiToken.objects.filter(user=world.users["stat"], revoked_at__isnull=True).count() == 1


def test_command_refuses_users_without_api_rights_and_unknown_names(world):
    with pytest.raises(CommandError, match="no API rights"):
        call_command("create_api_token", world.users["monitor"].username, "--project", "classic")
    with pytest.raises(CommandError, match="no project"):
        call_command("create_api_token", world.users["stat"].username, "--project", "nope")
    with pytest.raises(CommandError, match="no active user"):
        call_command("create_api_token", "ghost", "--project", "classic")


def test_profile_page_creates_shows_once_lists_and_revokes(world, client):
    user = world.users["dm"]
    client.force_login(user)
    page = client.get("/accounts/profile/")
    assert page.status_code == 200 and "You have no API tokens." in page.content.decode()
    created = client.post("/accounts/profile/tokens/new/", {"project": "classic"})
    html = created.content.decode()
    token = re.search(r"<code class=\"fs-5 user-select-all\">([0-9A-F]{32})</code>", html).group(1)
    assert created["Cache-Control"] == "no-store"
    assert token_scope(token) is not None
    again = client.get("/accounts/profile/").content.decode()
    assert token not in again and f"…{token[-4:]}" in again and "active" in again
    stored = ApiToken.objects.get(user=user)
    client.post(f"/accounts/profile/tokens/{stored.pk}/revoke/")
    assert token_scope(token) is None
    assert "revoked" in client.get("/accounts/profile/").content.decode()


def test_profile_cannot_revoke_someone_elses_token(world, client):
    other = world.users["stat"]
    from registry.api.services.tokens import token_create

    token = token_create(user=other, project=world.project)
    client.force_login(world.users["dm"])
    client.post(f"/accounts/profile/tokens/{ApiToken.objects.get(user=other).pk}/revoke/")
    assert token_scope(token) is not None


def test_profile_needs_login(client):
    assert client.get("/accounts/profile/").status_code == 302
