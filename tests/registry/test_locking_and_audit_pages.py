"""Locking, e-signatures, the audit pages and login auditing, through services and pages."""

from __future__ import annotations

import pytest
from django.http import Http404

from registry.models import AuditEvent, FormInstance, Signature
from registry.services.entry import EntryError, form_save
from registry.services.locking import LockingError, form_lock, form_unlock, record_lock, record_unlock, sign
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world

EVENT = "event_1_arm_1"


@pytest.fixture
def world(db):
    return build_world(project=import_classic())


def filled(world, values=None):
    record = record_create(scope=world.scope("coord_a"))
    outcome = form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
                        values=values or {"name": "Synthetic Patient", "age": "7"}, status=2)  # fmt: skip
    return record, outcome.form


def password_of(username: str) -> str:
    return "pw-" + username * 3


def test_locked_form_is_read_only_and_unlock_needs_a_reason(world):
    record, form = filled(world)
    form_lock(scope=world.scope("pi"), form=form)
    with pytest.raises(EntryError, match="locked"):
        form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
                  values={"age": "8"}, reason="x")  # fmt: skip
    with pytest.raises(LockingError, match="reason"):
        form_unlock(scope=world.scope("pi"), form=form, reason=" ")
    form_unlock(scope=world.scope("pi"), form=form, reason="late lab result arrived")
    row = AuditEvent.objects.filter(action="form_unlocked").get()
    assert row.reason == "late lab result arrived" and row.username == world.users["pi"].username
    with pytest.raises(Http404):
        form_lock(scope=world.scope("coord_a"), form=form)  # coordinators cannot lock


def test_locked_record_blocks_every_form(world):
    record, _ = filled(world)
    record_lock(scope=world.scope("dm"), record=record)
    with pytest.raises(EntryError, match="locked"):
        form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="labs", values={"esr": "3"})
    record_unlock(scope=world.scope("dm"), record=record, reason="query answered")


def test_e_signature_rechecks_the_password_and_stores_its_meaning(world):
    record, form = filled(world)
    with pytest.raises(LockingError, match="password"):
        sign(scope=world.scope("pi"), record=record, form=form, password="wrong")
    assert not Signature.objects.exists()
    assert AuditEvent.objects.filter(action="signature_refused").count() == 1
    signature = sign(scope=world.scope("pi"), record=record, form=form, password=password_of("pi"))
    form.refresh_from_db()
    assert form.locked
    assert "complete and accurate" in signature.meaning and len(signature.data_sha256) == 64
    row = AuditEvent.objects.get(action="e_signature")
    assert row.details["meaning"] == signature.meaning
    with pytest.raises(Http404):
        sign(scope=world.scope("monitor"), record=record, form=form, password=password_of("monitor"))
    form_unlock(scope=world.scope("dm"), form=form, reason="correction needed")
    signature.refresh_from_db()
    assert signature.revoked_at is not None and "correction needed" in signature.revoked_reason


def test_pi_signs_through_the_form_page(client, world):
    record, form = filled(world)
    client.force_login(world.users["pi"])
    url = f"/projects/classic/records/{record.record_id}/{EVENT}/demographics/1/"
    assert b"E-sign and lock" in client.get(url).content
    client.post(f"/projects/classic/records/{record.record_id}/lock/",
                {"action": "sign", "form": form.pk, "password": password_of("pi")})  # fmt: skip
    page = client.get(url).content.decode()
    assert 'data-testid="signature"' in page and 'data-testid="read-only"' in page


def test_field_history_and_project_audit_page(client, world):
    record, _ = filled(world, {"age": "7"})
    form_save(scope=world.scope("coord_a"), record=record, event=EVENT, instrument="demographics",
              values={"age": "8"}, reason="re-measured")  # fmt: skip
    client.force_login(world.users["monitor"])
    history = client.get(f"/projects/classic/records/{record.record_id}/{EVENT}/demographics/1/history/age/")
    html = history.content.decode()
    assert history.status_code == 200 and "re-measured" in html and ">7<" in html and ">8<" in html
    page = client.get("/projects/classic/audit/", {"record_id": record.record_id, "field": "age"})
    assert page.status_code == 200 and "re-measured" in page.content.decode()
    download = client.get("/projects/classic/audit/", {"field": "age", "format": "csv"})
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("sequence,at_utc,username") and len(lines) == 3
    assert AuditEvent.objects.filter(action="audit_download").exists()


def test_statistician_sees_no_identifiers_and_no_audit(client, world):
    record, _ = filled(world)
    client.force_login(world.users["stat"])
    page = client.get(f"/projects/classic/records/{record.record_id}/{EVENT}/demographics/1/").content.decode()
    assert "Synthetic Patient" not in page and 'name="name"' not in page
    assert 'name="age"' in page
    assert client.get("/projects/classic/audit/").status_code == 404
    assert "Synthetic Patient" not in client.get(f"/projects/classic/records/{record.record_id}/").content.decode()


def test_coordinator_audit_page_shows_only_her_site(client, world):
    filled(world)
    b_record = record_create(scope=world.scope("coord_b"))
    client.force_login(world.users["coord_a"])
    html = client.get("/projects/classic/audit/").content.decode()
    assert "AAA-0001" in html and b_record.record_id not in html


def test_logins_and_failed_logins_are_audited(client, world):
    assert not client.login(username=world.users["coord_a"].username, password="nope")
    assert client.login(username=world.users["coord_a"].username, password=password_of("coord_a"))
    actions = list(AuditEvent.objects.filter(chain="system").values_list("action", flat=True))
    assert actions == ["login_failed", "login"]


def test_form_instance_kept_when_locked_save_refused(world):
    record, form = filled(world)
    form_lock(scope=world.scope("dm"), form=form)
    before = FormInstance.objects.get(pk=form.pk).data
    with pytest.raises(EntryError):
        form_save(scope=world.scope("dm"), record=record, event=EVENT, instrument="demographics", values={"age": "9"},
                  reason="x")  # fmt: skip
    assert FormInstance.objects.get(pk=form.pk).data == before


def test_design_changes_are_audited(world):
    from forms.dictionary.services import import_dictionary
    from tests.registry.designs import classic_dictionary

    relabelled = classic_dictionary().replace("Age (years)", "Age").encode()
    result = import_dictionary(project_code="classic", source=relabelled, user=world.users["dm"])
    assert not result.errors
    rows = AuditEvent.objects.filter(project=world.project, action="design_version_created").order_by("sequence")
    assert [r.details["version"] for r in rows] == [1, 2]
    assert rows.last().username == world.users["dm"].username
    assert rows.last().details["source_sha256"] == result.source_sha256
