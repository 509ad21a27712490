"""Rules evaluated in Python over one record in memory: the reference semantics.

Used for real-time rules on save, the one-record preview, the embedded SQLite demo, and the parts
of a run that are not compiled to SQL. Built-in checks reuse the same value checks as the save
(forms.values), so a value means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from forms.logic import LogicSyntaxError, evaluate, format_value, parse
from forms.models import Field, FieldType
from forms.values import NUMERIC_TYPES, check_type, check_value, to_number, validation_type
from registry.quality.context import FormData, FormKey, RecordForms
from registry.quality.rules import MASK, Finding, RulePlan, value_hash
from registry.services.design import Design
from registry.services.record_logic import format_calc_result

CHOICE_TYPES = (FieldType.RADIO, FieldType.DROPDOWN, FieldType.YESNO, FieldType.TRUEFALSE)


def is_numeric_field(f: Field, design: Design) -> bool:
    """Rule E's fields: numbers, integers, sliders and calc fields."""
    if f.field_type in (FieldType.SLIDER, FieldType.CALC):
        return True
    if f.field_type == FieldType.TEXT and f.validation:
        vtype = validation_type(f.validation, design.custom_types)
        return vtype is not None and vtype.data_type in NUMERIC_TYPES - {"number_comma_decimal"}
    return False


def has_value(f: Field, data: dict) -> bool:
    if f.field_type == FieldType.CHECKBOX:
        return any(data.get(col) == "1" for col in f.checkbox_columns())
    return data.get(f.name, "") not in ("", None)


def shown_value(f: Field, data: dict) -> str:
    if f.field_type == FieldType.CHECKBOX:
        return ",".join(col.split("___", 1)[1] for col in f.checkbox_columns() if data.get(col) == "1")
    return str(data.get(f.name, "") or "")


class BuiltinChecker:
    """Rules A-I over one form row; `stats` holds rule E's mean and SD per field."""

    def __init__(self, design: Design, rules: Iterable[str], stats: dict[str, tuple[float, float]] | None = None):
        self.design = design
        self.rules = frozenset(rules)
        self.stats = stats or {}
        self.record_id_field = design.record_id_field

    def _visible(self, f: Field, ctx: RecordForms) -> bool:
        if not f.branching_logic.strip():
            return True
        try:
            return parse(f.branching_logic).truthy(ctx)
        except LogicSyntaxError:
            return True

    def check(self, ctx: RecordForms, record: int, key: FormKey, form: FormData) -> list[Finding]:
        event, instrument, instance = key
        data, missing = form
        ctx.at(event, instrument, instance)
        rules = self.rules
        found: list[Finding] = []

        def add(rule: str, f: Field, raw: str, message: str) -> None:
            shown = MASK if f.identifier and raw else raw
            found.append(Finding(rule, record, event, instrument, instance, f.name, shown, value_hash(raw), message))

        for f in self.design.fields(instrument):
            if not f.has_data or f.name == self.record_id_field:
                continue
            present = has_value(f, data)
            raw = shown_value(f, data) if present else ""
            code = missing.get(f.name, "")
            visible = self._visible(f, ctx) if rules & {"A", "B", "F"} and f.branching_logic else True
            if not present and not code and visible and not f.is_calc:
                if "A" in rules:
                    add("A", f, "", "blank")
                if "B" in rules and f.required:
                    add("B", f, "", "required field is blank")
            if "F" in rules and present and not visible:
                add("F", f, raw, "hidden by branching logic but holds a value")
            if "I" in rules and code:
                add("I", f, code, f"missing-data code {code}")
            if not present:
                if "H" in rules and f.is_calc:
                    self._check_calc(f, ctx, "", add)
                continue
            if f.field_type in CHOICE_TYPES:
                if "G" in rules and raw not in f.choice_dict():
                    add("G", f, raw, "not one of the choices" if f.identifier else f"{raw!r} is not one of the choices")
            elif f.field_type == FieldType.TEXT and f.validation and rules & {"C", "D"}:
                vtype = validation_type(f.validation, self.design.custom_types)
                if vtype is not None:
                    error = check_type(raw, vtype)
                    if error and "C" in rules:
                        add("C", f, raw, f"not a valid {vtype.label or vtype.name}" if f.identifier else error)
                    elif not error and "D" in rules:
                        for problem in check_value(f, raw, values=data, custom_types=self.design.custom_types):
                            add("D", f, raw, problem.message if not f.identifier else "out of range")
            elif f.field_type == FieldType.SLIDER and "D" in rules:
                for problem in check_value(f, raw, values=data):
                    add("D", f, raw, problem.message)
            if "E" in rules and f.name in self.stats:
                number = to_number(raw)
                mean, sd = self.stats[f.name]
                if number is not None and sd > 0 and abs(float(number) - mean) > 2 * sd:
                    add("E", f, raw, f"{raw} is more than 2 SD from the mean ({mean:.4g} ± {sd:.4g})")
            if "H" in rules and f.is_calc:
                self._check_calc(f, ctx, raw, add)
        if "G" in rules:
            for column in data:
                if "___" in column:
                    base = self.design.field_map.get(column.split("___", 1)[0])
                    if (
                        base is not None
                        and base.field_type == FieldType.CHECKBOX
                        and column not in base.checkbox_columns()
                    ) and data[column] not in ("", "0"):
                        add("G", base, column, f"{column} is not one of the choices")
        return found

    def _check_calc(self, f: Field, ctx: RecordForms, stored: str, add) -> None:
        expected = recalculate(f, ctx)
        if expected != stored:
            add("H", f, stored, f"stored {stored or '(blank)'}, calculated {expected or '(blank)'}")


def recalculate(f: Field, ctx: RecordForms) -> str:
    """The calc's value from the stored values, formatted as the save would store it."""
    try:
        result = evaluate(parse(f.calc_expression or ""), ctx)
    except LogicSyntaxError:
        return ""
    return format_calc_result(result, f)


def reported_value(plan: RulePlan, design: Design, ctx: RecordForms) -> tuple[str, str]:
    """(value shown, hash of the unmasked value) of the fields a custom rule names, at ctx's form."""
    shown, raw = [], []
    for ref in plan.shown:
        text = format_value(evaluate(parse(str(ref)), ctx))
        raw.append(f"{ref}={text}")
        identifier = design.field_map[ref.field].identifier
        shown.append(f"{ref}={MASK if identifier and text else text}")
    joined = "; ".join(raw)
    return "; ".join(shown), value_hash(joined)


def evaluate_custom(plan: RulePlan, design: Design, ctx: RecordForms, record: int,
                    events: frozenset[str] | None = None) -> list[Finding]:  # fmt: skip
    found = []
    for key in ctx.forms:
        event, instrument, instance = key
        if instrument != plan.anchor_instrument or (plan.anchor_event and event != plan.anchor_event):
            continue
        if events and event not in events:
            continue
        ctx.at(event, instrument, instance)
        if plan.expression.truthy(ctx):
            shown, digest = reported_value(plan, design, ctx)
            found.append(Finding(plan.code, record, event, instrument, instance, plan.field, shown, digest, plan.name))
    return found
