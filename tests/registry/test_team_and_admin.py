"""Data managers manage sites, users and roles in the app; the admin is scoped like every page."""

from __future__ import annotations

import pytest

from registry.models import AuditEvent, Membership
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world


@pytest.fixture
def world(db):
    return build_world(project=import_classic())


def test_data_manager_adds_site_and_coordinator_and_changes_role(client, world):
    client.force_login(world.users["dm"])
    client.post(
        "/projects/classic/team/", {"action": "site", "code": "c", "name": "Hospital C", "record_prefix": "ccc"}
    )
    client.post("/projects/classic/team/", {"action": "member", "username": "newcoord", "role": "coordinator",
                                            "site": "c", "password": "a-long-synthetic-passphrase"})  # fmt: skip
    membership = Membership.objects.get(user__username="newcoord")
    assert (membership.role, membership.site.code, membership.site.record_prefix) == ("coordinator", "c", "CCC")
    assert client.login(username="newcoord", password="a-long-synthetic-passphrase")
    client.force_login(world.users["dm"])
    client.post("/projects/classic/team/", {"action": "member", "username": "newcoord", "role": "monitor", "site": ""})
    membership.refresh_from_db()
    assert (membership.role, membership.site) == ("monitor", None)
    change = AuditEvent.objects.filter(action="role_changed", details__username="newcoord").latest("sequence")
    assert change.details["old"] == {"role": "coordinator", "site": "c"}
    assert change.details["new"] == {"role": "monitor", "site": ""}
    assert AuditEvent.objects.filter(action="site_created").exists()


def test_weak_first_password_and_siteless_coordinator_are_refused(client, world):
    client.force_login(world.users["dm"])
    page = client.post("/projects/classic/team/", {"action": "member", "username": "weak", "role": "monitor",
                                                   "password": "short"}, follow=True)  # fmt: skip
    assert "too short" in page.content.decode()
    page = client.post("/projects/classic/team/", {"action": "member", "username": world.users["stat"].username,
                                                   "role": "coordinator", "site": ""}, follow=True)  # fmt: skip
    assert "choose it" in page.content.decode()
    assert not Membership.objects.filter(user__username="weak").exists()


def test_only_data_managers_reach_the_team_page(client, world):
    for name in ("coord_a", "monitor", "stat", "pi"):
        client.force_login(world.users[name])
        assert client.get("/projects/classic/team/").status_code == 404


def test_admin_shows_a_site_limited_staff_user_only_her_site(client, world):
    a = record_create(scope=world.scope("coord_a"))
    b = record_create(scope=world.scope("coord_b"))
    coordinator = world.users["coord_a"]
    coordinator.is_staff = True
    coordinator.save()
    client.force_login(coordinator)
    page = client.get("/admin/registry/record/").content.decode()
    assert a.record_id in page and b.record_id not in page
    assert client.get(f"/admin/registry/record/{b.pk}/change/").status_code in (302, 404)
    assert client.post(f"/admin/registry/record/{a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "classic_coord_b" not in client.get("/admin/registry/membership/").content.decode()
