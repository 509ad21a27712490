"""The rule engine: which rules run where, and the one pass that finds the discrepancies.

Custom rules that compile to SQL run inside PostgreSQL, one query per anchor instrument (batch_sql);
SQL also screens the calculated fields for rule H. The other built-in rules, the H candidates and any
custom rule that does not compile run in one streamed pass over the form rows, record by record (a
server-side cursor, so memory stays flat as the registry grows).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection

from registry.models import FormInstance, Record
from registry.quality.batch_sql import Batch, rule_batches
from registry.quality.context import FormData, FormKey, RecordForms
from registry.quality.memo import Memoized
from registry.quality.models import Rule
from registry.quality.python_eval import (
    BuiltinChecker,
    evaluate_custom,
    instrument_fields,
    is_numeric_field,
    rules_at_row,
)
from registry.quality.rules import BUILTIN_RULES, Finding, RuleError, RulePlan, plan_rule
from registry.services.design import Design
from registry.services.record_logic import read_record_forms

Progress = Callable[[float], None]
# Rule E's text counts of this pass -> the statistics of the whole project (see find_discrepancies).
Exchange = Callable[[dict[str, dict[str, int]]], dict[str, tuple[float, float]]]


@dataclass
class Selection:
    """What a run covers: rule codes (empty: all), and optional site, record and event filters."""

    rules: list[str] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)  # Record pks
    events: list[str] = field(default_factory=list)
    # A shard of a parallel run (parallel.py): record pks from the first (inclusive) to the second (exclusive).
    pk_range: tuple[int | None, int | None] = (None, None)


def custom_plans(
    project, design: Design, codes: Iterable[str] | None = None, rules: Iterable[Rule] | None = None
) -> tuple[list[RulePlan], dict[str, str]]:
    """Plans of the project's active custom rules (optionally only `codes`), and the rules that cannot run.

    `rules`: the project's active rules when the caller has read them already.
    """
    wanted = None if codes is None else set(codes)
    plans, broken = [], {}
    for rule in Rule.objects.filter(project=project, active=True) if rules is None else rules:
        if wanted is not None and rule.code not in wanted:
            continue
        try:
            plans.append(_plan(design, rule.code, rule.name, rule.logic))
        except RuleError as exc:
            broken[rule.code] = str(exc)
    return plans, broken


_plans: dict[tuple[int, str, str, str], RulePlan] = {}


def _plan(design: Design, code: str, name: str, logic: str) -> RulePlan:
    """A rule's plan, kept per design version and rule text: every save runs the real-time rules."""
    key = (design.version_id, code, name, logic)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) > 2000:  # rules and designs change rarely; a bound keeps an edited project from growing it
            _plans.clear()
        plan = _plans[key] = plan_rule(design, code=code, name=name, logic=logic)
    return plan


def one_of(column: str, values: Iterable, params: list) -> str:
    """`column` is one of `values`, as SQL for either database: one array parameter on PostgreSQL (`= ANY`),
    a list of placeholders on SQLite (the embedded demo), which has no arrays."""
    values = list(values)
    if connection.vendor == "postgresql":
        params.append(values)
        return f"{column} = ANY(%s)"
    if not values:
        return "1 = 0"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def selection_filters(selection: Selection, params: list, *, event_column: str = "a.event") -> str:
    """` AND ...` conditions restricting a query joined to registry_record as `r` to the selection's sites,
    records and events (`event_column` names the event of the row being restricted)."""
    sql = ""
    for column, values in (("r.site_id", selection.site_ids), ("r.id", selection.record_ids),
                           (event_column, selection.events)):  # fmt: skip
        if values:
            sql += " AND " + one_of(column, values, params)
    return sql


def _filters(selection: Selection, params: list) -> str:
    return selection_filters(selection, params) + _range_filter(selection, params)


def _range_filter(selection: Selection, params: list) -> str:
    sql = ""
    low, high = selection.pk_range
    if low is not None:
        sql += " AND r.id >= %s"
        params.append(low)
    if high is not None:
        sql += " AND r.id < %s"
        params.append(high)
    return sql


# dq_num's value, with plain decimals (nearly every stored number) cast without its longer regex.
_NUM = "CASE WHEN {v} ~ '^-?[0-9]+([.][0-9]+)?$' AND length({v}) < 300 THEN ({v})::float8 ELSE dq_num({v}) END"


def _stats_query(project_pk: int, instrument: str, fields: list[str]) -> tuple[list[str], tuple]:
    """avg and stddev_samp of each field over the instrument's rows: one scan, each value read and converted once.

    Each text is pulled out of the JSONB once, in its own lateral step (OFFSET 0 keeps the planner from
    folding it into the conversion): written inline, the conversion's four mentions of `data->>'f'` each
    read the document again, which made the query 7x slower (5.2 s against 0.7 s for disease_activity's
    53 numeric fields at 1,000 patients).
    """
    texts = ", ".join("a.data->>%s" for _ in fields)
    text_names = ", ".join(f"v{i}" for i in range(len(fields)))
    numbers = ", ".join(_NUM.format(v=f"y.v{i}") for i in range(len(fields)))
    aggregates = ", ".join(f"avg(x.n{i}), stddev_samp(x.n{i})" for i in range(len(fields)))
    names = ", ".join(f"n{i}" for i in range(len(fields)))
    with connection.cursor() as cursor:
        # Rows summed in one fixed order: a parallel plan (how rows fall to its workers) or a sequential scan
        # joining another one mid-table (synchronize_seqscans) changes the order, so the last bits of a float
        # mean or SD changed from run to run at 10,000 patients (and with them an outlier at 2 SD exactly).
        cursor.execute("SET max_parallel_workers_per_gather = 0; SET synchronize_seqscans = off")
        cursor.execute(
            f"SELECT {aggregates} FROM registry_forminstance a JOIN registry_record r ON r.id = a.record_id "  # noqa: S608 - generated names and placeholders only
            f"CROSS JOIN LATERAL (SELECT {texts} OFFSET 0) y({text_names}) "
            f"CROSS JOIN LATERAL (SELECT {numbers} OFFSET 0) x({names}) "
            "WHERE r.project_id = %s AND a.instrument = %s",
            [*fields, project_pk, instrument],
        )
        row = cursor.fetchone()
        cursor.execute("RESET max_parallel_workers_per_gather; RESET synchronize_seqscans")
        return fields, row


def _in_threads(query: Callable, calls: list[tuple]) -> list:
    """query(*args) for each args, over two threads with their own connections when they can see the
    caller's data (not inside a transaction): PostgreSQL does the work, so both cores serve the statistics."""
    if connection.in_atomic_block or len(calls) < 2:
        return [query(*args) for args in calls]

    def run(args: tuple):
        try:
            return query(*args)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(run, calls))


def numeric_stats(project, design: Design, selection: Selection) -> dict[str, tuple[float, float]]:
    """Rule E's mean and sample SD per numeric field, over the whole project (REDCap's scope)."""
    names = [f.name for f in design.field_map.values() if is_numeric_field(f, design)]
    if not names:
        return {}
    if connection.vendor == "postgresql":
        by_instrument: dict[str, list[str]] = {}
        for name in names:
            by_instrument.setdefault(design.instrument_of[name], []).append(name)
        stats: dict[str, tuple[float, float]] = {}
        calls = [(project.pk, instrument, fields) for instrument, fields in by_instrument.items()]
        for fields, row in _in_threads(_stats_query, calls):
            for i, name in enumerate(fields):
                mean, sd = row[2 * i], row[2 * i + 1]
                if mean is not None and sd is not None:
                    stats[name] = (float(mean), float(sd))
        return stats
    values: dict[str, list[float]] = {name: [] for name in names}
    from forms.values import to_number

    for data in FormInstance.objects.filter(record__project=project).values_list("data", flat=True).iterator():
        for name in names:
            number = to_number(str(data.get(name, "")))
            if number is not None:
                values[name].append(float(number))
    return {k: (statistics.fmean(v), statistics.stdev(v)) for k, v in values.items() if len(v) > 1}


def find_discrepancies(
    *,
    project,
    design: Design,
    selection: Selection,
    progress: Progress | None = None,
    use_sql: bool = True,
    stats: dict[str, tuple[float, float]] | None = None,
    exchange: Exchange | None = None,
) -> Iterator[Finding]:
    """Every discrepancy of the selected rules; `progress` gets the fraction done (0..1).

    Rule E needs the mean and SD of each numeric field over the whole project: `stats` when the caller has
    them; else, with `exchange`, the pass counts the texts it reads and hands the counts to `exchange`, which
    returns the statistics (of every shard's counts: see runs.execute), and rule E is decided after the pass;
    else one SQL query per instrument works them out first (numeric_stats).

    On PostgreSQL (`use_sql`): the custom rules that compile run as one query per anchor instrument,
    and rule H is screened by one query per instrument (only the candidates are recomputed in Python);
    the rest runs in one streamed pass over the rows.
    """
    codes = selection.rules or [
        *BUILTIN_RULES,
        *Rule.objects.filter(project=project, active=True).values_list("code", flat=True),
    ]
    builtins = [c for c in codes if c in BUILTIN_RULES]
    plans, _broken = custom_plans(project, design, [c for c in codes if c not in BUILTIN_RULES])
    in_sql = use_sql and connection.vendor == "postgresql"
    rule_queries, in_python = rule_batches(plans, design) if in_sql else ([], plans)
    by_code = {plan.code: plan for plan in plans}
    python_pass = bool(builtins or in_python)
    steps = len(rule_queries) + (10 if python_pass else 0) or 1
    done = 0
    for batch in rule_queries:
        for record, event, instrument, instance, code, shown, digest in _fetch(batch, project, selection):
            plan = by_code[code]
            yield Finding(code, record, event, instrument, instance, plan.field, shown, digest, plan.name)
        done += 1
        if progress:
            progress(done / steps)
    if not python_pass:
        return
    deferred = "E" in builtins and stats is None and exchange is not None
    if "E" in builtins and stats is None and not deferred:
        stats = numeric_stats(project, design, selection)
    checker = BuiltinChecker(design, builtins, stats, defer_outliers=deferred)
    records = Record.objects.filter(project=project)
    if selection.site_ids:
        records = records.filter(site_id__in=selection.site_ids)
    if selection.record_ids:
        records = records.filter(pk__in=selection.record_ids)
    low, high = selection.pk_range
    if low is not None:
        records = records.filter(pk__gte=low)
    if high is not None:
        records = records.filter(pk__lt=high)
    total = records.count() or 1
    events = frozenset(selection.events)
    instruments = design.fields_by_instrument
    # Custom rules grouped by anchor instrument: each anchor row is positioned once for all its rules.
    anchored: dict[str, list[tuple[RulePlan, Memoized]]] = {}
    for plan in in_python:
        check = Memoized(plan.expression, plan.expression.truthy, instrument=plan.anchor_instrument,
                         fields=instrument_fields(design, plan.anchor_instrument),
                         instrument_of=design.instrument_of, keys=checker.keys)  # fmt: skip
        anchored.setdefault(plan.anchor_instrument, []).append((plan, check))
    seen = 0
    for record_pk, record_id, site_code, forms in stream_records(project, selection):
        ctx = RecordForms(design, record_id, site_code, forms)
        for key, form in forms.items():
            if events and key[0] not in events:
                continue
            if builtins and key[1] in instruments:
                yield from checker.check(ctx, record_pk, key, form)  # leaves ctx at this row
            else:
                ctx.at(*key)
            group = anchored.get(key[1])
            if group:
                yield from rules_at_row(group, design, ctx, record_pk, key)
        seen += 1
        if progress and seen % 200 == 0:
            progress((done + 10 * seen / total) / steps)
    if deferred:
        yield from checker.outliers(exchange(checker.outlier_counts()))  # type: ignore[misc]
    if progress:
        progress(1.0)


def _fetch(batch: Batch, project, selection: Selection) -> list[tuple]:
    params: list = [project.pk]
    sql = batch.sql + _filters(selection, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def stream_records(project, selection: Selection) -> Iterator[tuple[int, str, str, dict[FormKey, FormData]]]:
    """(record pk, record id, site code, {form key: (data, missing)}) per record, in one streamed query.

    Rows of every event are loaded even when the run is restricted to some events, because
    rules read across events.
    """
    params: list = [project.pk]
    sql = (
        "SELECT a.record_id, r.record_id, s.code, a.event, a.instrument, a.instance, a.data, a.missing "
        "FROM registry_forminstance a JOIN registry_record r ON r.id = a.record_id "
        "JOIN registry_site s ON s.id = r.site_id WHERE r.project_id = %s"
    )
    sql += _filters(Selection(site_ids=selection.site_ids, record_ids=selection.record_ids,
                              pk_range=selection.pk_range), params)  # fmt: skip
    sql += " ORDER BY a.record_id"
    current: int | None = None
    record_id = site_code = ""
    forms: dict[FormKey, FormData] = {}
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            for pk, rid, site, event, instrument, instance, data, missing in rows:
                if pk != current:
                    if current is not None:
                        yield current, record_id, site_code, forms
                    current, record_id, site_code, forms = pk, rid, site, {}
                if isinstance(data, str):
                    data, missing = loads(data), loads(missing)
                forms[(event, instrument, instance)] = (data, missing)
    if current is not None:
        yield current, record_id, site_code, forms


def instruments_read_by(design: Design, plans: Iterable[RulePlan]) -> frozenset[str]:
    """The instruments whose forms custom rules can read: each rule's anchor and the owners of the fields it
    names. A rule reads a record only through its fields (`RecordForms`: values, checkboxes, missing codes,
    instance numbers; event words resolve by the design's order), so their forms are all it needs."""
    found: set[str] = set()
    for plan in plans:
        found.add(plan.anchor_instrument)
        for ref in plan.expression.references:
            owner = design.instrument_of.get(ref.field.split("___")[0])
            if owner is not None:
                found.add(owner)
    return frozenset(found)


def findings_for_record(project, design: Design, record: Record, codes: Iterable[str],
                        stats: dict | None = None, forms: dict[FormKey, FormData] | None = None,
                        rules: Iterable[Rule] | None = None) -> list[Finding]:  # fmt: skip
    """The selected rules over one record, in Python (real-time rules, previews, query auto-close).

    `forms` ((event, instrument, instance) -> (data, missing)) and `rules` spare the queries when the
    caller holds them (the save does).
    """
    codes = list(codes)
    builtins = [c for c in codes if c in BUILTIN_RULES]
    plans, _ = custom_plans(project, design, [c for c in codes if c not in BUILTIN_RULES], rules)
    if forms is None:
        # The built-in rules look at every form; custom rules only at the instruments they name.
        forms = read_record_forms(record, instruments=None if builtins else instruments_read_by(design, plans))
    ctx = RecordForms(design, record.record_id, record.site.code, forms)
    found: list[Finding] = []
    if builtins:
        checker = BuiltinChecker(design, builtins, stats if "E" in builtins else None)
        for key, form in forms.items():
            if key[1] in design.fields_by_instrument:
                found.extend(checker.check(ctx, record.pk, key, form))
    for plan in plans:
        found.extend(evaluate_custom(plan, design, ctx, record.pk))
    return found
