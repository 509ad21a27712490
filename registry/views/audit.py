"""The project audit page (filters, CSV download) and a field's history."""

from __future__ import annotations

import csv
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from registry.access import Right, project_scope_or_404, record_or_404
from registry.models import AuditSource
from registry.selectors_audit import AuditFilters, audit_rows, field_history
from registry.services.audit import Change, audit_append

CSV_COLUMNS = ["sequence", "at_utc", "username", "action", "record_id", "event", "instrument", "instance", "field",
               "old_value", "new_value", "reason", "source", "request_id"]  # fmt: skip


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def project_audit(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.VIEW_AUDIT)
    filters = AuditFilters(
        record_id=request.GET.get("record_id", "").strip(), username=request.GET.get("username", "").strip(),
        field=request.GET.get("field", "").strip(), date_from=_date(request.GET.get("from", "")),
        date_to=_date(request.GET.get("to", "")),
    )  # fmt: skip
    rows = audit_rows(scope, filters)
    if request.GET.get("format") == "csv":
        used = {name: str(value) for name, value in vars(filters).items() if value}
        audit_append(project=scope.project, action="audit_download", changes=[Change(details={"filters": used})],
                     user=request.user, source=AuditSource.WEB)  # fmt: skip
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(CSV_COLUMNS)
            for r in rows.iterator(chunk_size=2000):
                yield writer.writerow([r.sequence, r.at.isoformat(), r.username, r.action, r.record_id, r.event,
                                       r.instrument, r.instance or "", r.field, r.old_value or "", r.new_value or "",
                                       r.reason, r.source, r.request_id])  # fmt: skip

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{scope.project.code}-audit.csv"'
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"project": scope.project, "scope": scope, "page_obj": page, "filters": filters}
    return render(request, "registry/audit.html", {**context, "query": query.urlencode()})


@login_required
def field_history_view(request: HttpRequest, code: str, record_id: str, event: str, instrument: str, instance: int,
                       field: str) -> HttpResponse:  # fmt: skip
    scope = project_scope_or_404(request.user, code, Right.VIEW_AUDIT)
    record = record_or_404(scope, record_id)
    rows = field_history(scope, record.record_id, event, instrument, instance, field)
    context = {"project": scope.project, "scope": scope, "record": record, "rows": rows, "field": field}
    where = {"event": event, "instrument": instrument, "instance": instance}
    return render(request, "registry/field_history.html", {**context, **where})
