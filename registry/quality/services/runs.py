"""Rule runs: start one as a job, execute it, store its discrepancies, compare with the previous run."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from registry.access import Right, Scope
from registry.models import AuditSource, Job, Record, Site
from registry.quality.engine import Selection, find_discrepancies, numeric_stats, one_of
from registry.quality.models import Discrepancy, QualityRun, Query, QueryStatus
from registry.quality.parallel import run_sharded, shard_count
from registry.quality.python_eval import outlier_stats
from registry.quality.rules import BUILTIN_RULES, Finding
from registry.services.audit import Change, audit_append
from registry.services.design import design_of
from registry.services.jobs import job_create, job_run, job_set_progress

JOB_KIND = "quality_run"
NO_QUERIES_FOR = frozenset({"A", "B"})  # blank values are reviewed as lists, not queried one by one


def run_start(
    *,
    scope: Scope,
    rules: list[str] | None = None,
    sites: list[str] | None = None,
    records: list[str] | None = None,
    events: list[str] | None = None,
    open_queries: bool = False,
    queue: str | None = None,
) -> QualityRun:
    """Create the run and its job and hand it to Celery (in-process when no broker is configured)."""
    scope.require(Right.RUN_QUALITY)
    selection = selection_for(scope, rules=rules, sites=sites, records=records, events=events)
    params = {"rules": selection.rules, "site_ids": selection.site_ids, "record_ids": selection.record_ids,
              "events": selection.events, "open_queries": open_queries}  # fmt: skip
    job = job_create(kind=JOB_KIND, params=params, project=scope.project, user=scope.user)
    run = QualityRun.objects.create(project=scope.project, job=job, started_by=scope.user, params=params)
    from registry.quality import tasks  # noqa: F401 - registers quality.run_job (eager Celery finds it by name)
    from registry.services.jobs import job_dispatch

    options = {"queue": queue} if queue else {}
    # No on_commit: the rows above are already committed (no ATOMIC_REQUESTS) and eager tests see them.
    # A broker outage leaves the job queued with a message saying so; it starts when Redis is back.
    job_dispatch(job.pk, "quality.run_job", **options)
    return run


def selection_for(scope: Scope, *, rules=None, sites=None, records=None, events=None) -> Selection:
    """The run's filters as ids, always inside the user's sites (a coordinator-scoped user stays in their site)."""
    site_ids = list(scope.sites().filter(code__in=sites).values_list("pk", flat=True)) if sites else []
    if not scope.all_sites and not site_ids:
        site_ids = [scope.site.pk]
    record_ids = list(scope.records().filter(record_id__in=records).values_list("pk", flat=True)) if records else []
    return Selection(rules=list(rules or []), site_ids=site_ids, record_ids=record_ids, events=list(events or []))


def run_execute(job_id: int) -> Job | None:
    """The job body: claim, evaluate, store. Safe to call twice (a redelivery finds the job taken)."""

    def work(job: Job) -> dict:
        run = QualityRun.objects.get(job=job)
        run.discrepancies.all().delete()  # a run taken over from a killed worker starts clean
        return execute(run, progress=lambda fraction: job_set_progress(job, int(fraction * 100), 100))

    return job_run(job_id, work)


def execute(run: QualityRun, *, progress=None, use_sql: bool = False) -> dict:
    """Evaluate the run's rules, store the discrepancies, apply exclusions and update rule queries.

    Custom rules run in the one Python pass unless `use_sql`: with memoized expressions that pass is
    about 5x faster than the compiled SQL (the dq_* functions cost microseconds per value), see
    docs/benchmarks.md.
    """
    started = time.monotonic()
    project = run.project
    design = design_of(project)
    params = run.params
    selection = Selection(rules=params.get("rules") or [], site_ids=params.get("site_ids") or [],
                          record_ids=params.get("record_ids") or [], events=params.get("events") or [])  # fmt: skip
    if not selection.rules:
        from registry.quality.models import Rule

        selection.rules = [
            *BUILTIN_RULES,
            *Rule.objects.filter(project=project, active=True).values_list("code", flat=True),
        ]
    # Rule E's statistics cover the whole project. A run over all of it reads every value anyway, so its pass
    # counts them and the shards' counts are combined (no SQL up front); a narrower run asks SQL for them.
    whole = not (selection.site_ids or selection.record_ids or selection.events)
    in_pass = "E" in selection.rules and whole and not use_sql
    stats = numeric_stats(project, design, selection) if "E" in selection.rules and not in_pass else {}
    sites = dict(Record.objects.filter(project=project).values_list("pk", "site_id"))

    def combine(parts: list[dict[str, dict[str, int]]]) -> dict[str, tuple[float, float]]:
        stats.update(outlier_stats(parts))
        return stats

    def work(part: Selection, report, swap=None) -> dict[str, int]:
        exchange = (swap or (lambda counts: combine([counts]))) if in_pass else None
        findings = find_discrepancies(project=project, design=design, selection=part, progress=report,
                                      use_sql=use_sql, stats=None if in_pass else stats, exchange=exchange)  # fmt: skip
        return store_findings(run, findings, sites)

    # The Python pass is CPU-bound: one forked process per core over record ranges (parallel.py).
    processes = 1 if use_sql else shard_count(project, selection)
    if processes > 1:
        try:
            found = run_sharded(project, selection, processes, work, progress, combine)
        except Exception:
            run.discrepancies.all().delete()  # a shard that finished committed its rows: the failed run keeps none
            raise
    else:
        found = work(selection, progress)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE quality_discrepancy SET excluded = true WHERE run_id = %s AND EXISTS (SELECT 1 FROM"
            " quality_exclusion x WHERE x.project_id = %s AND x.rule = quality_discrepancy.rule"
            " AND x.record_id = quality_discrepancy.record_id AND x.event = quality_discrepancy.event"
            " AND x.instance = quality_discrepancy.instance AND x.field = quality_discrepancy.field"
            " AND x.value_hash = quality_discrepancy.value_hash) RETURNING rule",
            [run.pk, project.pk],
        )
        excluded_by_rule = Counter(rule for (rule,) in cursor.fetchall())
    # The counts come from what the shards stored and what was just excluded: counting a million stored rows
    # again took 0.7 s at 10,000 patients.
    count, excluded = sum(found.values()), sum(excluded_by_rule.values())
    by_rule = {rule: n - excluded_by_rule[rule] for rule, n in sorted(found.items()) if n > excluded_by_rule[rule]}
    run.previous = QualityRun.objects.filter(project=project, finished_at__isnull=False).exclude(pk=run.pk).first()
    from registry.quality.services.queries import close_resolved_rule_queries, open_rule_queries

    closed = close_resolved_rule_queries(run, selection)
    opened = open_rule_queries(run) if params.get("open_queries") else 0
    run.summary = {"total": count - excluded, "found": count, "excluded": excluded, "by_rule": by_rule,
                   "processes": processes, "rules": selection.rules, "seconds": round(time.monotonic() - started, 3),
                   "stats": {k: list(v) for k, v in stats.items()}, "queries_opened": opened,
                   "queries_closed": closed}  # fmt: skip
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "finished_at", "previous"])
    with transaction.atomic():
        audit_append(project=project, action="dq_run", user=run.started_by, source=AuditSource.SYSTEM,
                     changes=[Change(details={"run": run.pk, "rules": selection.rules, "found": count})])  # fmt: skip
    return {"run": run.pk, "total": count - excluded, "by_rule": by_rule}


def store_findings(run: QualityRun, findings, sites: dict[int, int]) -> Counter:
    """Write the findings in batches: COPY on PostgreSQL (millions of blank values are normal), else bulk_create.

    Returns how many were stored per rule.
    """
    stored: Counter = Counter()
    batch: list[Finding] = []

    def flush() -> None:
        if not batch:
            return
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            run_pk = run.pk
            # A Finding is a tuple in the COPY's column order after run_id and site_id (excluded: its default).
            csv.writer(buffer).writerows([(run_pk, sites[f[1]], *f) for f in batch])
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert(
                    "COPY quality_discrepancy (run_id, site_id, rule, record_id, event, instrument, instance, field,"
                    " value, value_hash, message) FROM STDIN WITH (FORMAT csv,"
                    " FORCE_NOT_NULL (event, instrument, field, value, message))",
                    buffer,
                )
        else:
            Discrepancy.objects.bulk_create(
                Discrepancy(run=run, rule=f.rule, record_id=f.record, site_id=sites[f.record], event=f.event,
                            instrument=f.instrument, instance=f.instance, field=f.field, value=f.value,
                            value_hash=f.value_hash, message=f.message)
                for f in batch
            )  # fmt: skip
        stored.update(map(itemgetter(0), batch))  # a Finding's rule
        batch.clear()

    for finding in findings:
        batch.append(finding)
        if len(batch) >= 20000:
            flush()
    flush()
    return stored


def run_sync(*, scope: Scope, rules: list[str] | None = None, **filters) -> QualityRun:
    """The same job, run in this process (the management command and the nightly schedule use it)."""
    scope.require(Right.RUN_QUALITY)
    selection = selection_for(scope, rules=rules, **filters)
    params = {"rules": selection.rules, "site_ids": selection.site_ids, "record_ids": selection.record_ids,
              "events": selection.events, "open_queries": False}  # fmt: skip
    job = job_create(kind=JOB_KIND, params=params, project=scope.project, user=scope.user)
    run = QualityRun.objects.create(project=scope.project, job=job, started_by=scope.user, params=params)
    run_execute(job.pk)
    run.refresh_from_db()
    return run


@dataclass
class RunDiff:
    new: int
    resolved: int
    still_open: int


def run_diff(run: QualityRun) -> RunDiff | None:
    """Against the previous run, over the rules both runs checked."""
    previous = run.previous
    if previous is None:
        return None
    rules = sorted(set(run.summary.get("rules", [])) & set(previous.summary.get("rules", [])))
    part = "SELECT rule, record_id, event, instance, field FROM quality_discrepancy WHERE run_id = %s AND NOT excluded"
    with connection.cursor() as cursor:
        counts = []
        for a, b, combine in ((run, previous, "EXCEPT"), (previous, run, "EXCEPT"), (run, previous, "INTERSECT")):
            params: list = [a.pk]
            rule_in = one_of("rule", rules, params)
            sql = f"SELECT count(*) FROM ({part} AND {rule_in} {combine} {part}) t"  # noqa: S608 - placeholders only
            cursor.execute(sql, [*params, b.pk])
            counts.append(cursor.fetchone()[0])
        still = counts.pop()
    return RunDiff(new=counts[0], resolved=counts[1], still_open=still)


def counts_by_rule_and_site(run: QualityRun) -> dict[str, Counter]:
    table: dict[str, Counter] = {}
    rows = run.discrepancies.filter(excluded=False).values_list("rule", "site_id").annotate(n=Count("id"))
    codes = dict(Site.objects.filter(project=run.project).values_list("pk", "code"))
    for rule, site_id, n in rows:
        table.setdefault(rule, Counter())[codes.get(site_id, "?")] = n
    return table


def open_query_count(project) -> int:
    return Query.objects.filter(project=project).exclude(status=QueryStatus.CLOSED).count()
