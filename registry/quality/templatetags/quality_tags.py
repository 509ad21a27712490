"""Query and verification markers for pages owned by data entry (the form page, the dashboard)."""

from __future__ import annotations

from django import template
from django.db.models import Count

from registry.access import Right
from registry.models import FormInstance
from registry.quality.models import Query, QueryStatus
from registry.quality.services.verification import verified_points
from registry.services.design import design_of

register = template.Library()


@register.inclusion_tag("quality/_form_panel.html")
def form_quality_panel(scope, record, event: str, instrument: str, instance: int, existing=None) -> dict:
    """Open queries of this form and of the record, SDV state, and the open-query / verify forms."""
    queries = list(
        Query.objects.filter(record=record).exclude(status=QueryStatus.CLOSED)
        .filter(event__in=["", event]).filter(instrument__in=["", instrument], instance=instance)
    )  # fmt: skip
    verified: set[str] = set()
    form = existing or FormInstance.objects.filter(record=record, event=event, instrument=instrument,
                                                   instance=instance).first()  # fmt: skip
    design = design_of(scope.project)
    if form is not None:
        verified = verified_points(design, form)
    return {"scope": scope, "project": scope.project, "record": record, "event": event, "instrument": instrument,
            "instance": instance, "queries": queries, "verified": sorted(v for v in verified if v),
            "form_verified": "" in verified, "has_form": form is not None,
            "fields": [f.name for f in design.fields(instrument) if f.has_data],
            "can_open": scope.can(Right.OPEN_QUERY), "can_verify": scope.can(Right.VERIFY)}  # fmt: skip


@register.simple_tag
def open_query_counts(rows) -> dict[int, int]:
    """Open (not closed) queries per record on one dashboard page: one query, whatever the page size."""
    pks = [row.record.pk for row in rows]
    if not pks:
        return {}
    counts = (Query.objects.filter(record_id__in=pks).exclude(status=QueryStatus.CLOSED)
              .values_list("record_id").annotate(n=Count("id")))  # fmt: skip
    return dict(counts)


@register.filter
def lookup(mapping: dict, key):
    return mapping.get(key, 0) if mapping else 0
