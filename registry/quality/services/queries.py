"""The data resolution workflow: open, answer (optionally correcting the value), send back, close,
re-open; queries opened by rule runs and closed by the system when the data is fixed.

Statuses: open (unanswered) -> answered -> closed; a monitor sends an answered query back to open or
re-opens a closed one. Every step is a QueryMessage and an audit row, in one transaction.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from registry.access import Right, Scope
from registry.models import AuditSource, Record
from registry.quality.engine import Selection, one_of, selection_filters
from registry.quality.models import (
    Discrepancy,
    Priority,
    QualityRun,
    Query,
    QueryMessage,
    QueryStatus,
    ResponseCategory,
)
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services.notifications import notify, site_coordinators
from registry.services.audit import Change, audit_append
from registry.services.design import DesignError, design_of


class QueryError(Exception):
    """The step is not allowed in the query's status, or its input is incomplete."""


def visible_queries(scope: Scope):
    """Queries of the records the user may see: a coordinator sees only their site's."""
    scope.require(Right.VIEW)
    return Query.objects.filter(project=scope.project, record__in=scope.records())


def query_or_404(scope: Scope, pk: int) -> Query:
    query = visible_queries(scope).filter(pk=pk).select_related("record", "record__site", "assignee").first()
    if query is None:
        raise Http404("not found")
    return query


def _audit(query: Query, action: str, user, details: dict, source: str = AuditSource.WEB) -> None:
    audit_append(project=query.project, action=action, user=user, source=source, changes=[Change(
        field=query.field, record_id=query.record.record_id, event=query.event, instrument=query.instrument,
        instance=query.instance if query.event else None, details={"query": query.pk, **details})])  # fmt: skip


def _require_visible(scope: Scope, query: Query) -> None:
    if query.project_id != scope.project.pk or not scope.records().filter(pk=query.record_id).exists():
        raise Http404("not found")


def _step(query: Query, kind: str, user, comment: str = "", **extra) -> QueryMessage:
    return QueryMessage.objects.create(query=query, kind=kind, author=user, at=timezone.now(), comment=comment,
                                       **extra)  # fmt: skip


def _check_point(scope: Scope, event: str, instrument: str, instance: int, field: str) -> str:
    """Validate the data point against the design; returns the instrument (derived from the field if blank)."""
    if not event:
        if field or instrument:
            raise QueryError("a query on a field or form needs its event")
        return ""
    design = design_of(scope.project)
    if field:
        owner = design.instrument_of.get(field)
        if owner is None or (instrument and owner != instrument):
            raise QueryError("no such field on this form")
        instrument = owner
    if instrument:
        try:
            design.check_form_key(event, instrument, instance)
        except DesignError as exc:
            raise QueryError(str(exc)) from None
    elif event not in dict(design.events) and design.is_longitudinal:
        raise QueryError("no such event")
    return instrument


def query_open(*, scope: Scope, record: Record, comment: str, event: str = "", instrument: str = "",
               instance: int = 1, field: str = "", assignee=None,
               priority: str = Priority.NORMAL) -> Query:  # fmt: skip
    scope.require(Right.OPEN_QUERY)
    if not scope.records().filter(pk=record.pk).exists():
        raise Http404("not found")
    if not comment.strip():
        raise QueryError("say what the query is about")
    if priority not in Priority.values:
        raise QueryError("unknown priority")
    instrument = _check_point(scope, event, instrument, instance, field)
    with transaction.atomic():
        query = Query.objects.create(project=scope.project, record=record, event=event, instrument=instrument,
                                     instance=instance, field=field, assignee=assignee, priority=priority,
                                     opened_by=scope.user, opened_at=timezone.now())  # fmt: skip
        _step(query, QueryMessage.Kind.OPEN, scope.user, comment.strip())
        _audit(query, "query_open", scope.user, {"status": query.status, "priority": priority})
        where = f"{query.instrument or 'record'}{'/' + field if field else ''}"
        notify([assignee] if assignee else site_coordinators(query), query=query, exclude=scope.user,
               text=f"Query #{query.pk} opened on {record.record_id} ({where})")  # fmt: skip
    return query


def query_answer(*, scope: Scope, query: Query, category: str, comment: str,
                 values: dict[str, str] | None = None, missing: dict[str, str] | None = None) -> Query:  # fmt: skip
    """Answer an open query; `values` corrects the data point through the normal save, in the same step."""
    scope.require(Right.ANSWER_QUERY)
    _require_visible(scope, query)
    if query.status != QueryStatus.OPEN:
        raise QueryError("only an open query can be answered")
    if category not in ResponseCategory.values:
        raise QueryError("choose a response category")
    if not comment.strip():
        raise QueryError("explain the answer")
    correction: dict = {}
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        if query.status != QueryStatus.OPEN:
            raise QueryError("only an open query can be answered")
        if values or missing:
            if not (query.event and query.instrument):
                raise QueryError("a query on a whole record cannot carry a correction")
            from registry.services.entry import form_save

            outcome = form_save(scope=scope, record=query.record, event=query.event, instrument=query.instrument,
                                instance=query.instance, values=values or {}, missing=missing, partial=True,
                                reason=f"Query #{query.pk}: {comment.strip()}")  # fmt: skip
            correction = {"fields": sorted({c.field for c in outcome.changes}), "row_version": outcome.form.row_version}
        query.status = QueryStatus.ANSWERED
        query.save(update_fields=["status", "updated_at"])
        _step(query, QueryMessage.Kind.ANSWER, scope.user, comment.strip(), response_category=category,
              correction=correction)  # fmt: skip
        _audit(query, "query_answer", scope.user, {"status": query.status, "category": category, **correction})
        notify([query.opened_by], query=query, exclude=scope.user,
               text=f"Query #{query.pk} on {query.record.record_id} answered ({category})")  # fmt: skip
    return query


def _monitor_step(scope: Scope, query: Query, *, right: Right, allowed: tuple[str, ...], new_status: str,
                  kind: str, comment: str, message: str) -> Query:  # fmt: skip
    scope.require(right)
    _require_visible(scope, query)
    with transaction.atomic():
        query = Query.objects.select_for_update().select_related("record").get(pk=query.pk)
        if query.status not in allowed:
            raise QueryError(message)
        query.status = new_status
        query.closed_at = timezone.now() if new_status == QueryStatus.CLOSED else None
        query.closed_by_system = False
        query.save(update_fields=["status", "closed_at", "closed_by_system", "updated_at"])
        _step(query, kind, scope.user, comment.strip())
        _audit(query, f"query_{kind}", scope.user, {"status": new_status})
        targets = [query.assignee] if query.assignee else site_coordinators(query)
        notify(targets, query=query, exclude=scope.user,
               text=f"Query #{query.pk} on {query.record.record_id}: {kind.replace('_', ' ')}")  # fmt: skip
    return query


def query_send_back(*, scope: Scope, query: Query, comment: str) -> Query:
    if not comment.strip():
        raise QueryError("say what is still needed")
    return _monitor_step(scope, query, right=Right.CLOSE_QUERY, allowed=(QueryStatus.ANSWERED,),
                         new_status=QueryStatus.OPEN, kind=QueryMessage.Kind.SEND_BACK, comment=comment,
                         message="only an answered query can be sent back")  # fmt: skip


def query_close(*, scope: Scope, query: Query, comment: str = "") -> Query:
    return _monitor_step(scope, query, right=Right.CLOSE_QUERY, allowed=(QueryStatus.OPEN, QueryStatus.ANSWERED),
                         new_status=QueryStatus.CLOSED, kind=QueryMessage.Kind.CLOSE, comment=comment,
                         message="the query is already closed")  # fmt: skip


def query_reopen(*, scope: Scope, query: Query, comment: str) -> Query:
    if not comment.strip():
        raise QueryError("say why the query is re-opened")
    return _monitor_step(scope, query, right=Right.OPEN_QUERY, allowed=(QueryStatus.CLOSED,),
                         new_status=QueryStatus.OPEN, kind=QueryMessage.Kind.REOPEN, comment=comment,
                         message="only a closed query can be re-opened")  # fmt: skip


# -- rule-generated queries -----------------------------------------------------------------------


def system_close(query: Query, reason: str) -> None:
    """Close a rule query whose discrepancy is gone: resolved by the system, audited."""
    with transaction.atomic():
        query = Query.objects.select_for_update().select_related("record", "project").get(pk=query.pk)
        if query.status == QueryStatus.CLOSED:
            return
        query.status, query.closed_at, query.closed_by_system = QueryStatus.CLOSED, timezone.now(), True
        query.save(update_fields=["status", "closed_at", "closed_by_system", "updated_at"])
        _step(query, QueryMessage.Kind.SYSTEM_CLOSE, None, reason)
        _audit(query, "query_system_close", None, {"status": query.status, "rule": query.rule}, AuditSource.SYSTEM)
        notify([query.opened_by, query.assignee], query=query,
               text=f"Query #{query.pk} on {query.record.record_id} closed: the data was fixed")  # fmt: skip


def open_rule_queries(run: QualityRun) -> int:
    """One query per discrepancy (never a second for the same rule and data point; a closed one re-opens)."""
    opened = 0
    findings = run.discrepancies.filter(excluded=False).exclude(rule__in=["A", "B"]).select_related("record")
    for d in findings.iterator(chunk_size=2000):
        opened += _open_or_reopen(run, d)
    return opened


def _open_or_reopen(run: QualityRun, d: Discrepancy) -> int:
    with transaction.atomic():
        query, created = Query.objects.select_for_update().get_or_create(
            project=run.project,
            rule=d.rule,
            record=d.record,
            event=d.event,
            instance=d.instance,
            field=d.field,
            defaults={"instrument": d.instrument, "opened_by": run.started_by, "opened_at": timezone.now()},
        )
        text = f"Rule {d.rule}: {BUILTIN_RULES.get(d.rule) or d.message}"
        if created:
            _step(query, QueryMessage.Kind.OPEN, None, f"{text} (run #{run.pk})")
            _audit(
                query, "query_open", None, {"status": query.status, "rule": d.rule, "run": run.pk}, AuditSource.SYSTEM
            )
            notify(site_coordinators(query), query=query, text=f"Query #{query.pk} opened by rule {d.rule} on "
                   f"{d.record.record_id}")  # fmt: skip
            return 1
        if query.status == QueryStatus.CLOSED:
            query.status, query.closed_at, query.closed_by_system = QueryStatus.OPEN, None, False
            query.save(update_fields=["status", "closed_at", "closed_by_system", "updated_at"])
            _step(query, QueryMessage.Kind.SYSTEM_REOPEN, None, f"{text}: found again (run #{run.pk})")
            _audit(query, "query_system_reopen", None, {"status": query.status, "run": run.pk}, AuditSource.SYSTEM)
            return 1
    return 0


def close_resolved_rule_queries(run: QualityRun, selection: Selection) -> int:
    """Close the rule queries of the run's rules and scope whose discrepancy the run no longer finds."""
    params: list = [run.project_id]
    rule_in = one_of("q.rule", selection.rules, params)
    sql = (
        "SELECT q.id FROM quality_query q JOIN registry_record r ON r.id = q.record_id WHERE q.project_id = %s"  # noqa: S608 - placeholders only
        f" AND {rule_in} AND q.status <> 'closed'"
    )
    sql += selection_filters(selection, params, event_column="q.event")
    sql += (
        " AND NOT EXISTS (SELECT 1 FROM quality_discrepancy d WHERE d.run_id = %s AND d.rule = q.rule"
        " AND d.record_id = q.record_id AND d.event = q.event AND d.instance = q.instance AND d.field = q.field)"
    )
    params.append(run.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for query in Query.objects.filter(pk__in=ids):
        system_close(query, f"Rule {query.rule} no longer finds a discrepancy (run #{run.pk})")
    return len(ids)


def metrics_by_site(scope: Scope) -> list[dict]:
    """Open count and median days to close, per site of the user's scope."""
    from statistics import median

    rows = {}
    for site in scope.sites():
        rows[site.pk] = {"site": site, "open": 0, "answered": 0, "closed": 0, "days": []}
    for q in (
        visible_queries(scope).select_related("record").only("status", "opened_at", "closed_at", "record__site_id")
    ):
        row = rows.get(q.record.site_id)
        if row is None:
            continue
        row[q.status] += 1
        if q.status == QueryStatus.CLOSED and q.closed_at:
            row["days"].append((q.closed_at - q.opened_at).total_seconds() / 86400)
    result = []
    for row in rows.values():
        row["median_days_to_close"] = round(median(row["days"]), 1) if row["days"] else None
        del row["days"]
        result.append(row)
    return result
