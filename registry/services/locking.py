"""Locking forms and records, and e-signatures by a principal investigator.

Locked data is read-only everywhere because every write goes through form_save, which refuses
locked forms and records. Unlocking needs a reason; every lock, unlock and signature is audited.
A signature re-checks the signer's password and stores the meaning of the signature and a hash
of the values signed; changing signed data requires unlocking, which revokes the signature.
"""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.utils import timezone

from registry.access import Right, Scope
from registry.models import AuditSource, FormInstance, Record, Signature
from registry.services.audit import Change, audit_append

SIGNATURE_MEANING = (
    "I have reviewed the data of this {what} and confirm that they are complete and accurate to the best "
    "of my knowledge. This electronic signature is the legally binding equivalent of my handwritten signature."
)


class LockingError(Exception):
    pass


def _forms_hash(forms) -> str:
    payload = [[f.event, f.instrument, f.instance, f.data, f.missing, f.status] for f in forms]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _audit(scope: Scope, action: str, record: Record, form: FormInstance | None, reason: str = "", **details):
    change = Change(record_id=record.record_id, details=details)
    if form is not None:
        change.event, change.instrument, change.instance = form.event, form.instrument, form.instance
    audit_append(project=scope.project, action=action, changes=[change], user=scope.user,
                 source=AuditSource.WEB, reason=reason)  # fmt: skip


@transaction.atomic
def form_lock(*, scope: Scope, form: FormInstance) -> None:
    scope.require(Right.LOCK)
    form = FormInstance.objects.select_for_update().get(pk=form.pk, record__in=scope.records())
    if form.locked:
        raise LockingError("this form is already locked")
    form.locked = True
    form.save(update_fields=["locked", "updated_at"])
    _audit(scope, "form_locked", form.record, form)


@transaction.atomic
def form_unlock(*, scope: Scope, form: FormInstance, reason: str) -> None:
    scope.require(Right.LOCK)
    if not reason.strip():
        raise LockingError("give a reason for unlocking")
    form = FormInstance.objects.select_for_update().get(pk=form.pk, record__in=scope.records())
    if not form.locked:
        raise LockingError("this form is not locked")
    form.locked = False
    form.save(update_fields=["locked", "updated_at"])
    revoked = Signature.objects.filter(form=form, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=f"unlocked: {reason.strip()}"
    )
    _audit(scope, "form_unlocked", form.record, form, reason=reason.strip(), signatures_revoked=revoked)


@transaction.atomic
def record_lock(*, scope: Scope, record: Record) -> None:
    scope.require(Right.LOCK)
    record = Record.objects.select_for_update().get(pk=record.pk, pk__in=scope.records())
    if record.locked:
        raise LockingError("this record is already locked")
    record.locked = True
    record.save(update_fields=["locked"])
    _audit(scope, "record_locked", record, None)


@transaction.atomic
def record_unlock(*, scope: Scope, record: Record, reason: str) -> None:
    scope.require(Right.LOCK)
    if not reason.strip():
        raise LockingError("give a reason for unlocking")
    record = Record.objects.select_for_update().get(pk=record.pk, pk__in=scope.records())
    if not record.locked:
        raise LockingError("this record is not locked")
    record.locked = False
    record.save(update_fields=["locked"])
    revoked = Signature.objects.filter(record=record, form__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=f"unlocked: {reason.strip()}"
    )
    _audit(scope, "record_unlocked", record, None, reason=reason.strip(), signatures_revoked=revoked)


def sign(*, scope: Scope, record: Record, password: str, form: FormInstance | None = None) -> Signature:
    """E-sign a form (or the whole record): re-enter the password; the form or record is locked too."""
    scope.require(Right.SIGN)
    if not scope.user.check_password(password):
        _audit(
            scope, "signature_refused", record, form, reason="wrong password"
        )  # kept: outside the signing transaction
        raise LockingError("the password is not correct: nothing was signed")
    return _sign(scope=scope, record=record, form=form)


@transaction.atomic
def _sign(*, scope: Scope, record: Record, form: FormInstance | None) -> Signature:
    record = Record.objects.select_for_update().get(pk=record.pk, pk__in=scope.records())
    if form is not None:
        form = FormInstance.objects.select_for_update().get(pk=form.pk, record=record)
        forms, what = [form], "form"
        if not form.locked:
            form.locked = True
            form.save(update_fields=["locked", "updated_at"])
    else:
        forms, what = (
            list(FormInstance.objects.filter(record=record).order_by("event", "instrument", "instance")),
            "record",
        )
        if not record.locked:
            record.locked = True
            record.save(update_fields=["locked"])
    signature = Signature.objects.create(
        record=record, form=form, signed_by=scope.user, signed_at=timezone.now(),
        meaning=SIGNATURE_MEANING.format(what=what), data_sha256=_forms_hash(forms),
    )  # fmt: skip
    _audit(scope, "e_signature", record, form, meaning=signature.meaning, data_sha256=signature.data_sha256)
    return signature
