"""Password rules, lock-out after repeated failures per username and per address, and audited unlocks."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from registry.models import AuditEvent, Membership, Role
from registry.security.forms import LOCKED_MESSAGE
from registry.security.models import LoginLock
from tests.registry.factories import build_world
from tests.security.conftest import password_of, post_login


def logged_in_as(client) -> str | None:
    response = client.get("/")
    user = response.wsgi_request.user
    return user.username if user.is_authenticated else None


@pytest.mark.parametrize("password", ["Short-pw-11", "password1234", "123456789012345"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_twelve_character_passphrase_is_accepted():
    validate_password("quiet-otter-lamp")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(world):
    user = world.users["coord_a"]
    client = Client()
    for _ in range(5):
        response = post_login(client, user.username, "wrong-password-here")
        assert response.status_code == 200
    response = post_login(client, user.username, password_of(world, "coord_a"))
    assert LOCKED_MESSAGE in response.content.decode()
    assert logged_in_as(client) is None
    lock = AuditEvent.objects.get(chain="system", action="login_locked")
    assert lock.details["kind"] == "user" and lock.details["key"] == user.username
    # Another account from the same address is not affected by this user's lock.
    other = Client()
    post_login(other, world.users["coord_b"].username, password_of(world, "coord_b"))
    assert logged_in_as(other) == world.users["coord_b"].username


def test_a_good_login_forgets_earlier_failures(world):
    user = world.users["coord_a"]
    for _ in range(4):
        post_login(Client(), user.username, "wrong-password-here")
    post_login(Client(), user.username, password_of(world, "coord_a"))
    for _ in range(4):
        post_login(Client(), user.username, "wrong-password-here")
    client = Client()
    post_login(client, user.username, password_of(world, "coord_a"))
    assert logged_in_as(client) == user.username


def test_unknown_usernames_lock_too_so_locks_reveal_no_accounts(world):
    client = Client()
    for _ in range(6):
        response = post_login(client, "nobody-here", "whatever-password")
    assert LOCKED_MESSAGE in response.content.decode()


def test_an_address_guessing_many_accounts_is_locked_out(world, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    for i in range(8):
        post_login(Client(), f"guess{i}", "wrong-password-here", address="203.0.113.9")
    blocked = Client()
    response = post_login(blocked, world.users["dm"].username, password_of(world, "dm"), address="203.0.113.9")
    assert LOCKED_MESSAGE in response.content.decode()
    assert logged_in_as(blocked) is None
    elsewhere = Client()
    post_login(elsewhere, world.users["dm"].username, password_of(world, "dm"), address="198.51.100.2")
    assert logged_in_as(elsewhere) == world.users["dm"].username


def test_a_lock_ends_after_the_lockout_period(world, settings):
    user = world.users["pi"]
    for _ in range(5):
        post_login(Client(), user.username, "wrong-password-here")
    lock = LoginLock.objects.get(kind="user", key=user.username)
    assert lock.is_active()
    lock.locked_until = lock.locked_at  # the lockout period has passed
    lock.save()
    client = Client()
    post_login(client, user.username, password_of(world, "pi"))
    assert logged_in_as(client) == user.username


def lock_out(world, key: str) -> None:
    for _ in range(5):
        post_login(Client(), world.users[key].username, "wrong-password-here")


def test_a_data_manager_unlocks_a_member_with_a_reason_that_is_audited(world, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 0  # locked until someone unlocks
    lock_out(world, "coord_a")
    manager = Client()
    manager.force_login(world.users["dm"])
    page = manager.get("/accounts/locks/")
    assert world.users["coord_a"].username in page.content.decode()
    refused = manager.post("/accounts/locks/", {"kind": "user", "key": world.users["coord_a"].username, "reason": ""})
    assert LoginLock.objects.get(key=world.users["coord_a"].username).is_active()
    assert refused.status_code == 200
    manager.post("/accounts/locks/", {"kind": "user", "key": world.users["coord_a"].username,
                                      "reason": "called the helpdesk, identity checked"})  # fmt: skip
    row = AuditEvent.objects.get(chain="system", action="login_unlocked")
    assert row.username == world.users["dm"].username
    assert row.details == {"kind": "user", "key": world.users["coord_a"].username}
    assert row.reason == "called the helpdesk, identity checked"
    client = Client()
    post_login(client, world.users["coord_a"].username, password_of(world, "coord_a"))
    assert logged_in_as(client) == world.users["coord_a"].username


def test_only_managers_of_the_users_projects_see_and_lift_their_locks(world, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 0
    other = build_world(code="other")
    lock_out(world, "coord_a")
    foreign_manager = Client()
    foreign_manager.force_login(other.users["dm"])
    assert world.users["coord_a"].username not in foreign_manager.get("/accounts/locks/").content.decode()
    foreign_manager.post("/accounts/locks/", {"kind": "user", "key": world.users["coord_a"].username,
                                              "reason": "not mine to lift"})  # fmt: skip
    assert LoginLock.objects.get(key=world.users["coord_a"].username).is_active()
    coordinator = Client()
    coordinator.force_login(world.users["coord_b"])
    assert coordinator.get("/accounts/locks/").status_code == 404
    assert not AuditEvent.objects.filter(action="login_unlocked").exists()


def test_the_unlock_command_needs_a_reason_and_is_audited(world, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 0
    lock_out(world, "monitor")
    name = world.users["monitor"].username
    listing = io.StringIO()
    call_command("unlock_login", stdout=listing)
    assert name in listing.getvalue() and "until unlocked" in listing.getvalue()
    with pytest.raises(CommandError, match="--reason is required"):
        call_command("unlock_login", "--user", name)
    call_command("unlock_login", "--user", name, "--reason", "ticket 42", stdout=io.StringIO())
    row = AuditEvent.objects.get(chain="system", action="login_unlocked")
    assert (row.source, row.reason, row.details["key"]) == ("system", "ticket 42", name)
    with pytest.raises(CommandError, match="is not locked"):
        call_command("unlock_login", "--user", name, "--reason", "again")


def test_role_changes_are_audited(world):
    """Every permission change leaves a row: membership set and removed through the team page."""
    manager = Client()
    manager.force_login(world.users["dm"])
    name = world.users["coord_b"].username
    manager.post("/projects/sec/team/", {"action": "member", "username": name, "role": Role.MONITOR, "site": ""})
    assert Membership.objects.get(user=world.users["coord_b"]).role == Role.MONITOR
    changed = AuditEvent.objects.get(chain="project:sec", action="role_changed")
    assert changed.details["old"]["role"] == Role.COORDINATOR and changed.details["new"]["role"] == Role.MONITOR
    manager.post("/projects/sec/team/", {"action": "remove", "username": name})
    assert AuditEvent.objects.filter(chain="project:sec", action="member_removed", details__username=name).exists()
