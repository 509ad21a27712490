"""What the rules are: REDCap's built-in rules A-I, and the plan of a project's custom rule.

A custom rule is evaluated at the rows of one *anchor* instrument: the repeating instrument among
the fields it names at the current event if there is one (so each instance is checked), else the
first such instrument; a rule that names only fields of fixed events (`[baseline_arm_1][cohort]`)
is evaluated once per record, at the first of them. The Python and the SQL evaluators share this
plan, so they report the same data points.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from forms.logic import Expression, FieldRef, LogicSyntaxError, parse
from forms.logic.parser import EVENT_SMART_VARIABLES
from registry.services.design import Design

BUILTIN_RULES: dict[str, str] = {
    "A": "Blank values",
    "B": "Blank values (required fields only)",
    "C": "Field validation errors (incorrect data type)",
    "D": "Field validation errors (out of range)",
    "E": "Outliers for numerical fields (more than 2 SD from the mean)",
    "F": "Hidden fields that contain values",
    "G": "Multiple choice fields with invalid values",
    "H": "Incorrect values for calculated fields",
    "I": "Fields containing missing data codes",
}
MASK = "(identifier)"


class RuleError(ValueError):
    """The logic of a custom rule cannot be used: a syntax error or an unknown field or event."""


class Finding(NamedTuple):
    """One discrepancy found by the engine, before it is stored.

    A tuple: a full run makes a million of them at 10,000 patients, and a frozen dataclass took 3.5x as long
    to build; the store writes its fields in this order (runs.store_findings).
    """

    rule: str
    record: int  # Record pk
    event: str
    instrument: str
    instance: int
    field: str
    value: str
    value_hash: str
    message: str

    @property
    def key(self) -> tuple:
        return (self.rule, self.record, self.event, self.instance, self.field)


def value_hash(raw: str) -> str:
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RulePlan:
    code: str
    name: str
    expression: Expression
    anchor_instrument: str
    anchor_event: str | None  # None: every event where the anchor instrument has rows
    field: str  # the one field the rule names, else ''
    shown: tuple[FieldRef, ...]  # references whose values are reported, in a stable order


def plan_rule(design: Design, *, code: str, name: str, logic: str) -> RulePlan:
    try:
        expression = parse(logic)
    except LogicSyntaxError as exc:
        raise RuleError(str(exc)) from None
    events = {e for e, _ in design.events}
    for ref in expression.references:
        if ref.field not in design.instrument_of:
            raise RuleError(f"[{ref.field}] is not a field of this project")
        if ref.event and ref.event not in EVENT_SMART_VARIABLES and ref.event not in events:
            raise RuleError(f"[{ref.event}] is not an event of this project")
    refs = sorted(expression.references, key=str)
    if not refs:
        raise RuleError("a rule must name at least one field")
    order = {name: i for i, (name, _) in enumerate(design.instruments)}
    current = sorted({design.instrument_of[r.field] for r in refs if r.event in (None, "event-name")}, key=order.get)
    anchor_event: str | None = None
    if current:
        repeating = [i for i in current if any(design.is_repeating(e, i) for e, _ in design.events)]
        anchor = (repeating or current)[0]
    else:
        fixed = [r for r in refs if r.event not in EVENT_SMART_VARIABLES]
        first = fixed[0] if fixed else refs[0]
        anchor = design.instrument_of[first.field]
        anchor_event = first.event if first.event not in EVENT_SMART_VARIABLES else None
    names = {r.field for r in refs}
    return RulePlan(code=code, name=name, expression=expression, anchor_instrument=anchor,
                    anchor_event=anchor_event, field=next(iter(names)) if len(names) == 1 else "",
                    shown=tuple(refs))  # fmt: skip


def check_logic(design: Design, logic: str) -> str | None:
    """The problem with a rule's logic, or None when it can be used."""
    try:
        plan_rule(design, code="check", name="check", logic=logic)
    except RuleError as exc:
        return str(exc)
    return None
