"""Reading the audit trail: a field's history and the filtered project log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone

from registry.access import Scope
from registry.models import AuditEvent
from registry.services.audit import chain_of


@dataclass
class AuditFilters:
    record_id: str = ""
    username: str = ""
    field: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_rows(scope: Scope, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Audit rows of the project the scope may see: a site-limited user sees her site's records only."""
    rows = AuditEvent.objects.filter(chain=chain_of(scope.project))
    if not scope.all_sites:
        rows = rows.filter(record_id__in=scope.records().values("record_id"))
    if filters.record_id:
        rows = rows.filter(record_id=filters.record_id)
    if filters.username:
        rows = rows.filter(username=filters.username)
    if filters.field:
        rows = rows.filter(field=filters.field)
    if filters.date_from:
        rows = rows.filter(at__gte=timezone.make_aware(datetime.combine(filters.date_from, time.min), timezone.UTC))
    if filters.date_to:
        rows = rows.filter(at__lte=timezone.make_aware(datetime.combine(filters.date_to, time.max), timezone.UTC))
    return rows.order_by("-sequence")


def field_history(scope: Scope, record_id: str, event: str, instrument: str, instance: int, field: str):
    rows = audit_rows(scope, AuditFilters(record_id=record_id)).filter(event=event, instrument=instrument,
                                                                       instance=instance)  # fmt: skip
    return rows.filter(field__in=[field]) | rows.filter(field__startswith=f"{field}___")
