"""The import tool's pages, its jobs (progress, report) at 10,000 rows, and the import_records command."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from registry.imports.models import ImportRun
from registry.imports.services import UploadOptions, check_request, commit_request, upload
from registry.models import AuditEvent, FormInstance, Job, Record
from tests.registry.designs import import_classic
from tests.registry.factories import build_world


def _login(client, world, name):
    client.force_login(world.users[name])


def test_pages_dry_run_then_commit(client, sojia, django_capture_on_commit_callbacks):
    a1, b1 = sojia.names["A1"], sojia.names["B1"]
    _login(client, sojia, "coord_a")
    code = sojia.project.code
    assert client.get(reverse("import-page", args=[code])).status_code == 200
    bad = SimpleUploadedFile("visits.csv", f"record_id,redcap_event_name,ajc\n{b1},baseline_arm_1,4\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-upload", args=[code]), {"file": bad, "date_format": "YMD"})
    page = client.get(response["Location"])
    assert b"site you cannot write to" in page.content and b"import-commit" not in page.content
    run = ImportRun.objects.get()
    report = client.get(reverse("import-report", args=[code, run.public_id]))
    assert report.content.decode().splitlines()[1].startswith(f"2,{b1},")

    good = SimpleUploadedFile("visits.csv", f"record_id,redcap_event_name,ajc\n{a1},baseline_arm_1,4\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-upload", args=[code]), {"file": good, "date_format": "YMD"})
    page = client.get(response["Location"])
    assert b"Dry run clean" in page.content and b"import-commit" in page.content
    assert FormInstance.objects.get(record__record_id=a1, instrument="disease_activity").data["ajc"] == "2"
    run = ImportRun.objects.filter(status=ImportRun.Status.CHECKED).get()
    # Another user cannot see, let alone commit, her file.
    _login(client, sojia, "coord_b")
    assert client.post(reverse("import-commit", args=[code, run.public_id])).status_code == 404
    _login(client, sojia, "coord_a")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-commit", args=[code, run.public_id]))
    status = client.get(reverse("import-status", args=[code, run.public_id])).json()
    assert status["status"] == "committed" and status["finished"] and status["percent"] == 100
    assert b"Imported: 1 records" in client.get(reverse("import-run", args=[code, run.public_id])).content
    assert FormInstance.objects.get(record__record_id=a1, instrument="disease_activity").data["ajc"] == "4"


def test_monitor_has_no_import_tool(client, sojia):
    _login(client, sojia, "monitor")
    assert client.get(reverse("import-page", args=[sojia.project.code])).status_code == 404


def test_ten_thousand_rows_run_as_jobs_with_progress_and_report(db, django_capture_on_commit_callbacks):
    world = build_world(project=import_classic())
    scope = world.scope("dm")
    lines = ["record_id,redcap_data_access_group,esr"]
    lines += [f"R{i:05d},{'a' if i % 2 else 'b'},{i % 140}" for i in range(10_000)]
    data = ("\n".join(lines) + "\n").encode()
    run = upload(scope=scope, file_name="big.csv", data=data, options=UploadOptions())
    assert run.rows == 10_000
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        check_request(run)
    checked = time.monotonic()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CHECKED, run.problems[:3]
    assert run.check_job.status == Job.Status.SUCCEEDED
    assert run.summary["records_created"] == 10_000 and run.summary["forms_saved"] == 10_000
    assert Record.objects.filter(project=world.project).count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        commit_request(scope=scope, run=run)
    done = time.monotonic()
    run.refresh_from_db()
    print(f"10,000 rows: dry run {checked - started:.1f} s, commit {done - checked:.1f} s")
    assert run.status == ImportRun.Status.COMMITTED
    job = run.commit_job
    assert job.status == Job.Status.SUCCEEDED and job.result["status"] == "committed"
    assert run.summary["records"] == 10_000 and run.summary["values_changed"] >= 10_000
    assert Record.objects.filter(project=world.project).count() == 10_000
    assert FormInstance.objects.get(record__record_id="R00139", instrument="labs").data["esr"] == "139"
    assert AuditEvent.objects.filter(action="record_import", details__sha256=run.sha256).count() == 1


def test_command_dry_run_then_import(sojia, tmp_path):
    a1 = sojia.names["A1"]
    path = tmp_path / "visits.csv"
    path.write_text(f"record_id,redcap_event_name,visit_date,ajc\n{a1},month_1_arm_1,02/28/2021,3\n")
    out = StringIO()
    call_command("import_records", str(path), "--project", sojia.project.code, "--dry-run", "--date-format", "MDY",
                 stdout=out)  # fmt: skip
    assert "values would change" in out.getvalue()
    assert not FormInstance.objects.filter(record__record_id=a1, event="month_1_arm_1").exists()
    out = StringIO()
    call_command("import_records", str(path), "--project", sojia.project.code, "--date-format", "MDY", stdout=out)
    form = FormInstance.objects.get(record__record_id=a1, event="month_1_arm_1")
    assert form.data["visit_date"] == "2021-02-28" and "sha256" in out.getvalue()

    path.write_text(f"record_id,redcap_event_name,ajc\n{sojia.names['B1']},baseline_arm_1,500\n")
    err = StringIO()
    with pytest.raises(CommandError, match="1 problems"):
        call_command("import_records", str(path), "--project", sojia.project.code, "--user", "sojia_coord_a",
                     stderr=err)  # fmt: skip
    assert err.getvalue().startswith("row 2: ")
