"""Rules evaluated in Python over one record in memory: the reference semantics.

Used for real-time rules on save, the one-record preview, the embedded SQLite demo, and the parts
of a run that are not compiled to SQL. Built-in checks reuse the same value checks as the save
(forms.values), so a value means the same thing everywhere.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from forms.logic import Expression, LogicSyntaxError, evaluate, format_value, parse
from forms.models import Field, FieldType
from forms.values import (
    FIELD_LIMIT,
    NUMERIC_TYPES,
    ValidationType,
    check_value,
    comparable,
    resolve_limit,
    to_number,
    typed_value,
    validation_type,
)
from registry.quality.context import FormData, FormKey, RecordForms
from registry.quality.memo import Memoized, SharedKey
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


CHOICE, VALIDATED, SLIDER, OTHER = range(4)
MAX_VERDICTS = 50_000  # distinct texts remembered per field (rules C and D): memory stays bounded


@dataclass(frozen=True)
class FieldSpec:
    """What the built-in rules need to know about one field, worked out once per run instead of per row."""

    f: Field
    name: str
    columns: tuple[str, ...] | None  # a checkbox's data columns; None for other fields
    branching: Expression | None  # None: always shown (no logic, or logic that does not parse)
    visible: Callable[[RecordForms], bool] | None  # branching.truthy, memoized (shared by fields with one logic)
    is_calc: bool
    required: bool
    identifier: bool
    kind: int
    choices: frozenset[str]
    vtype: ValidationType | None
    has_limits: bool
    recalculate: Callable[[RecordForms], str] | None  # calcs: the value the save would store
    limits: tuple[tuple[object, str, bool], ...] | None  # (comparable, text, is_min) when both are constants


def instrument_fields(design: Design, instrument: str) -> frozenset[str]:
    """The names of an instrument's fields: what Memoized may read straight from the instrument's rows."""
    return frozenset(f.name for f in design.fields_by_instrument.get(instrument, ()))


def field_spec(f: Field, design: Design, shared: dict[tuple[str, str], Memoized],
               keys: dict[tuple, SharedKey] | None = None) -> FieldSpec:  # fmt: skip
    instrument = design.instrument_of[f.name]
    branching = None
    if f.branching_logic.strip():
        try:
            branching = parse(f.branching_logic)
        except LogicSyntaxError:
            branching = None  # shown, as the form shows a field whose logic is broken
    vtype = None
    if f.field_type in CHOICE_TYPES:
        kind = CHOICE
    elif f.field_type == FieldType.TEXT and f.validation:
        kind = VALIDATED
        vtype = validation_type(f.validation, design.custom_types)
    elif f.field_type == FieldType.SLIDER:
        kind = SLIDER
    else:
        kind = OTHER
    return FieldSpec(
        f=f, name=f.name, columns=tuple(f.checkbox_columns()) if f.field_type == FieldType.CHECKBOX else None,
        branching=branching,
        visible=_shared_logic(shared, branching, instrument, design, keys) if branching else None,
        is_calc=f.is_calc, required=f.required, identifier=f.identifier, kind=kind,
        choices=frozenset(f.choice_dict()) if kind == CHOICE else frozenset(), vtype=vtype,
        has_limits=bool(f.validation_min or f.validation_max),
        recalculate=calc_of(f, design, keys) if f.is_calc else None,
        limits=constant_limits(f, vtype) if vtype is not None else None,
    )  # fmt: skip


def constant_limits(f: Field, vtype: ValidationType) -> tuple[tuple[object, str, bool], ...] | None:
    """The min/max as check_value resolves them, worked out once; None when one depends on the row.

    'today' and 'now' are read once, when the checker is built: a run is one moment (a date of birth
    checked against today is checked against the day the run started).
    """
    limits = []
    for text, is_min in ((f.validation_min or "", True), (f.validation_max or "", False)):
        limit = text.strip()
        if FIELD_LIMIT.fullmatch(limit):
            return None
        if limit.lower() in ("today", "now"):
            limits.append((resolve_limit(limit, vtype.data_type, {}), text, is_min))
        elif limit:
            limits.append((comparable(limit, vtype.data_type), text, is_min))
    return tuple(limits)


def _shared_logic(shared: dict[tuple[str, str], Memoized], branching: Expression, instrument: str,
                  design: Design, keys: dict[tuple, SharedKey] | None = None) -> Memoized:  # fmt: skip
    """One memo per branching logic and instrument: fields often share a logic, and locality is per instrument."""
    key = (instrument, branching.source)
    if key not in shared:
        fields = instrument_fields(design, instrument)
        shared[key] = Memoized(branching, branching.truthy, instrument=instrument, fields=fields,
                               instrument_of=design.instrument_of, keys=keys)  # fmt: skip
    return shared[key]


def calc_of(f: Field, design: Design | None = None,
            keys: dict[tuple, SharedKey] | None = None) -> Callable[[RecordForms], str]:  # fmt: skip
    """recalculate(f, ctx) as a function of ctx alone, memoized on the values the calc reads (which, with
    the design, are read straight from the record's rows)."""
    try:
        expression = parse(f.calc_expression or "")
    except LogicSyntaxError:
        return lambda ctx: ""
    instrument = design.instrument_of[f.name] if design is not None else None
    return Memoized(expression, lambda ctx: format_calc_result(expression.evaluate(ctx), f), instrument=instrument,
                    fields=instrument_fields(design, instrument) if design and instrument else frozenset(),
                    instrument_of=design.instrument_of if design is not None else None, keys=keys)  # fmt: skip


def outlier_stats(parts: Iterable[dict[str, dict[str, int]]]) -> dict[str, tuple[float, float]]:
    """Rule E's mean and sample SD per field from the text counts of every shard (BuiltinChecker.outlier_counts).

    A text counts as a number as PostgreSQL's dq_num reads it (the statistics query this replaces). The sums
    are exact (math.fsum over count x value), so the result does not depend on how records fell to shards.
    Fields with fewer than two numbers have no SD and are left out, as stddev_samp gives NULL there.
    """
    merged: dict[str, dict[str, int]] = {}
    for part in parts:
        for name, counts in part.items():
            into = merged.setdefault(name, {})
            for text, count in counts.items():
                into[text] = into.get(text, 0) + count
    stats = {}
    for name, counts in merged.items():
        numbers = [(number, count) for text, count in counts.items() if (number := stats_number(text)) is not None]
        n = sum(count for _, count in numbers)
        if n < 2:
            continue
        mean = math.fsum(number * count for number, count in numbers) / n
        variance = math.fsum(count * (number - mean) ** 2 for number, count in numbers) / (n - 1)
        stats[name] = (mean, math.sqrt(variance))
    return stats


# registry/quality/sql_functions.py's dq_num: a number with at most a two-digit exponent, under 300 characters.
_STATS_NUMBER = re.compile(r"[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?[ \t\n\r]*\Z")


def stats_number(text: str) -> float | None:
    return float(text) if len(text) < 300 and _STATS_NUMBER.match(text) else None


class BuiltinChecker:
    """Rules A-I over one form row; `stats` holds rule E's mean and SD per field.

    With `defer_outliers` (and no `stats`), rule E is decided after the pass instead: the checker
    counts each numeric field's distinct texts and remembers the rows holding each one, the caller
    turns the counts (of every shard) into statistics (`outlier_stats`), and `outliers(stats)` gives
    the findings. The pass then reads each value once for everything, instead of PostgreSQL
    converting every stored number up front (a third of a full run's time at 10,000 patients).
    """

    def __init__(self, design: Design, rules: Iterable[str], stats: dict[str, tuple[float, float]] | None = None,
                 *, defer_outliers: bool = False):  # fmt: skip
        self.design = design
        self.rules = frozenset(rules)
        self.stats = stats or {}
        deferring = defer_outliers and not stats and "E" in self.rules
        numeric = [f.name for f in design.field_map.values() if is_numeric_field(f, design)] if deferring else []
        # text -> (rules C/D verdict when the field is validated, the rows holding it)
        self._texts: dict[str, dict[str, tuple[list | None, array]]] = {name: {} for name in numeric}
        self._rows: list[tuple[int, str, str, int]] = []  # (record, event, instrument, instance) per checked row
        self.record_id_field = design.record_id_field
        self._specs: dict[str, list[FieldSpec]] = {}
        self._branching: dict[tuple[str, str], Memoized] = {}
        self.keys: dict[tuple, SharedKey] = {}  # row keys shared by expressions reading the same references
        self._outliers: dict[str, dict[str, str]] = {name: {} for name in self.stats}
        self._hashes: dict[str, str] = {}
        self._validated: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self._type_checks: dict[str, dict[str, tuple[str | None, object]]] = {}
        self._comparables: dict[tuple, object] = {}
        self._checkbox_columns: dict[str, tuple[Field, frozenset[str]] | None] = {}
        self._field_slots: dict[str, list[tuple[FieldSpec, dict, dict | None, dict | None]]] = {}
        self._columns: frozenset[str] | None = None

    def specs(self, instrument: str) -> list[FieldSpec]:
        specs = self._specs.get(instrument)
        if specs is None:
            specs = [field_spec(f, self.design, self._branching, self.keys) for f in self.design.fields(instrument)
                     if f.has_data and f.name != self.record_id_field]  # fmt: skip
            self._specs[instrument] = specs
        return specs

    def _checkbox_of(self, column: str) -> tuple[Field, frozenset[str]] | None:
        if column not in self._checkbox_columns:
            base = self.design.field_map.get(column.split("___", 1)[0])
            ok = base is not None and base.field_type == FieldType.CHECKBOX
            self._checkbox_columns[column] = (base, frozenset(base.checkbox_columns())) if ok else None
        return self._checkbox_columns[column]

    def _slots(self, instrument: str) -> list[tuple[FieldSpec, dict, dict | None, dict | None]]:
        """Per field of the instrument: (spec, its verdict cache, its rule E texts, its rule E verdicts), each
        dict made once per run so the row loop holds them instead of looking them up by name per value."""
        slots = self._field_slots.get(instrument)
        if slots is None:
            slots = self._field_slots[instrument] = [
                (spec, self._validated.setdefault(spec.name, {}), self._texts.get(spec.name),
                 self._outliers.get(spec.name) if "E" in self.rules else None)
                for spec in self.specs(instrument)
            ]  # fmt: skip
        return slots

    def _known_columns(self) -> frozenset[str]:
        """Every field name and checkbox column of the design: a row's other columns are the only ones rule G
        looks at (most rows have none)."""
        if self._columns is None:
            columns = set(self.design.field_map)
            for f in self.design.field_map.values():
                if f.field_type == FieldType.CHECKBOX:
                    columns.update(f.checkbox_columns())
            self._columns = frozenset(columns)
        return self._columns

    def check(self, ctx: RecordForms, record: int, key: FormKey, form: FormData) -> list[Finding]:
        event, instrument, instance = key
        data, missing = form
        ctx.at(event, instrument, instance)
        rules = self.rules
        blank_rules = "A" in rules or "B" in rules
        rule_c, rule_d, rule_f, rule_h = "C" in rules, "D" in rules, "F" in rules, "H" in rules
        validating = rule_c or rule_d
        stats = self.stats
        shown_by_logic: dict[Callable, bool] = {}  # fields often share one branching logic
        found: list[Finding] = []

        hashes = self._hashes

        def add(rule: str, f: Field, raw: str, message: str) -> None:
            shown = MASK if f.identifier and raw else raw
            digest = hashes.get(raw)
            if digest is None:  # blanks (rule A) and repeated numbers (rule E) are most findings
                if len(hashes) >= MAX_VERDICTS:
                    hashes.clear()
                digest = hashes[raw] = value_hash(raw)
            found.append(Finding(rule, record, event, instrument, instance, f.name, shown, digest, message))

        def visible(spec: FieldSpec) -> bool:
            logic = spec.visible
            if logic is None:
                return True
            shown = shown_by_logic.get(logic)
            if shown is None:
                shown = shown_by_logic[logic] = logic(ctx)
            return shown

        rule_a, rule_b, rule_g, rule_i = "A" in rules, "B" in rules, "G" in rules, "I" in rules
        no_codes = not missing  # most rows hold no missing-data code at all
        row_index = len(self._rows)
        if self._texts:
            self._rows.append((record, event, instrument, instance))
        for spec, verdicts, texts, outlier_seen in self._slots(instrument):
            f = spec.f
            name = spec.name
            columns = spec.columns
            if columns is None:
                value = data.get(name, "")
                present = not (value == "" or value is None)
                raw = (value if type(value) is str else str(value)) if present else ""
            else:
                ticked = [col for col in columns if data.get(col) == "1"]
                present = bool(ticked)
                raw = ",".join(col.split("___", 1)[1] for col in ticked)
            code = "" if no_codes else missing.get(name, "")
            if not present:  # rules A, B, I and H apply to a blank (in this order, as for a value: F, I, ...)
                if not code and blank_rules and not spec.is_calc and (spec.visible is None or visible(spec)):
                    if rule_a:
                        add("A", f, "", "blank")
                    if rule_b and spec.required:
                        add("B", f, "", "required field is blank")
                if code and rule_i:
                    add("I", f, code, f"missing-data code {code}")
                if rule_h and spec.is_calc:
                    expected = spec.recalculate(ctx)  # type: ignore[misc]
                    if expected != "":
                        add("H", f, "", f"stored (blank), calculated {expected}")
                continue
            if rule_f and spec.visible is not None and not visible(spec):
                add("F", f, raw, "hidden by branching logic but holds a value")
            if code and rule_i:
                add("I", f, code, f"missing-data code {code}")
            kind = spec.kind
            if kind == CHOICE:
                if rule_g and raw not in spec.choices:
                    add("G", f, raw, "not one of the choices" if f.identifier else f"{raw!r} is not one of the choices")
            elif kind == VALIDATED and validating and spec.vtype is not None:
                if spec.limits is None:  # a limit from the row or the clock: nothing to reuse
                    problems = self._validate(spec, raw, data)
                elif texts is not None:  # a number, rule E deferred: one entry holds the verdict and the rows
                    entry = texts.get(raw)
                    if entry is None:
                        entry = texts[raw] = (self._validate(spec, raw, data), array("I"))
                    entry[1].append(row_index)
                    texts = None  # counted
                    problems = entry[0]
                else:  # the verdict depends on the text alone, and dates and numbers repeat a lot
                    problems = verdicts.get(raw)
                    if problems is None:
                        problems = self._validate(spec, raw, data)
                        if len(verdicts) < MAX_VERDICTS:
                            verdicts[raw] = problems
                for rule, message in problems:
                    add(rule, f, raw, message)
            elif kind == SLIDER and rule_d:
                problems = verdicts.get(raw)  # a slider's verdict depends on the text alone
                if problems is None:
                    problems = [("D", problem.message) for problem in check_value(f, raw, values=data)]
                    if len(verdicts) < MAX_VERDICTS:
                        verdicts[raw] = problems
                for rule, message in problems:
                    add(rule, f, raw, message)
            if texts is not None:  # rule E, deferred: remember where each text is
                entry = texts.get(raw)
                if entry is None:
                    entry = texts[raw] = (None, array("I"))
                entry[1].append(row_index)
            if outlier_seen is not None:  # numbers repeat a lot: decide each distinct text once
                outlier = outlier_seen.get(raw)  # the message, or "" when the value is not an outlier
                if outlier is None:
                    number = to_number(raw)
                    mean, sd = stats[name]
                    far = number is not None and sd > 0 and abs(float(number) - mean) > 2 * sd
                    outlier = f"{raw} is more than 2 SD from the mean ({mean:.4g} ± {sd:.4g})" if far else ""
                    if len(outlier_seen) < MAX_VERDICTS:
                        outlier_seen[raw] = outlier
                if outlier:
                    add("E", f, raw, outlier)
            if rule_h and spec.is_calc:
                expected = spec.recalculate(ctx)  # type: ignore[misc]
                if expected != raw:
                    add("H", f, raw, f"stored {raw}, calculated {expected or '(blank)'}")
        if rule_g:
            known = self._known_columns()
            # Most rows hold no other column. issuperset walks the row's keys; `keys() - known` walked the
            # design's ~2,300 columns to discard them from a copy of the row's keys (0.8 against 2.7 us a row).
            extra = () if known.issuperset(data) else data.keys() - known
            for column in extra:
                if "___" in column:
                    base = self._checkbox_of(column)
                    if base is not None and column not in base[1] and data[column] not in ("", "0"):
                        add("G", base[0], column, f"{column} is not one of the choices")
        return found

    def outlier_counts(self) -> dict[str, dict[str, int]]:
        """Deferred rule E: how often each text of each numeric field was seen (this shard's part of the stats)."""
        return {name: {text: len(entry[1]) for text, entry in texts.items()} for name, texts in self._texts.items()}

    def outliers(self, stats: dict[str, tuple[float, float]]) -> Iterator[Finding]:
        """Deferred rule E: the findings, given the whole project's mean and SD per field.

        In row order, as the pass met the rows (and as an undeferred run reports them): stored in record order,
        the findings extend the (record, run, event) index at one end instead of all over it (their COPY took
        10-20% less time than field by field).
        """
        fields = self.design.field_map
        rows = self._rows
        far: list[tuple[int, tuple[str, str, str, str]]] = []
        for name, texts in self._texts.items():
            if name not in stats:
                continue
            mean, sd = stats[name]
            if not sd > 0:
                continue
            f = fields[name]
            for raw, (_verdict, where) in texts.items():
                number = to_number(raw)
                if number is None or abs(float(number) - mean) <= 2 * sd:
                    continue
                message = f"{raw} is more than 2 SD from the mean ({mean:.4g} ± {sd:.4g})"
                about = (name, MASK if f.identifier else raw, value_hash(raw), message)
                far.extend([(index, about) for index in where])
        self._texts = {}
        far.sort(key=itemgetter(0))  # stable: a row's fields stay in design order
        for index, (name, shown, digest, message) in far:
            record, event, instrument, instance = rows[index]
            yield Finding("E", record, event, instrument, instance, name, shown, digest, message)
        self._rows = []

    def _validate(self, spec: FieldSpec, raw: str, data: dict) -> list[tuple[str, str]]:
        """Rules C and D on a present value of a validated text field: [(rule, message)]."""
        f, vtype = spec.f, spec.vtype
        assert vtype is not None
        error, current = self._typed(spec, raw)
        if error:
            if "C" in self.rules:
                return [("C", f"not a valid {vtype.label or vtype.name}" if f.identifier else error)]
            return []
        if "D" in self.rules and spec.has_limits and current is not None:
            messages = self._out_of_range(spec, raw, current, data)
            return [("D", message if not f.identifier else "out of range") for message in messages]
        return []

    def _typed(self, spec: FieldSpec, raw: str) -> tuple[str | None, object]:
        """(check_type's error, the comparable value) of a text, worked out once per distinct text of the field:
        a limit of 'today' or [another_field] keeps the verdict from being cached."""
        seen = self._type_checks.setdefault(spec.name, {})
        entry = seen.get(raw)
        if entry is None:
            vtype = spec.vtype
            assert vtype is not None
            entry = typed_value(raw, vtype)
            if len(seen) < MAX_VERDICTS:
                seen[raw] = entry
        return entry

    def _out_of_range(self, spec: FieldSpec, raw: str, current: object, data: dict) -> list[str]:
        """check_value's limit messages for a value of the right type; constant limits without re-resolving them."""
        if spec.limits is not None:
            limits = spec.limits
        else:  # as forms.values.resolve_limit does per value: the clock, a field of the row, or a literal
            bounds = ((spec.f.validation_min, True), (spec.f.validation_max, False))
            limits = tuple((self._row_limit(spec, text or "", data), text, is_min) for text, is_min in bounds)
        messages = []
        for limit, text, is_min in limits:
            if limit is None:
                continue
            try:
                outside = current < limit if is_min else current > limit  # type: ignore[operator]
            except TypeError:
                continue
            if outside:
                messages.append(f"{raw} is {'below the minimum' if is_min else 'above the maximum'} ({text})")
        return messages

    def _row_limit(self, spec: FieldSpec, text: str, data: dict) -> object:
        limit = text.strip()
        if not limit:
            return None
        data_type = spec.vtype.data_type  # type: ignore[union-attr]
        if limit.lower() in ("today", "now"):  # the run's clock, read once per type: a run is one moment
            key = (data_type, limit.lower(), None)  # not a (type, text) key: a stored text 'today' is no date
            if key not in self._comparables:
                self._comparables[key] = resolve_limit(limit, data_type, data)
            return self._comparables[key]
        match = FIELD_LIMIT.fullmatch(limit)
        if match:
            other = data.get(match.group(1), "")
            return self._comparable(data_type, other) if other else None
        return self._comparable(data_type, limit)

    def _comparable(self, data_type: str, text: str) -> object:
        key = (data_type, text)
        if key not in self._comparables:
            if len(self._comparables) >= MAX_VERDICTS:
                self._comparables.clear()
            self._comparables[key] = comparable(text, data_type)
        return self._comparables[key]


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
                    events: frozenset[str] | None = None,
                    truthy: Callable[[RecordForms], bool] | None = None,
                    keys: Iterable[FormKey] | None = None) -> list[Finding]:  # fmt: skip
    """The rule at each anchor row of the record; `truthy` may replace plan.expression.truthy (a memoized one)
    and `keys` the record's form keys (those of the anchor instrument are enough)."""
    truthy = truthy or plan.expression.truthy
    found = []
    for key in ctx.forms if keys is None else keys:
        event, instrument, instance = key
        if instrument != plan.anchor_instrument or (plan.anchor_event and event != plan.anchor_event):
            continue
        if events and event not in events:
            continue
        ctx.at(event, instrument, instance)
        if truthy(ctx):
            shown, digest = reported_value(plan, design, ctx)
            found.append(Finding(plan.code, record, event, instrument, instance, plan.field, shown, digest, plan.name))
    return found


def rules_at_row(group: list[tuple[RulePlan, Callable[[RecordForms], bool]]], design: Design, ctx: RecordForms,
                 record: int, key: FormKey) -> list[Finding]:  # fmt: skip
    """The custom rules anchored at key's instrument, with ctx already at that row (evaluate_custom, row first)."""
    event, instrument, instance = key
    found = []
    for plan, truthy in group:
        if plan.anchor_event and event != plan.anchor_event:
            continue
        if truthy(ctx):
            shown, digest = reported_value(plan, design, ctx)
            found.append(Finding(plan.code, record, event, instrument, instance, plan.field, shown, digest, plan.name))
    return found
