"""The export pages: request, progress, download (audited), expiry; the export_data command."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from registry.exports.models import Release
from registry.models import AuditEvent, Job


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST, then run what the view queued after its commit (the build, eagerly in the tests)."""

    def send(url, data, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **kwargs)

    return send


def login(client, world, name):
    client.force_login(world.users[name])
    return client


def test_statistician_requests_a_release_follows_it_and_downloads_it(sojia, client, post, export_dir):
    login(client, sojia, "stat")
    page = client.get(reverse("exports", args=["sojia"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="deidentified" checked' in html and 'value="full"' not in html
    assert "exports/exports.js" in html
    assert f'href="{reverse("exports", args=["sojia"])}">Exports</a>' in html  # the project tab

    response = post(reverse("export-request", args=["sojia"]), {"profile": "deidentified", "format": "csv"})
    assert response.status_code == 302
    release = Release.objects.get(project=sojia.project)
    assert release.status == Release.Status.READY  # tasks run eagerly in the tests
    assert release.job.status == Job.Status.SUCCEEDED and release.job.kind == "export_release"

    status = client.get(reverse("export-status", args=["sojia", release.public_id])).json()
    assert status["status"] == "ready" and status["percent"] == 100
    url = status["download_url"]
    assert str(release.public_id) in url
    for rid in sojia.project.records.values_list("record_id", flat=True):
        assert rid not in url

    download = client.get(url)
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["profile"] == "deidentified" and "sojia_deidentified.csv" in archive.namelist()
    assert download["X-Content-SHA256"] == release.sha256
    actions = list(
        AuditEvent.objects.filter(project=sojia.project, action__startswith="export_").values_list("action", "details")
    )
    assert [a for a, _ in actions] == ["export_release", "export_release", "export_download"]
    assert actions[0][1]["stage"] == "requested" and actions[1][1]["stage"] == "published"
    assert actions[2][1]["release"] == str(release.public_id)


def test_statistician_cannot_request_full_on_the_page(sojia, client, post, export_dir):
    login(client, sojia, "stat")
    response = post(reverse("export-request", args=["sojia"]), {"profile": "full", "format": "csv"}, follow=True)
    assert "Export refused" in response.content.decode()
    assert not Release.objects.exists()


def test_pages_are_closed_to_roles_without_export_and_to_other_users(sojia, client, post, export_dir):
    login(client, sojia, "monitor")
    assert client.get(reverse("exports", args=["sojia"])).status_code == 404
    login(client, sojia, "coord_a")
    post(reverse("export-request", args=["sojia"]), {"profile": "limited", "format": "tidy"})
    release = Release.objects.get()
    login(client, sojia, "stat")
    assert client.get(reverse("export-status", args=["sojia", release.public_id])).status_code == 404
    assert client.get(reverse("export-download", args=["sojia", release.public_id])).status_code == 404


def test_expired_release_is_gone(sojia, client, post, export_dir):
    login(client, sojia, "dm")
    post(reverse("export-request", args=["sojia"]), {"profile": "full", "format": "odm"})
    release = Release.objects.get()
    path = export_dir / release.file_name
    assert path.exists()
    Release.objects.filter(pk=release.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("export-download", args=["sojia", release.public_id])).status_code == 410
    client.get(reverse("exports", args=["sojia"]))  # the page purges expired files
    assert not path.exists()
    assert Release.objects.get().status == Release.Status.EXPIRED


def test_purge_removes_what_a_killed_build_left(sojia, export_dir):
    import os

    from registry.exports.services import release_purge_expired

    export_dir.mkdir(parents=True)
    old_dir, old_part, new_part = export_dir / ".build-x-1", export_dir / "x.zip.part", export_dir / "y.zip.part"
    old_dir.mkdir()
    (old_dir / "sojia_full.csv").write_text("a\n")
    old_part.write_bytes(b"PK")
    new_part.write_bytes(b"PK")
    two_days_ago = timezone.now().timestamp() - 2 * 86400
    for path in (old_dir, old_part):
        os.utime(path, (two_days_ago, two_days_ago))
    release_purge_expired()
    assert not old_dir.exists() and not old_part.exists() and new_part.exists()


def test_no_partial_file_is_left_when_a_build_fails(sojia, client, post, export_dir, monkeypatch):
    from registry.exports import formats

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(formats, "write_odm", broken)
    login(client, sojia, "dm")
    post(reverse("export-request", args=["sojia"]), {"profile": "full", "format": "odm"})
    release = Release.objects.get()
    assert release.status == Release.Status.FAILED and "disk full" in release.error
    assert release.job.status == "failed"
    status = client.get(reverse("export-status", args=["sojia", release.public_id])).json()
    assert status["status"] == "failed" and "disk full" in status["error"] and status["download_url"] is None
    assert list(export_dir.iterdir()) == []


def test_export_data_command_writes_the_release(sojia, tmp_path, export_dir):
    out = tmp_path / "out"
    stdout = io.StringIO()
    call_command(
        "export_data",
        "--project",
        "sojia",
        "--profile",
        "deidentified",
        "--format",
        "stata",
        "--out",
        str(out),
        "--instruments",
        "enrollment",
        "disease_activity",
        stdout=stdout,
    )
    names = {p.name for p in out.iterdir()}
    assert {"sojia_deidentified.dta", "manifest.json", "data_dictionary.csv", "codebook.html", "schema.json"} <= names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scope"]["instruments"] == ["enrollment", "disease_activity"]
    assert "sojia_deidentified.dta" in stdout.getvalue()
    assert Release.objects.get().status == Release.Status.READY
    call_command(
        "export_data",
        "--project",
        "sojia",
        "--profile",
        "limited",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "coord"),
        "--user",
        sojia.users["coord_b"].username,
    )
    rows = (tmp_path / "coord" / "sojia_limited.csv").read_text().splitlines()[1:]
    assert rows and all(",b," in row for row in rows)
