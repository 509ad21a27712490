"""Report pages: thin views over the report services; `?format=csv` downloads the numbers behind them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from registry.access import Right, Scope, project_scope_or_404, record_or_404
from registry.reports.data import COHORT_LABELS
from registry.reports.response import INACTIVE_AT, inactive_svg, response, response_csv, response_svg
from registry.reports.stats import fmt_p
from registry.reports.table1 import table1, table1_csv
from registry.reports.timeline import clip, timeline, timeline_csv, timeline_svg
from registry.services.design import DesignError, design_of


def _design(scope: Scope):
    try:
        return design_of(scope.project)
    except DesignError:
        raise Http404("this project has no design yet") from None


def _wants_csv(request: HttpRequest, scope: Scope) -> bool:
    """CSV downloads are exports: only roles with the export right get them."""
    if request.GET.get("format") != "csv":
        return False
    scope.require(Right.EXPORT)
    return True


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def reports_index(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    _design(scope)
    records = scope.records().order_by("record_id").values_list("record_id", flat=True)[:1]
    return render(
        request,
        "reports/index.html",
        {"project": scope.project, "scope": scope, "first_record": next(iter(records), None)},
    )


@login_required
def table1_page(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    table = table1(scope, _design(scope))
    if _wants_csv(request, scope):
        return _csv(table1_csv(table), f"{code}-table1.csv")
    return render(
        request,
        "reports/table1.html",
        {
            "project": scope.project,
            "scope": scope,
            "table": table,
            "labels": COHORT_LABELS,
            "continuous": [
                (row, row.cell(row.suspected), row.cell(row.established), fmt_p(row.p)) for row in table.continuous
            ],
            "features": [
                (row, row.cell(row.suspected), row.cell(row.established), fmt_p(row.p)) for row in table.features
            ],
            "can_export": scope.can(Right.EXPORT),
        },
    )


@login_required
def timeline_page(request: HttpRequest, code: str, record_id: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    record = record_or_404(scope, record_id)
    design = _design(scope)
    full = timeline(scope, design, record.record_id)
    try:
        until = int(request.GET["until"]) if request.GET.get("until") else None
    except ValueError:
        until = None
    shown = clip(full, until)
    if _wants_csv(request, scope):
        return _csv(timeline_csv(shown), f"{code}-{record.record_id}-timeline.csv")
    return render(
        request,
        "reports/timeline.html",
        {
            "project": scope.project,
            "scope": scope,
            "record": record,
            "timeline": shown,
            "until": until,
            "chart": mark_safe(timeline_svg(shown)),  # noqa: S308 - built by svg.py, every text escaped there
            "can_export": scope.can(Right.EXPORT),
        },
    )


@login_required
def response_page(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    result = response(scope, _design(scope))
    if _wants_csv(request, scope):
        return _csv(response_csv(result), f"{code}-response.csv")
    inactive_table = [
        (label, [next(i for i in result.inactive if i.cohort == c and i.label == label) for c in COHORT_LABELS])
        for _event, label in INACTIVE_AT
    ]
    return render(
        request,
        "reports/response.html",
        {
            "project": scope.project,
            "scope": scope,
            "result": result,
            "labels": COHORT_LABELS,
            "chart": mark_safe(response_svg(result, max_week=56)),  # noqa: S308 - built by svg.py, text escaped
            "inactive_chart": mark_safe(inactive_svg(result)),  # noqa: S308 - built by svg.py, text escaped
            "inactive_table": inactive_table,
            "can_export": scope.can(Right.EXPORT),
        },
    )
