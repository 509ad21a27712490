"""Login, logout and the landing page listing the user's projects."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from forms.models import Project
from registry.models import Membership, Role


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_serves_local_bootstrap(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
def test_bootstrap_asset_is_served_locally(client):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/bootstrap/css/bootstrap.min.css")
    assert finders.find("vendor/bootstrap/js/bootstrap.bundle.min.js")


@pytest.mark.django_db
def test_landing_page_lists_only_my_projects(client, make_user):
    mine = Project.objects.create(code="mine", title="My study")
    Project.objects.create(code="other", title="Somebody else's study")
    user = make_user("carol")
    Membership.objects.create(user=user, project=mine, role=Role.MONITOR)

    assert client.login(username="carol", password=user.raw_password)
    html = client.get("/").content.decode()
    assert "My study" in html
    assert "Monitor" in html
    assert "Somebody else" not in html


@pytest.mark.django_db
def test_logout_ends_the_session(client, make_user):
    user = make_user("dave")
    client.login(username="dave", password=user.raw_password)
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_load_demo_creates_demo_users_idempotently(client):
    call_command("load_demo", "--quiet-logins")
    call_command("load_demo", "--quiet-logins")
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    for name in ("datamanager", "monitor", "statistician", "pi", "coordinator_a", "coordinator_b", "coordinator_c"):
        assert users.filter(username=name).count() == 1
        assert client.login(username=name, password=f"demo-{name}")
    assert Membership.objects.get(user__username="coordinator_b").site.name == "Riverside University Medical Centre"
    assert Membership.objects.get(user__username="monitor").site is None


@pytest.mark.django_db
def test_load_demo_is_refused_in_production(settings):
    from django.core.management.base import CommandError

    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refused when DJANGO_ENV=production"):
        call_command("load_demo")
