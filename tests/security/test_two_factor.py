"""TOTP two-factor login: enrolment, the code at every login, no replay, and projects requiring it for roles."""

from __future__ import annotations

from django.test import Client

from registry.models import AuditEvent, Role
from registry.security.models import TotpDevice
from tests.security.conftest import password_of, post_login, totp_code


def enrol(client: Client) -> str:
    page = client.get("/accounts/two-factor/setup/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    secret = page.context["secret"]
    response = client.post("/accounts/two-factor/setup/", {"code": totp_code(secret)})
    assert response.status_code == 302
    return secret


def test_an_enrolled_user_gives_a_code_at_every_login_and_codes_are_not_replayed(world):
    user = world.users["monitor"]
    first = Client()
    first.force_login(user)
    secret = enrol(first)
    assert TotpDevice.objects.get(user=user).confirmed
    assert AuditEvent.objects.filter(chain="system", action="two_factor_enrolled", username=user.username).exists()

    client = Client()
    response = post_login(client, user.username, password_of(world, "monitor"), next_url="/projects/sec/audit/")
    assert response.status_code == 302
    held = client.get("/projects/sec/audit/")
    assert held["Location"] == "/accounts/two-factor/?next=%2Fprojects%2Fsec%2Faudit%2F"
    assert client.post("/accounts/two-factor/", {"code": "000000"}).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor_failed", username=user.username).count() == 1
    assert client.get("/projects/sec/audit/").status_code == 302
    code = totp_code(secret, offset_steps=1)  # the app's clock runs a little ahead: still accepted
    response = client.post("/accounts/two-factor/", {"code": code, "next": "/projects/sec/audit/"})
    assert response["Location"] == "/projects/sec/audit/"
    assert client.get("/projects/sec/audit/").status_code == 200

    # Someone who watched the code cannot use it again, even with the password.
    thief = Client()
    post_login(thief, user.username, password_of(world, "monitor"), address="10.9.9.9")
    thief.post("/accounts/two-factor/", {"code": code})
    assert thief.get("/projects/sec/audit/").status_code == 302


def test_the_admin_login_page_does_not_skip_the_second_factor(world):
    user = world.users["dm"]
    user.is_staff = user.is_superuser = True
    user.save()
    setup = Client()
    setup.force_login(user)
    enrol(setup)
    client = Client()
    client.post("/admin/login/", {"username": user.username, "password": password_of(world, "dm"),
                                  "next": "/admin/"})  # fmt: skip
    assert client.get("/admin/")["Location"].startswith("/accounts/two-factor/")


def test_five_wrong_codes_end_the_session(world):
    user = world.users["pi"]
    setup = Client()
    setup.force_login(user)
    enrol(setup)
    client = Client()
    post_login(client, user.username, password_of(world, "pi"))
    for _ in range(5):
        response = client.post("/accounts/two-factor/", {"code": "123456"})
    assert response["Location"] == "/accounts/login/"
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_a_project_requires_two_factor_for_chosen_roles(world):
    manager = Client()
    manager.force_login(world.users["dm"])
    page = manager.get("/projects/sec/two-factor/")
    assert page.status_code == 200
    manager.post("/projects/sec/two-factor/", {"roles": [Role.MONITOR, Role.STATISTICIAN]})
    world.project.refresh_from_db()
    assert world.project.settings["two_factor_roles"] == [Role.MONITOR, Role.STATISTICIAN]
    row = AuditEvent.objects.get(chain="project:sec", action="two_factor_roles_changed")
    assert (row.old_value, row.new_value, row.username) == ("", "monitor,statistician", world.users["dm"].username)

    # A monitor without an authenticator must set one up before any other page.
    monitor = Client()
    post_login(monitor, world.users["monitor"].username, password_of(world, "monitor"))
    assert monitor.get("/projects/sec/audit/")["Location"].startswith("/accounts/two-factor/setup/")
    page = monitor.get("/accounts/two-factor/setup/")
    assert "requires a second factor" in page.content.decode()
    monitor.post("/accounts/two-factor/setup/", {"code": totp_code(page.context["secret"])})
    assert monitor.get("/projects/sec/audit/").status_code == 200
    # Required means it cannot be turned off.
    assert monitor.post("/accounts/two-factor/remove/", {"code": "123456"}).status_code == 404

    # A coordinator's role is not in the list: password only.
    coordinator = Client()
    post_login(coordinator, world.users["coord_a"].username, password_of(world, "coord_a"))
    assert coordinator.get("/projects/sec/audit/").status_code == 200


def test_only_members_who_manage_users_change_the_requirement(world):
    for key in ("coord_a", "monitor", "pi", "stat"):
        client = Client()
        client.force_login(world.users[key])
        assert client.get("/projects/sec/two-factor/").status_code == 404
        assert client.post("/projects/sec/two-factor/", {"roles": [Role.PI]}).status_code == 404
    world.project.refresh_from_db()
    assert "two_factor_roles" not in world.project.settings


def test_a_voluntary_authenticator_can_be_turned_off_with_a_code(world):
    client = Client()
    client.force_login(world.users["coord_b"])
    secret = enrol(client)
    client.post("/accounts/two-factor/remove/", {"code": "000000"})
    assert TotpDevice.objects.filter(user=world.users["coord_b"]).exists()
    client.post("/accounts/two-factor/remove/", {"code": totp_code(secret, offset_steps=1)})
    assert not TotpDevice.objects.filter(user=world.users["coord_b"]).exists()
    assert AuditEvent.objects.filter(chain="system", action="two_factor_removed").exists()
