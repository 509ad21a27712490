"""The logic language over one record: branching logic and calculations on save.

RecordValues is the evaluation context of the logic language for a record being saved: the
form being saved answers from the submitted values, every other form instance of the record
from the database, read on first use. When the instrument's logic names the other forms it can
read (`forms_read_by`: plain references such as `[baseline_arm_1][consent_genetic]`), only those
are read; logic that can reach any instance (instance words, event words) reads the whole record.
A save of the workup read all 44 forms of a record (43 KB of JSON) for one baseline answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from forms.logic import EvalContext, Expression, LogicSyntaxError, evaluate, format_value, parse
from forms.logic.context import INSTANCE_WORDS
from forms.logic.parser import EVENT_SMART_VARIABLES
from forms.models import Field, FieldType, checkbox_column
from registry import sql_rows
from registry.models import FormInstance, Membership, Record
from registry.services import save_sql
from registry.services.design import Design

FormKey = tuple[str, str, int]


class FormValues(Mapping):
    """(data, missing) of form instances held in memory, read live: for contexts that fill forms in as they go."""

    def __init__(self, forms: dict[FormKey, FormInstance]) -> None:
        self._forms = forms

    def __getitem__(self, key: FormKey) -> tuple[dict, dict]:
        form = self._forms[key]
        return form.data, form.missing

    def __iter__(self) -> Iterator[FormKey]:
        return iter(self._forms)

    def __len__(self) -> int:
        return len(self._forms)


class RecordValues(EvalContext):
    def __init__(
        self,
        *,
        design: Design,
        record: Record,
        event: str,
        instrument: str,
        instance: int,
        form_values: dict[str, str],
        form_missing: dict[str, str] | None = None,
        user=None,
    ) -> None:
        self.design = design
        self.record = record
        self.instrument = instrument
        self.form_values = form_values
        self.form_missing = form_missing or {}
        self.user = user
        self.record_name = record.record_id
        self.event_name = event if design.is_longitudinal else ""
        self._event = event
        self.record_dag_name = record.site.code if record.site_id else ""
        self.current_instance = instance if design.is_repeating(event, instrument) else None
        self.missing_codes = frozenset(design.missing_codes)
        self._forms: dict[FormKey, tuple[dict, dict]] | None = None  # (data, missing) per form instance
        # The other forms the instrument's logic can read, when it names them all; None: the whole record.
        self._reads = forms_read_by(design, event, instrument)
        self._whole_record = False  # whether _forms holds every form of the record
        self._visible: dict[str, bool] = {}  # the last round's branching verdicts
        self._instance = instance

    @property
    def user_dag_name(self) -> str:  # type: ignore[override]
        if self.user is None or not getattr(self.user, "pk", None):
            return ""
        membership = Membership.objects.filter(user=self.user, project_id=self.design.project_id).first()
        return membership.site.code if membership and membership.site_id else ""

    def _load(self) -> dict[FormKey, tuple[dict, dict]]:
        """Every form of the record (read once)."""
        if not self._whole_record:
            self._forms = read_record_forms(self.record)
            self._whole_record = True
        return self._forms  # type: ignore[return-value]

    def _other_form(self, key: FormKey) -> tuple[dict, dict] | None:
        if self._whole_record or self._reads is None or key not in self._reads:
            return self._load().get(key)
        if self._forms is None:
            self._forms = read_record_forms(self.record, keys=self._reads)
        return self._forms.get(key)

    def preload(self, forms: dict[FormKey, tuple[dict, dict]]) -> None:
        """The forms at the keys the logic names (`forms_read_by`), already read, every one of them found."""
        if self._reads is not None and self._forms is None and not self._whole_record and self._reads <= forms.keys():
            self._forms = forms

    def loaded_forms(self) -> dict[FormKey, tuple[dict, dict]] | None:
        """(data, missing) of every form instance of the record if the logic read them all (a copy), else None."""
        return dict(self._forms) if self._whole_record else None  # type: ignore[arg-type]

    def _key(self, field: str, event: str | None, instance: int | None) -> FormKey | None:
        instrument = self.design.instrument_of.get(field.split("___")[0])
        if instrument is None:
            return None
        event_name = self._event if event is None else event
        if instance is None:
            same_context = event_name == self._event and instrument == self.instrument
            instance = self._instance if same_context else 1
        return event_name, instrument, instance

    def _data(self, key: FormKey) -> tuple[dict[str, str], dict[str, str]]:
        if key == (self._event, self.instrument, self._instance):
            return self.form_values, self.form_missing
        return self._other_form(key) or ({}, {})

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        key = self._key(field, event, instance)
        return "" if key is None else str(self._data(key)[0].get(field, "") or "")

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        key = self._key(field, event, instance)
        if key is None:
            return "0"
        return "1" if self._data(key)[0].get(checkbox_column(field, code)) == "1" else "0"

    def missing_code(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        key = self._key(field, event, instance)
        return "" if key is None else self._data(key)[1].get(field, "")

    def instances(self, field: str, event: str | None = None) -> list[int]:
        instrument = self.design.instrument_of.get(field)
        event_name = self._event if event is None else event
        found = {n for (e, i, n) in self._load() if e == event_name and i == instrument}
        if event_name == self._event and instrument == self.instrument:
            found.add(self._instance)
        return sorted(found)

    def resolve_event(self, name: str) -> str | None:
        return self._event if name == "event-name" else None

    # -- branching and calculations ---------------------------------------------------------

    def is_visible(self, f: Field, values: dict[str, str] | None = None) -> bool:
        branching = _branching_of(f)
        return True if branching is None else branching.truthy(self)

    def calculate(self, f: Field) -> str:
        source = f.calc_expression
        if not source:
            return ""
        try:
            result = evaluate(parse(source), self)
        except LogicSyntaxError:
            return ""
        return format_calc_result(result, f)

    def apply_calculations_and_branching(
        self, fields: list[Field], values: dict[str, str], missing: dict[str, str]
    ) -> set[str]:
        """Recompute calcs, then clear fields hidden by branching logic; return the cleared fields.

        Two rounds, because a calc may feed a later branching condition and a cleared field may
        feed a calc.
        """
        self.form_values, self.form_missing = values, missing
        if fields is self.design.fields_by_instrument.get(self.instrument):  # the instrument's: worked out once
            plan = self.design.kept(("logic_plan", self.instrument), lambda: _logic_plan(fields))
        else:
            plan = _logic_plan(fields)
        calcs, shown = plan
        cleared: set[str] = set()
        verdicts = self._visible
        for _round in range(2):
            for f in calcs:
                values[f.name] = self.calculate(f)
            cleared_before = len(cleared)
            for name, branching, columns, checkbox in shown:
                visible = verdicts[name] = True if branching is None else branching.truthy(self)
                if not visible:
                    for col in columns:
                        if values.get(col) not in (None, "", "0" if checkbox else None):
                            cleared.add(col)
                        values.pop(col, None)
                    if missing.pop(name, None):
                        cleared.add(name)
            if len(cleared) == cleared_before:
                break  # nothing was cleared: a second round would compute the same calcs and verdicts
        return cleared

    def was_visible(self, f: Field) -> bool:
        """The field's branching verdict from the last `apply_calculations_and_branching` round."""
        visible = self._visible.get(f.name)
        return self.is_visible(f, self.form_values) if visible is None else visible


def _branching_of(f: Field) -> Expression | None:
    """A field's parsed branching logic; None shows it always (no logic, or logic that does not parse:
    invalid logic is refused at import, and data is never hidden because of it)."""
    if not f.branching_logic.strip():
        return None
    try:
        return parse(f.branching_logic)
    except LogicSyntaxError:
        return None


def _logic_plan(fields: list[Field]) -> tuple[tuple[Field, ...], tuple]:
    """(calc fields, (name, parsed branching or None, stored columns, is a checkbox) of each field with
    data): what `apply_calculations_and_branching` asks of every field, asked once."""
    shown = []
    for f in fields:
        if not f.has_data:
            continue
        checkbox = f.field_type == FieldType.CHECKBOX
        shown.append((f.name, _branching_of(f), tuple(f.checkbox_columns()) if checkbox else (f.name,), checkbox))
    return tuple(f for f in fields if f.is_calc), tuple(shown)


def read_record_forms(
    record: Record, keys: frozenset[FormKey] | None = None, instruments: frozenset[str] | None = None
) -> dict[FormKey, tuple[dict, dict]]:
    """(data, missing) of the record's form instances: all of them, those at `keys`, or those of `instruments`."""
    if sql_rows.enabled():
        return save_sql.record_forms(record.pk, keys, instruments)
    # Rows as tuples: the logic reads only the values, and a record has dozens of forms.
    rows = FormInstance.objects.filter(record=record)
    if keys is not None:
        rows = rows.filter(event__in={k[0] for k in keys}, instrument__in={k[1] for k in keys})
    elif instruments is not None:
        rows = rows.filter(instrument__in=instruments)
    found = rows.values_list("event", "instrument", "instance", "data", "missing")
    forms = {(event, instrument, n): (data, missing) for event, instrument, n, data, missing in found}
    return forms if keys is None else {key: value for key, value in forms.items() if key in keys}


# Smart variables that never read a form of the record (the base EvalContext answers them).
_FORMLESS_SMART_VARIABLES = INSTANCE_WORDS | {"record-name", "event-name", "record-dag-name", "user-dag-name"}


def forms_read_by(design: Design, event: str, instrument: str) -> frozenset[FormKey] | None:
    """The other form instances the calcs and branching of `instrument`, saved at `event`, can read.

    None when the logic can reach forms that only the record's data decides: an instance word
    (`[last-instance]`), an event word (`[previous-event-name]`) or a smart variable that is not
    known to read nothing. The form being saved is left out for its non-repeating reading, and
    references to other instances of it (`[field][2]`) are kept. Worked out once per design version.
    """
    return design.kept(("forms_read_by", event, instrument), lambda: _forms_read_by(design, event, instrument))


def _forms_read_by(design: Design, event: str, instrument: str) -> frozenset[FormKey] | None:
    keys: set[FormKey] = set()
    for f in design.fields(instrument):
        for source in (f.branching_logic, f.calc_expression if f.is_calc else None):
            if not source or not source.strip():
                continue
            try:
                expression = parse(source)
            except LogicSyntaxError:
                continue  # never evaluated: invalid branching shows the field, an invalid calc is blank
            if not expression.smart_variables <= _FORMLESS_SMART_VARIABLES:
                return None
            for ref in expression.references:
                if ref.event is None or ref.event == "event-name":
                    ref_event = event
                elif ref.event in EVENT_SMART_VARIABLES:
                    return None  # an event word ([previous-event-name]): the record's data decides
                else:
                    ref_event = ref.event
                owner = design.instrument_of.get(ref.field.split("___")[0])
                if owner is None:
                    continue  # no such field: reads nothing
                same_form = ref_event == event and owner == instrument
                if ref.instance is None:
                    if not same_form:
                        keys.add((ref_event, owner, 1))
                elif ref.instance.isascii() and ref.instance.isdigit():
                    keys.add((ref_event, owner, int(ref.instance)))
                else:
                    return None
    return frozenset(keys)


def format_calc_result(result, f: Field) -> str:
    """A calc's value as stored: the same text the browser shows (forms.logic.format_value), blank if not finite.

    A calc field holds a number; @CALCTEXT and @CALCDATE hold text.
    """
    if isinstance(result, float) and not math.isfinite(result):
        return ""
    text = format_value(result)
    if f.field_type == FieldType.CALC and text and not isinstance(result, int | float | bool):
        try:
            number = float(text)
        except ValueError:
            return ""  # a calc field holds numbers only
        return format_value(number) if math.isfinite(number) else ""
    return text
