"""API tokens are hashed at rest, and a revoked token is refused at the very next call."""

from __future__ import annotations

import pytest
from django.test import Client

from registry.api.models import ApiToken
from registry.api.services.tokens import token_create, token_revoke
from registry.models import AuditEvent
from tests.api.conftest import import_classic_api
from tests.registry.factories import build_world


@pytest.fixture
def api_world(db):
    return build_world(project=import_classic_api())


def call(token: str):
    return Client().post("/api/", {"token": token, "content": "project", "format": "json"})


def test_tokens_are_stored_hashed_and_refused_once_revoked(api_world):
    user = api_world.users["stat"]
    token = token_create(user=user, project=api_world.project)
    stored = ApiToken.objects.get(user=user)
    assert token not in (stored.token_hash, stored.hint) and len(stored.token_hash) == 64
    assert not ApiToken.objects.filter(token_hash__icontains=token).exists()
    assert call(token).status_code == 200
    token_revoke(user=user, token_id=stored.pk)
    assert call(token).status_code == 403
    assert AuditEvent.objects.filter(action="api_token_revoked", username=user.username).exists()
