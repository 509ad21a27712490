"""API tokens: hashed at rest, refused the moment they are revoked or the role loses the API right, and every
permission change is in the audit trail."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from registry.api.models import ApiToken
from registry.api.services.tokens import TokenError, token_create, token_revoke
from registry.models import AuditEvent, Role
from registry.services.team import member_remove, member_set
from tests.registry.designs import import_classic
from tests.registry.factories import build_world


@pytest.fixture
def world(db):
    return build_world(project=import_classic("tok"))


def call(token: str, content: str = "version"):
    return Client().post("/api/", {"token": token, "content": content, "format": "json"})


def test_token_is_stored_only_as_a_hash(world):
    token = token_create(user=world.users["dm"], project=world.project)
    assert call(token).status_code == 200
    with connection.cursor() as cursor:  # nowhere in the table, in any column, is the token itself
        cursor.execute("SELECT row_to_json(t)::text FROM api_apitoken t")
        dumped = " ".join(row[0] for row in cursor.fetchall())
    assert token not in dumped and token.lower() not in dumped
    assert ApiToken.objects.get(user=world.users["dm"]).hint == token[-4:]


def test_roles_without_the_api_right_get_no_token(world):
    for role in ("monitor", "pi"):
        with pytest.raises(TokenError):
            token_create(user=world.users[role], project=world.project)


def test_revoked_token_is_refused_on_the_next_call(world):
    token = token_create(user=world.users["stat"], project=world.project)
    assert call(token, "record").status_code == 200
    row = ApiToken.objects.get(user=world.users["stat"], revoked_at__isnull=True)
    token_revoke(user=world.users["stat"], token_id=row.pk)
    assert call(token, "record").status_code == 403
    assert AuditEvent.objects.filter(project=world.project, action="api_token_revoked").count() == 1


def test_a_new_token_revokes_the_old_one(world):
    old = token_create(user=world.users["dm"], project=world.project)
    new = token_create(user=world.users["dm"], project=world.project)
    assert call(old).status_code == 403
    assert call(new).status_code == 200


def test_role_change_and_removal_take_effect_at_once_and_are_audited(world):
    dm_scope = world.scope("dm")
    token = token_create(user=world.users["stat"], project=world.project)
    assert call(token, "record").status_code == 200

    member_set(scope=dm_scope, username=world.users["stat"].username, role=Role.MONITOR, site_code="")
    assert call(token, "record").status_code == 403  # a monitor has no API right: the same token stops working
    member_set(scope=dm_scope, username=world.users["stat"].username, role=Role.STATISTICIAN, site_code="")
    member_remove(scope=dm_scope, username=world.users["stat"].username)
    assert call(token, "record").status_code == 403

    rows = AuditEvent.objects.filter(project=world.project, action__in=["role_changed", "member_removed"])
    assert [r.action for r in rows.order_by("pk")] == ["role_changed", "role_changed", "member_removed"]
    assert all(r.username == world.users["dm"].username for r in rows)  # who made each change
