"""Pages of data quality and queries. Thin: parse the request, ask a service, render."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from registry.access import Right, project_scope_or_404, record_or_404
from registry.models import Job, Membership
from registry.quality.models import Discrepancy, Priority, QualityRun, QueryStatus, ResponseCategory, Rule
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services import notifications
from registry.quality.services.calc_fix import fix_calculations
from registry.quality.services.custom_rules import (
    RuleImportError,
    rule_preview,
    rule_save,
    rules_export_csv,
    rules_import_csv,
)
from registry.quality.services.exclusions import exclusion_add
from registry.quality.services.queries import (
    QueryError,
    metrics_by_site,
    query_answer,
    query_close,
    query_open,
    query_or_404,
    query_reopen,
    query_send_back,
    visible_queries,
)
from registry.quality.services.runs import counts_by_rule_and_site, run_diff, run_start
from registry.quality.services.verification import VerificationError, verify
from registry.services.design import design_of
from registry.services.entry import EntryError


def _list(request: HttpRequest, name: str) -> list[str]:
    return [v.strip() for value in request.POST.getlist(name) for v in value.replace(",", " ").split() if v.strip()]


def _run_or_404(scope, run_id: int) -> QualityRun:
    run = QualityRun.objects.filter(project=scope.project, pk=run_id).select_related("job").first()
    if run is None:
        raise Http404("not found")
    return run


@login_required
def quality_home(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    if request.method == "POST":
        run = run_start(scope=scope, rules=request.POST.getlist("rules"), sites=request.POST.getlist("sites"),
                        records=_list(request, "records"), events=request.POST.getlist("events"),
                        open_queries=bool(request.POST.get("open_queries")))  # fmt: skip
        return redirect("quality-run", code=code, run_id=run.pk)
    design = design_of(scope.project)
    return render(request, "quality/home.html", {
        "scope": scope, "project": scope.project, "design": design, "builtins": BUILTIN_RULES.items(),
        "rules": Rule.objects.filter(project=scope.project), "sites": scope.sites(),
        "runs": QualityRun.objects.filter(project=scope.project).select_related("job")[:20],
        "can_design": scope.can(Right.DESIGN),
    })  # fmt: skip


@login_required
def run_detail(request: HttpRequest, code: str, run_id: int) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    run = _run_or_404(scope, run_id)
    rows = Discrepancy.objects.filter(run=run, record__in=scope.records()).select_related("record", "site")
    filters = {k: request.GET.get(k, "").strip() for k in ("rule", "site", "record", "event", "excluded")}
    if filters["rule"]:
        rows = rows.filter(rule=filters["rule"])
    if filters["site"]:
        rows = rows.filter(site__code=filters["site"])
    if filters["record"]:
        rows = rows.filter(record__record_id=filters["record"])
    if filters["event"]:
        rows = rows.filter(event=filters["event"])
    rows = rows.filter(excluded=filters["excluded"] == "1").order_by(
        "rule", "record__record_id", "event", "instance", "field"
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{code}-dq-run-{run.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["rule", "record", "site", "event", "instance", "field", "value", "message", "excluded"])
        for d in rows.iterator(chunk_size=5000):
            writer.writerow([d.rule, d.record.record_id, d.site.code, d.event, d.instance, d.field, d.value,
                             d.message, "y" if d.excluded else ""])  # fmt: skip
        return response
    page = Paginator(rows, 100).get_page(request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    table = counts_by_rule_and_site(run) if run.finished_at else {}
    site_codes = sorted({s for counts in table.values() for s in counts})
    return render(request, "quality/run.html", {
        "scope": scope, "project": scope.project, "run": run, "page_obj": page, "filters": filters,
        "query": query.urlencode(), "diff": run_diff(run) if run.finished_at else None,
        "table": [(rule, BUILTIN_RULES.get(rule, ""), [counts.get(s, 0) for s in site_codes], sum(counts.values()))
                  for rule, counts in sorted(table.items())],
        "site_codes": site_codes, "status_url": reverse("quality-run-status", kwargs={"code": code, "run_id": run.pk}),
        "can_fix": scope.can(Right.ENTER_DATA), "open_queries": scope.can(Right.OPEN_QUERY),
    })  # fmt: skip


@login_required
def run_status(request: HttpRequest, code: str, run_id: int) -> JsonResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    run = _run_or_404(scope, run_id)
    job = run.job
    # A queued job's error is the broker-outage message (jobs.DISPATCH_WAITING): the monitor sees why it waits.
    error = job.error if job and job.status in (Job.Status.FAILED, Job.Status.QUEUED) else ""
    return JsonResponse({"status": job.status if job else "succeeded", "progress": job.progress if job else 100,
                         "total": (job.total if job else 100) or 100, "finished": run.finished_at is not None,
                         "error": error})  # fmt: skip


@login_required
@require_POST
def run_fix_calcs(request: HttpRequest, code: str, run_id: int) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    run = _run_or_404(scope, run_id)
    fixed = fix_calculations(scope=scope, run=run)
    messages.success(request, f"{fixed} calculated value(s) corrected; run the rules again to confirm.")
    return redirect("quality-run", code=code, run_id=run.pk)


@login_required
@require_POST
def discrepancy_exclude(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    discrepancy = Discrepancy.objects.filter(pk=pk, run__project=scope.project).select_related("record").first()
    if discrepancy is None:
        raise Http404("not found")
    try:
        exclusion_add(scope=scope, discrepancy=discrepancy, reason=request.POST.get("reason", ""))
        messages.success(request, "Marked as acceptable; it stays excluded while the value is unchanged.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("quality-run", code=code, run_id=discrepancy.run_id)


@login_required
def rule_edit(request: HttpRequest, code: str, rule_code: str = "") -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    rule = Rule.objects.filter(project=scope.project, code=rule_code).first() if rule_code else None
    if rule_code and rule is None:
        raise Http404("not found")
    data = {"name": rule.name if rule else "", "logic": rule.logic if rule else "",
            "real_time": rule.real_time if rule else False, "record": ""}  # fmt: skip
    problem, preview = None, None
    if request.method == "POST":
        data = {"name": request.POST.get("name", ""), "logic": request.POST.get("logic", ""),
                "real_time": bool(request.POST.get("real_time")),
                "record": request.POST.get("record", "").strip()}  # fmt: skip
        if "preview" in request.POST:
            record = record_or_404(scope, data["record"]) if data["record"] else None
            if record is None:
                problem = "give a record id to test the rule on"
            else:
                problem, preview = rule_preview(scope=scope, logic=data["logic"], record=record)
        else:
            scope.require(Right.DESIGN)
            try:
                saved = rule_save(scope=scope, name=data["name"], logic=data["logic"], real_time=data["real_time"],
                                  rule=rule)  # fmt: skip
                messages.success(request, f"Rule {saved.code} saved.")
                return redirect("quality-home", code=code)
            except RuleImportError as exc:
                problem = str(exc)
    return render(request, "quality/rule_form.html", {
        "scope": scope, "project": scope.project, "rule": rule, "data": data, "problem": problem,
        "preview": preview, "can_design": scope.can(Right.DESIGN),
    })  # fmt: skip


@login_required
def rules_csv(request: HttpRequest, code: str) -> HttpResponse:
    if request.method == "POST":
        scope = project_scope_or_404(request.user, code, Right.DESIGN)
        upload = request.FILES.get("file")
        try:
            text = upload.read().decode("utf-8") if upload else ""
            saved = rules_import_csv(scope=scope, text=text, replace=bool(request.POST.get("replace")))
            messages.success(request, f"{len(saved)} rules imported.")
        except (RuleImportError, UnicodeDecodeError) as exc:
            messages.error(request, f"Nothing imported: {exc}")
        return redirect("quality-home", code=code)
    scope = project_scope_or_404(request.user, code, Right.RUN_QUALITY)
    response = HttpResponse(rules_export_csv(scope.project), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{code}-dq-rules.csv"'
    return response


# -- queries ------------------------------------------------------------------------------------


@login_required
def query_list(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    rows = visible_queries(scope).select_related("record", "record__site", "assignee")
    f = {k: request.GET.get(k, "").strip()
         for k in ("site", "status", "min_age", "assignee", "instrument", "field", "record")}  # fmt: skip
    if f["record"]:
        rows = rows.filter(record__record_id=f["record"])
    if f["site"]:
        rows = rows.filter(record__site__code=f["site"])
    if f["status"]:
        rows = rows.filter(status=f["status"])
    if f["min_age"].isdigit():
        rows = rows.filter(opened_at__lte=timezone.now() - timezone.timedelta(days=int(f["min_age"])))
    if f["assignee"]:
        rows = rows.filter(assignee__username=f["assignee"])
    if f["instrument"]:
        rows = rows.filter(instrument=f["instrument"])
    if f["field"]:
        rows = rows.filter(field=f["field"])
    now = timezone.now()
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{code}-queries.csv"'
        writer = csv.writer(response)
        writer.writerow(["query", "record", "site", "event", "instrument", "instance", "field", "rule", "status",
                         "priority", "assignee", "opened_at", "closed_at", "age_days"])  # fmt: skip
        for q in rows.iterator(chunk_size=2000):
            writer.writerow([q.pk, q.record.record_id, q.record.site.code, q.event, q.instrument, q.instance, q.field,
                             q.rule, q.status, q.priority, q.assignee.username if q.assignee else "",
                             q.opened_at.isoformat(), q.closed_at.isoformat() if q.closed_at else "",
                             ((q.closed_at or now) - q.opened_at).days])  # fmt: skip
        return response
    page = Paginator(rows, 50).get_page(request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "quality/queries.html", {
        "scope": scope, "project": scope.project, "page_obj": page, "filters": f, "query": query.urlencode(),
        "statuses": QueryStatus.choices, "sites": scope.sites(), "metrics": metrics_by_site(scope), "now": now,
    })  # fmt: skip


@login_required
@require_POST
def query_new(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.OPEN_QUERY)
    record = record_or_404(scope, request.POST.get("record", ""))
    assignee = None
    if request.POST.get("assignee"):
        user_ids = Membership.objects.filter(project=scope.project).values_list("user_id", flat=True)
        assignee = get_user_model().objects.filter(pk__in=user_ids, username=request.POST["assignee"]).first()
    try:
        query = query_open(scope=scope, record=record, comment=request.POST.get("comment", ""),
                           event=request.POST.get("event", ""), instrument=request.POST.get("instrument", ""),
                           instance=int(request.POST.get("instance") or 1), field=request.POST.get("field", ""),
                           assignee=assignee, priority=request.POST.get("priority") or Priority.NORMAL)  # fmt: skip
    except (QueryError, ValueError) as exc:
        messages.error(request, f"Query not opened: {exc}")
        return redirect("query-list", code=code)
    messages.success(request, f"Query #{query.pk} opened.")
    return redirect("query-detail", code=code, pk=query.pk)


@login_required
def query_detail(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    query = query_or_404(scope, pk)
    if request.method == "POST":
        action, comment = request.POST.get("action", ""), request.POST.get("comment", "")
        try:
            if action == "answer":
                values = {}
                if request.POST.get("correct") and query.field:
                    values = {query.field: request.POST.get("value", "")}
                query_answer(scope=scope, query=query, category=request.POST.get("category", ""), comment=comment,
                             values=values or None)  # fmt: skip
            elif action == "send_back":
                query_send_back(scope=scope, query=query, comment=comment)
            elif action == "close":
                query_close(scope=scope, query=query, comment=comment)
            elif action == "reopen":
                query_reopen(scope=scope, query=query, comment=comment)
            else:
                raise QueryError("unknown action")
            messages.success(request, "Query updated.")
        except (QueryError, EntryError) as exc:
            messages.error(request, str(exc))
        return redirect("query-detail", code=code, pk=pk)
    return render(request, "quality/query.html", {
        "scope": scope, "project": scope.project, "q": query, "thread": query.messages.select_related("author"),
        "categories": ResponseCategory.choices,
        "can_answer": scope.can(Right.ANSWER_QUERY) and query.status == QueryStatus.OPEN,
        "can_close": scope.can(Right.CLOSE_QUERY) and query.status != QueryStatus.CLOSED,
        "can_send_back": scope.can(Right.CLOSE_QUERY) and query.status == QueryStatus.ANSWERED,
        "can_reopen": scope.can(Right.OPEN_QUERY) and query.status == QueryStatus.CLOSED,
        "can_correct": scope.can(Right.ENTER_DATA) and bool(query.field),
    })  # fmt: skip


@login_required
@require_POST
def verify_point(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.VERIFY)
    record = record_or_404(scope, request.POST.get("record", ""))
    event, instrument = request.POST.get("event", ""), request.POST.get("instrument", "")
    instance = int(request.POST.get("instance") or 1)
    try:
        verify(scope=scope, record=record, event=event, instrument=instrument, instance=instance,
               field=request.POST.get("field", ""))  # fmt: skip
        messages.success(request, "Verified against source.")
    except VerificationError as exc:
        messages.error(request, str(exc))
    return redirect("form-entry", code=code, record_id=record.record_id, event=event, instrument=instrument,
                    instance=instance)  # fmt: skip


@login_required
def inbox(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    if request.method == "POST":
        notifications.mark_read(request.user)
        return redirect("query-inbox", code=code)
    notes = [n for n in notifications.unread(request.user) if n.project_id == scope.project.pk]
    return render(request, "quality/inbox.html", {"scope": scope, "project": scope.project, "notes": notes})
