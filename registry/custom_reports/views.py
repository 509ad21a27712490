"""Custom report pages: list, define, open (paginated, live site and event filters), statistics, download."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from registry.access import Right, project_scope_or_404
from registry.custom_reports.forms import ReportForm
from registry.custom_reports.models import Report
from registry.custom_reports.services import (
    BUILTIN_TITLES,
    SELECTED,
    ReportError,
    ReportNotFound,
    may_edit,
    report_delete,
    report_get,
    report_save,
    report_table,
    reports_for,
)
from registry.custom_reports.statistics import report_statistics
from registry.exports.services import FORMAT_LABELS, FORMATS, ExportOptions, ExportRefused, release_request
from registry.services.design import DesignError, design_of

ROWS_PER_PAGE = 50


def _scope(request: HttpRequest, code: str, right: Right = Right.VIEW):
    return project_scope_or_404(request.user, code, right)


def _design(scope):
    try:
        return design_of(scope.project)
    except DesignError:
        raise Http404("this project has no design yet") from None


def _report(request: HttpRequest, scope, key: str) -> Report:
    source = request.POST if request.method == "POST" else request.GET
    try:
        return report_get(scope, key, instruments=source.getlist("instruments"), events=source.getlist("events"))
    except ReportNotFound:
        raise Http404("not found") from None


@login_required
def report_list(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    design = _design(scope)
    return render(request, "custom_reports/list.html", {
        "scope": scope, "project": scope.project, "design": design, "reports": reports_for(scope),
        "builtins": BUILTIN_TITLES, "can_define": scope.can(Right.DEFINE_REPORTS),
    })  # fmt: skip


@login_required
def report_edit(request: HttpRequest, code: str, report_id: int | None = None) -> HttpResponse:
    scope = _scope(request, code, Right.DEFINE_REPORTS)
    design = _design(scope)
    report = None
    if report_id is not None:
        report = Report.objects.filter(project=scope.project, pk=report_id).first()
        if report is None or not may_edit(scope, report):
            raise Http404("not found")
    if request.method == "POST":
        form = ReportForm(request.POST, design=design)
        if form.is_valid():
            try:
                report = report_save(scope=scope, spec=form.spec(), report=report)
            except ReportError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Report “{report.title}” saved.")
                return redirect("custom-report", code=code, key=str(report.pk))
    else:
        form = ReportForm(initial=ReportForm.initial_of(report) if report else None, design=design)
    return render(request, "custom_reports/edit.html",
                  {"scope": scope, "project": scope.project, "form": form, "report": report})  # fmt: skip


@login_required
@require_POST
def report_remove(request: HttpRequest, code: str, report_id: int) -> HttpResponse:
    scope = _scope(request, code, Right.DEFINE_REPORTS)
    report = Report.objects.filter(project=scope.project, pk=report_id).first()
    if report is None:
        raise Http404("not found")
    try:
        report_delete(scope=scope, report=report)
    except ReportNotFound:
        raise Http404("not found") from None
    messages.success(request, f"Report “{report.title}” deleted.")
    return redirect("custom-reports", code=code)


def _live_filters(request: HttpRequest) -> tuple[str, str]:
    return request.GET.get("site", "").strip(), request.GET.get("event", "").strip()


def _query(request: HttpRequest, **changes) -> str:
    params = request.GET.copy()
    for name, value in changes.items():
        params[name] = value
    return urlencode(list(params.lists()), doseq=True)


@login_required
def report_view(request: HttpRequest, code: str, key: str) -> HttpResponse:
    scope = _scope(request, code)
    design = _design(scope)
    report = _report(request, scope, key)
    site, event = _live_filters(request)
    error = ""
    table = None
    if key == SELECTED and not (report.instruments or report.events):
        error = "Choose instruments and/or events to see report B."
    else:
        try:
            table = report_table(scope, report, site=site or None, event=event or None,
                                 raw_or_label="label" if request.GET.get("labels") == "1" else "raw")  # fmt: skip
        except ReportError as exc:
            error = str(exc)
    page = Paginator(table.rows if table else [], ROWS_PER_PAGE).get_page(request.GET.get("page"))
    columns = table.columns if table else []
    return render(request, "custom_reports/report.html", {
        "scope": scope, "project": scope.project, "design": design, "report": report, "key": key,
        "columns": columns, "page": page, "rows": [[row.get(c.name, "") for c in columns] for row in page],
        "error": error, "site": site, "event": event, "sites": scope.sites(),
        "labels": request.GET.get("labels") == "1", "is_selected": key == SELECTED,
        "profile": table.profile if table else "", "can_edit": may_edit(scope, report),
        "query_prev": _query(request, page=page.previous_page_number()) if page.has_previous() else "",
        "query_next": _query(request, page=page.next_page_number()) if page.has_next() else "",
        "stats_query": _query(request), "profiles": scope.export_profiles(),
        "formats": [(f, FORMAT_LABELS[f]) for f in FORMATS],
    })  # fmt: skip


@login_required
def report_stats(request: HttpRequest, code: str, key: str) -> HttpResponse:
    scope = _scope(request, code)
    design = _design(scope)
    report = _report(request, scope, key)
    site, event = _live_filters(request)
    try:
        table = report_table(scope, report, site=site or None, event=event or None)
    except ReportError as exc:
        messages.error(request, str(exc))
        return redirect("custom-reports", code=code)
    return render(request, "custom_reports/stats.html", {
        "scope": scope, "project": scope.project, "report": report, "key": key, "rows": len(table.rows),
        "stats": report_statistics(design, table), "back_query": _query(request),
    })  # fmt: skip


@login_required
@require_POST
def report_download(request: HttpRequest, code: str, key: str) -> HttpResponse:
    """A download is an export release scoped to the report's columns, events and filter."""
    scope = _scope(request, code, Right.EXPORT)
    report = _report(request, scope, key)
    site, event = request.POST.get("site", "").strip(), request.POST.get("event", "").strip()
    events = list(report.events) or None
    if event:
        events = [event]
    options = ExportOptions(
        profile=request.POST.get("profile", ""),
        format=request.POST.get("format", "csv"),
        raw_or_label="label" if request.POST.get("raw_or_label") == "label" else "raw",
        instruments=list(report.instruments) or None,
        fields=list(report.fields) or None,
        events=events,
        sites=[site] if site else None,
        filter_logic=report.filter_logic,
    )
    try:
        release = release_request(scope=scope, options=options)
    except ExportRefused as exc:
        messages.error(request, f"Download refused: {exc}")
        return redirect(reverse("custom-report", args=[code, key]))
    messages.success(request, f"Release of “{report.title}” requested ({options.profile}, {options.format}).")
    return redirect(f"{reverse('exports', args=[code])}#release-{release.public_id}")
