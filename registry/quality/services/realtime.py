"""What happens after every successful save (web and API): real-time rules, rule queries, SDV.

Advisory only: nothing here can refuse or undo a save. Real-time rule messages go back to the
caller; rule queries whose discrepancy is gone are closed by the system; verifications of changed
values are dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.db import connection

from registry import sql_rows
from registry.models import FormInstance
from registry.quality.engine import custom_plans, findings_for_record, instruments_read_by
from registry.quality.models import QualityRun, Query, QueryStatus, Rule
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services.queries import system_close
from registry.quality.services.verification import clear_stale
from registry.services.design import design_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleMessage:
    rule: str
    name: str
    event: str
    instance: int
    value: str


class RuleText(NamedTuple):
    """What the save needs of a rule (rows as tuples: a save reads every active rule)."""

    code: str
    name: str
    logic: str
    real_time: bool


def after_save(*, scope, form: FormInstance, design=None, record_forms: dict | None = None,
               reads: CheckReads | None = None) -> list[RuleMessage]:  # fmt: skip
    """Run after form_save commits; returns the real-time rule messages for the saved form's event.

    `record_forms`: the record's forms as the save left them ((event, instrument, instance) ->
    (data, missing)), so the rules need not read them again. `reads`: CHECK_READS as the save read
    them with its lock.
    """
    try:
        return _after_save(scope, form, design, record_forms, reads)
    except Exception:  # advisory: a failing rule must never cost the user their save
        log.exception("post-save data-quality checks failed for form instance %s", form.pk)
        return []


# What every save's checks read, in one round trip on PostgreSQL: the saved form's verifications, the project's
# active rules (their fingerprint: `rules_of` keeps each project's rules per fingerprint) and the rules of the
# record's open rule queries. Written as SQL and prepared (registry.sql_rows): the ORM compiling the same three
# queries cost more than running them. They are three columns of a select over the record (alias `r`), so the save
# reads them with its lock, in the same round trip; the `%s` are the form's event, instrument and instance.
#
# The active rules as they are: a rule inserted, changed, (de)activated or deleted changes the set of (id, xmin)
# (a row's xmin is the transaction that wrote its version). A save read the rules' 18 KB of text as JSON before:
# 150 us of PostgreSQL and 35 us of Python a save, against 40 us for this.
RULES_FINGERPRINT = "count(*)::text || ':' || coalesce(sum(hashtext(id::text || ':' || xmin::text)), 0)::text"
CHECK_READS = (
    "(SELECT coalesce(json_agg(json_build_array(id, field, value_hash) ORDER BY id), '[]')"  # noqa: S608 - constants
    " FROM quality_verification WHERE record_id = r.id AND event = %s AND instrument = %s AND instance = %s),"
    f" (SELECT r.project_id::text || '/' || {RULES_FINGERPRINT} FROM quality_rule"
    " WHERE project_id = r.project_id AND active),"
    " (SELECT coalesce(json_agg(DISTINCT rule), '[]') FROM quality_query"
    " WHERE record_id = r.id AND rule <> '' AND status <> 'closed')"  # QueryStatus.CLOSED
)
_READS = f"SELECT {CHECK_READS} FROM registry_record r WHERE r.id = %s"  # noqa: S608 - constants, placeholders
_RULES = (
    f"SELECT {RULES_FINGERPRINT}, coalesce(json_agg(json_build_array(code, name, logic, real_time) "  # noqa: S608 - constants, placeholders
    "ORDER BY \"order\", id), '[]') FROM quality_rule WHERE project_id = %s AND active"
)

CheckReads = tuple[list[tuple[int, str, str]], list[RuleText], set[str]]

_rules_kept: dict[str, list[RuleText]] = {}  # "<project pk>/<fingerprint>" -> the active rules, in order


def check_reads(row) -> CheckReads:
    """(verifications as (pk, field, hash), active rules, open rule codes) from the three CHECK_READS columns."""
    verifications, fingerprint, open_rules = row
    verifications, open_rules = sql_rows.json_value(verifications), sql_rows.json_value(open_rules)
    return [tuple(v) for v in verifications], rules_of(fingerprint), set(open_rules)


def rules_of(fingerprint: str) -> list[RuleText]:
    """The project's active rules for a fingerprint CHECK_READS gave, read once per process and fingerprint."""
    found = _rules_kept.get(fingerprint)
    if found is None:
        project_pk = int(fingerprint.split("/", 1)[0])
        with connection.cursor() as cursor:
            sql_rows.execute(cursor, _RULES, [project_pk])
            read_print, rules = cursor.fetchone()
        found = [RuleText(*r) for r in sql_rows.json_value(rules)]
        if len(_rules_kept) > 256:  # projects and rule edits are few; a bound all the same
            _rules_kept.clear()
        # Kept under what was read: a rule changed since the save's statement is read again next time.
        _rules_kept[f"{project_pk}/{read_print}"] = found
    return found


def _reads(project, record, form: FormInstance) -> tuple[list | None, list[RuleText], set[str]]:
    """(verifications as (pk, field, hash) or None to let clear_stale read them, active rules, open rule codes)."""
    if sql_rows.enabled():
        with connection.cursor() as cursor:
            sql_rows.execute(cursor, _READS, [form.event, form.instrument, form.instance, record.pk])
            return check_reads(cursor.fetchone())
    active = Rule.objects.filter(project=project, active=True)
    rules = [RuleText(*row) for row in active.values_list("code", "name", "logic", "real_time")]
    open_rules = set(Query.objects.filter(record=record).exclude(rule="").exclude(status=QueryStatus.CLOSED)
                     .values_list("rule", flat=True))  # fmt: skip
    return None, rules, open_rules


def _after_save(scope, form: FormInstance, design=None, record_forms: dict | None = None,
                reads: CheckReads | None = None) -> list[RuleMessage]:  # fmt: skip
    project, record = scope.project, form.record
    design = design or design_of(project)
    verifications, rules, open_rules = reads or _reads(project, record, form)
    clear_stale(project=project, design=design, form=form, user=scope.user, verifications=verifications)
    real_time, codes = _codes(design, form.instrument, rules, open_rules)
    if not codes:
        return []
    stats = None
    if "E" in codes:  # only the outlier rule needs the last run's means and SDs
        last = QualityRun.objects.filter(project=project, finished_at__isnull=False).first()
        stats = {k: tuple(v) for k, v in (last.summary.get("stats", {}) if last else {}).items()}
    findings = findings_for_record(project, design, record, codes, stats=stats, forms=record_forms, rules=rules)
    found_keys = {(f.rule, f.event, f.instance, f.field) for f in findings}
    if open_rules:
        for query in Query.objects.filter(record=record, rule__in=open_rules).exclude(status=QueryStatus.CLOSED):
            if (query.rule, query.event, query.instance, query.field) not in found_keys:
                system_close(query, f"Rule {query.rule} no longer finds a discrepancy after a save")
    return [
        RuleMessage(f.rule, f.message, f.event, f.instance, f.value)
        for f in findings if f.rule in real_time and f.event == form.event
    ]  # fmt: skip


def _codes(design, instrument: str, rules: list[RuleText], open_rules: set[str]) -> tuple[tuple[str, ...], list[str]]:
    """(the real-time rules a save of `instrument` runs: those naming one of its fields, every rule to
    evaluate: those and the rules of the record's open rule queries, which close themselves when fixed)."""
    real_time = _real_time_codes(design, instrument, rules)
    return real_time, sorted(set(real_time) | open_rules)


def _real_time_codes(design, instrument: str, rules: list[RuleText]) -> tuple[str, ...]:
    """The real-time rules naming a field of `instrument`, worked out once per design version and list of active
    rules (`rules_of` keeps one list per fingerprint): a save asks twice, and the study has ~110 rules."""
    held = design.kept(("real_time_rules", instrument), dict)  # id(rules) -> (rules, codes)
    found = held.get(id(rules))
    if found is None or found[0] is not rules:
        if len(held) >= 8:  # rule edits are few; lists read without a fingerprint are not kept for long
            held.clear()
        fields_here = design.field_names(instrument)
        codes = tuple(r.code for r in rules if r.real_time and fields_here & _fields_of(r.logic))
        found = held[id(rules)] = (rules, codes)
    return found[1]


def instruments_to_read(project, design, instrument: str, reads: CheckReads) -> frozenset[str] | None:
    """The instruments whose forms the checks after a save of `instrument` will read (empty: none), or None
    when they read the whole record (a built-in rule's open query), so the save can read them beforehand."""
    _, rules, open_rules = reads
    _, codes = _codes(design, instrument, rules, open_rules)
    if any(code in BUILTIN_RULES for code in codes):
        return None
    plans, _ = custom_plans(project, design, codes, rules)
    return instruments_read_by(design, plans)


@lru_cache(maxsize=4096)
def _fields_of(logic: str) -> frozenset[str]:
    from forms.logic import LogicSyntaxError, parse

    try:
        return frozenset(parse(logic).field_names)
    except LogicSyntaxError:
        return frozenset()
