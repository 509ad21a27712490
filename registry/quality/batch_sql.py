"""The custom rules of one anchor instrument in ONE SQL query: one scan of its rows instead of one per rule.

Every rule anchored at the instrument becomes a row of a `LATERAL (VALUES ...)` list (rule code, is it
true here?), so the rows of the instrument are read once and each rule's predicate is evaluated on
them; the reported value is built only for the rows where a rule fired.
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.logic import LogicSyntaxError
from registry.quality.compiler import NotCompilable, RuleCompiler, as_bool, as_text, lit
from registry.quality.rules import MASK, RulePlan
from registry.services.design import Design

FROM = "FROM registry_forminstance a JOIN registry_record r ON r.id = a.record_id"


@dataclass(frozen=True)
class Batch:
    """One query: run filters are appended by the caller as `AND ...` on `r` and `a`."""

    instrument: str
    sql: str
    codes: tuple[str, ...]  # the rules (or calc fields) it covers


def _fits(compile_one, design: Design, instrument: str) -> bool:
    """Whether something compiles, tried on a scratch compiler so a failure leaves no stray joins."""
    try:
        compile_one(RuleCompiler(design, instrument))
    except (NotCompilable, LogicSyntaxError):
        return False
    return True


def rule_batches(plans: list[RulePlan], design: Design) -> tuple[list[Batch], list[RulePlan]]:
    """Custom rules grouped by anchor instrument into one query each, and the plans that do not compile.

    Each query returns (record pk, event, instrument, instance, rule code, value shown, md5 of the value),
    exactly the columns compiler.compile_rule returns for one rule.
    """
    by_instrument: dict[str, list[RulePlan]] = {}
    left: list[RulePlan] = []
    for plan in plans:
        if _fits(lambda c, p=plan: _rule_parts(c, p, design), design, plan.anchor_instrument):
            by_instrument.setdefault(plan.anchor_instrument, []).append(plan)
        else:
            left.append(plan)
    batches = []
    for instrument, group in by_instrument.items():
        compiler = RuleCompiler(design, instrument)
        hits, shown, raw = [], [], []
        for plan in group:
            predicate, shown_sql, raw_sql = _rule_parts(compiler, plan, design)
            code = lit(plan.code)
            hits.append(f"({code}, {predicate})")
            shown.append(f"WHEN {code} THEN {shown_sql}")
            raw.append(f"WHEN {code} THEN {raw_sql}")
        sql = (
            # Every literal went through lit() (quotes doubled); the values of the run come as %s parameters.
            f"SELECT a.record_id, a.event, a.instrument, a.instance, v.code, CASE v.code {' '.join(shown)} END, "
            f"md5(CASE v.code {' '.join(raw)} END) {FROM} {compiler.join_sql()} "
            f"CROSS JOIN LATERAL (VALUES {', '.join(hits)}) v(code, hit) "
            f"WHERE r.project_id = %s AND a.instrument = {lit(instrument)} AND v.hit"
        )
        batches.append(Batch(instrument, sql, tuple(p.code for p in group)))
    return batches, left


def _rule_parts(compiler: RuleCompiler, plan: RulePlan, design: Design) -> tuple[str, str, str]:
    """(predicate, value shown, raw value) of one rule, as compiler.compile_rule builds them."""
    predicate = as_bool(compiler.node(plan.expression.ast))
    if plan.anchor_event:
        predicate = f"(a.event = {lit(plan.anchor_event)} AND {predicate})"
    raw_parts, shown_parts = [], []
    for ref in plan.shown:
        if ref.instance is not None and not ref.instance.isdigit():
            raise NotCompilable(str(ref))
        text = as_text(compiler.ref(ref))
        label = lit(f"{ref}=")
        raw_parts.append(f"{label} || {text}")
        masked = f"(CASE WHEN {text} = '' THEN '' ELSE {lit(MASK)} END)"
        shown_parts.append(f"{label} || {masked if design.field_map[ref.field].identifier else text}")
    return f"coalesce({predicate}, false)", " || '; ' || ".join(shown_parts), " || '; ' || ".join(raw_parts)
