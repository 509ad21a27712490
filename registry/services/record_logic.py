"""The logic language over one record: branching logic and calculations on save.

RecordValues is the evaluation context of the logic language for a record being saved: the
form being saved answers from the submitted values, every other form instance of the record
from the database (loaded once, on first use).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from forms.logic import EvalContext, LogicSyntaxError, evaluate, format_value, parse
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
        self._visible: dict[str, bool] = {}  # the last round's branching verdicts
        self._instance = instance

    @property
    def user_dag_name(self) -> str:  # type: ignore[override]
        if self.user is None or not getattr(self.user, "pk", None):
            return ""
        membership = Membership.objects.filter(user=self.user, project_id=self.design.project_id).first()
        return membership.site.code if membership and membership.site_id else ""

    def _load(self) -> dict[FormKey, tuple[dict, dict]]:
        if self._forms is None and sql_rows.enabled():
            self._forms = save_sql.record_forms(self.record.pk)
        if self._forms is None:
            # Rows as tuples: the logic reads only the values, and a record has dozens of forms.
            rows = FormInstance.objects.filter(record=self.record).values_list(
                "event", "instrument", "instance", "data", "missing"
            )
            self._forms = {(event, instrument, n): (data, missing) for event, instrument, n, data, missing in rows}
        return self._forms

    def loaded_forms(self) -> dict[FormKey, tuple[dict, dict]] | None:
        """(data, missing) of the record's form instances if the logic has read them (a copy), else None."""
        return None if self._forms is None else dict(self._forms)

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
        return self._load().get(key) or ({}, {})

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
        if not f.branching_logic.strip():
            return True
        try:
            return parse(f.branching_logic).truthy(self)
        except LogicSyntaxError:
            return True  # invalid logic is refused at import; never hide data because of it

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
        cleared: set[str] = set()
        for _round in range(2):
            for f in fields:
                if f.is_calc:
                    values[f.name] = self.calculate(f)
            cleared_before = len(cleared)
            for f in fields:
                if not f.has_data:
                    continue
                visible = self._visible[f.name] = self.is_visible(f, values)
                if not visible:
                    columns = f.checkbox_columns() if f.field_type == FieldType.CHECKBOX else [f.name]
                    for col in columns:
                        if values.get(col) not in (None, "", "0" if f.field_type == FieldType.CHECKBOX else None):
                            cleared.add(col)
                        values.pop(col, None)
                    if missing.pop(f.name, None):
                        cleared.add(f.name)
            if len(cleared) == cleared_before:
                break  # nothing was cleared: a second round would compute the same calcs and verdicts
        return cleared

    def was_visible(self, f: Field) -> bool:
        """The field's branching verdict from the last `apply_calculations_and_branching` round."""
        visible = self._visible.get(f.name)
        return self.is_visible(f, self.form_values) if visible is None else visible


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
