"""Exclusions: a monitor accepts a discrepancy (with a reason).

Later runs keep it excluded while the value is unchanged.
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404

from registry.access import Right, Scope
from registry.quality.models import Discrepancy, Exclusion
from registry.services.audit import Change, audit_append


def exclusion_add(*, scope: Scope, discrepancy: Discrepancy, reason: str) -> Exclusion:
    scope.require(Right.RUN_QUALITY)
    if not scope.records().filter(pk=discrepancy.record_id).exists():
        raise Http404("not found")
    if not reason.strip():
        raise ValueError("give the reason the value is acceptable")
    with transaction.atomic():
        exclusion, _ = Exclusion.objects.update_or_create(
            project=scope.project, rule=discrepancy.rule, record_id=discrepancy.record_id, event=discrepancy.event,
            instance=discrepancy.instance, field=discrepancy.field,
            defaults={"value_hash": discrepancy.value_hash, "reason": reason.strip(), "created_by": scope.user},
        )  # fmt: skip
        Discrepancy.objects.filter(pk=discrepancy.pk).update(excluded=True)
        audit_append(project=scope.project, action="dq_exclusion", user=scope.user, reason=reason.strip(), changes=[
            Change(field=discrepancy.field, record_id=discrepancy.record.record_id, event=discrepancy.event,
                   instrument=discrepancy.instrument, instance=discrepancy.instance,
                   details={"rule": discrepancy.rule})])  # fmt: skip
    return exclusion
