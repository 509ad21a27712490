"""Source-data verification (SDV): a monitor marks a field, or a whole form, as checked against source.

A verification keeps the hash of what was verified; when the value changes it no longer holds
(checked on read) and the save removes it with an audit row.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.utils import timezone

from registry.access import Right, Scope
from registry.models import AuditSource, FormInstance, Record
from registry.quality.models import Verification
from registry.quality.rules import value_hash
from registry.services.audit import Change, audit_append
from registry.services.design import design_of


class VerificationError(Exception):
    pass


def point_hash(design, form: FormInstance, field: str) -> str:
    """Hash of a field's stored value(s) and missing code, or of the whole form when field is blank."""
    if not field:
        return value_hash(json.dumps([form.data, form.missing], sort_keys=True))
    f = design.field_map[field]
    columns = f.checkbox_columns() or [field]
    return value_hash(json.dumps([[form.data.get(c, "") for c in columns], form.missing.get(field, "")]))


def verify(
    *, scope: Scope, record: Record, event: str, instrument: str, instance: int = 1, field: str = ""
) -> Verification:
    scope.require(Right.VERIFY)
    if not scope.records().filter(pk=record.pk).exists():
        raise VerificationError("record not found")
    design = design_of(scope.project)
    form = FormInstance.objects.filter(record=record, event=event, instrument=instrument, instance=instance).first()
    if form is None:
        raise VerificationError("there is no data to verify on this form")
    if field and design.instrument_of.get(field) != instrument:
        raise VerificationError("no such field on this form")
    with transaction.atomic():
        verification, _ = Verification.objects.update_or_create(
            record=record, event=event, instrument=instrument, instance=instance, field=field,
            defaults={"project": scope.project, "value_hash": point_hash(design, form, field),
                      "verified_by": scope.user, "verified_at": timezone.now()},
        )  # fmt: skip
        audit_append(project=scope.project, action="sdv_verify", user=scope.user, changes=[Change(
            field=field, record_id=record.record_id, event=event, instrument=instrument,
            instance=instance)])  # fmt: skip
    return verification


def verified_points(design, form: FormInstance) -> set[str]:
    """Fields of the form whose verification still holds ('' in the set: the whole form)."""
    points = set()
    for v in Verification.objects.filter(record_id=form.record_id, event=form.event, instrument=form.instrument,
                                         instance=form.instance):  # fmt: skip
        if v.field and v.field not in design.field_map:
            continue
        if point_hash(design, form, v.field) == v.value_hash:
            points.add(v.field)
    return points


def clear_stale(*, project, design, form: FormInstance, user=None,
                verifications: list[tuple[int, str, str]] | None = None) -> list[str]:  # fmt: skip
    """Drop verifications the form's new values no longer match (called after every save).

    `verifications`: the form's (pk, field, value hash) rows when the caller has read them already.
    """
    if verifications is None:
        verifications = list(Verification.objects.filter(record_id=form.record_id, event=form.event,
                                                         instrument=form.instrument, instance=form.instance)
                             .values_list("pk", "field", "value_hash"))  # fmt: skip
    stale = [(pk, field) for pk, field, digest in verifications
             if (field and field not in design.field_map) or point_hash(design, form, field) != digest]  # fmt: skip
    if not stale:
        return []
    with transaction.atomic():
        Verification.objects.filter(pk__in=[pk for pk, _ in stale]).delete()
        audit_append(project=project, action="sdv_cleared", user=user, source=AuditSource.SYSTEM, changes=[
            Change(field=field, record_id=form.record.record_id, event=form.event, instrument=form.instrument,
                   instance=form.instance, details={"reason": "value changed"}) for _, field in stale])  # fmt: skip
    return [field for _, field in stale]
