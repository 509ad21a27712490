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
    assert change.details["new"] == {"role": "monitor", "site": "", "form_rights": {}}
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


def test_per_instrument_rights_hide_or_freeze_forms(client, world):
    from registry.services.entry import EntryError, form_save
    from registry.services.team import member_set

    record = record_create(scope=world.scope("coord_a"))
    member_set(scope=world.scope("dm"), username=world.users["coord_a"].username, role="coordinator", site_code="a",
               form_rights={"labs": "read"})  # fmt: skip
    with pytest.raises(EntryError, match="may not enter data in labs"):
        form_save(scope=world.scope("coord_a"), record=record, event="event_1_arm_1", instrument="labs",
                  values={"esr": "3"})  # fmt: skip
    client.force_login(world.users["coord_a"])
    base = f"/projects/classic/records/{record.record_id}/event_1_arm_1"
    assert 'data-testid="read-only"' in client.get(f"{base}/labs/1/").content.decode()
    member_set(scope=world.scope("dm"), username=world.users["coord_a"].username, role="coordinator", site_code="a",
               form_rights={"labs": "none"})  # fmt: skip
    assert client.get(f"{base}/labs/1/").status_code == 404
    dashboard = client.get("/projects/classic/records/").content.decode()
    assert 'data-instrument="labs"' not in dashboard and 'data-instrument="demographics"' in dashboard
