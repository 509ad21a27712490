"""The data manager's dictionary page: upload, error report or diff preview, confirm, download."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from forms.dictionary.services import import_dictionary
from forms.models import Project

from .conftest import dd_rows, row, store_value

pytestmark = pytest.mark.django_db

V1 = dd_rows(row("record_id", "demo", "text"), row("sex", "demo", "radio", choices="1, M | 2, F"))


@pytest.fixture
def project(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert import_dictionary(project_code="web", source=V1).ok
    return Project.objects.get(code="web")


def _member(make_user, project, role, name):
    from registry.models import Membership

    user = make_user(name)
    Membership.objects.create(user=user, project=project, role=role)
    return user


def _upload(client, data: bytes, name="dd.csv"):
    return client.post(
        reverse("crf:dictionary", args=["web"]), {"step": "preview", "file": SimpleUploadedFile(name, data, "text/csv")}
    )


def test_coordinator_and_strangers_get_404_anonymous_must_log_in(client, make_user, project):
    url = reverse("crf:dictionary", args=["web"])
    assert client.get(url).status_code == 302
    client.force_login(_member(make_user, project, "coordinator", "coord"))
    assert client.get(url).status_code == 404
    assert client.get(reverse("crf:dictionary_download", args=["web"])).status_code == 404
    assert client.get(reverse("crf:dictionary", args=["nope"])).status_code == 404


def test_data_manager_uploads_previews_and_applies(client, make_user, project):
    client.force_login(_member(make_user, project, "data_manager", "dm"))
    page = client.get(reverse("crf:dictionary", args=["web"]))
    assert page.status_code == 200 and b'data-testid="upload-form"' in page.content

    v2 = dd_rows(
        row("record_id", "demo", "text"),
        row("sex", "demo", "radio", choices="1, M | 2, F"),
        row("age", "demo", "text", text_validation_type_or_show_slider_number="integer"),
    )
    preview = _upload(client, v2)
    assert preview.status_code == 200
    assert b"fields added (1): age" in preview.content and b'data-testid="confirm-form"' in preview.content
    project.refresh_from_db()
    assert project.current_version.number == 1  # nothing changes before the confirmation

    applied = client.post(reverse("crf:dictionary", args=["web"]), {"step": "apply"}, follow=True)
    assert b"Version 2 of web is now current" in applied.content
    project.refresh_from_db()
    assert project.current_version.number == 2 and project.current_version.created_by.username == "dm"

    download = client.get(reverse("crf:dictionary_download", args=["web"]) + "?format=csv")
    assert download["Content-Disposition"].endswith('_v2.csv"')
    assert download.content.startswith(b'\xef\xbb\xbf"Variable / Field Name"')
    assert b"age,demo,,text" in download.content


def test_upload_with_errors_shows_each_row_and_column(client, make_user, project):
    client.force_login(_member(make_user, project, "data_manager", "dm"))
    response = _upload(client, dd_rows(row("record_id", "demo", "text"), row("x", "demo", "txt")))
    assert response.status_code == 422
    assert b'data-testid="import-errors"' in response.content and b"is not a field type" in response.content
    assert b'data-testid="confirm-form"' not in response.content


def test_destructive_change_needs_the_checkbox(client, make_user, project):
    client.force_login(_member(make_user, project, "data_manager", "dm"))
    store_value(project.code, "sex", "2")
    v2 = dd_rows(row("record_id", "demo", "text"), row("sex", "demo", "radio", choices="1, M"))
    preview = _upload(client, v2)
    assert preview.status_code == 200 and b'data-testid="destructive"' in preview.content
    assert b'name="confirm_destructive"' in preview.content
    refused = client.post(reverse("crf:dictionary", args=["web"]), {"step": "apply"})
    assert refused.status_code == 422
    project.refresh_from_db()
    assert project.current_version.number == 1
    client.post(reverse("crf:dictionary", args=["web"]), {"step": "apply", "confirm_destructive": "on"})
    project.refresh_from_db()
    assert project.current_version.number == 2


def test_superuser_may_design(client, make_user, project):
    client.force_login(make_user("root", is_superuser=True))
    assert client.get(reverse("crf:dictionary", args=["web"])).status_code == 200
