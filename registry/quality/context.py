"""The logic language over one record held in memory: what the rule engine evaluates against.

Same addressing as the form save's RecordValues (a field of another instrument at the same event
is read from instance 1), plus the design-order event smart variables that rules use
(`[previous-event-name][wt_kg]`).
"""

from __future__ import annotations

from forms.logic import EvalContext
from forms.models import checkbox_column
from registry.services.design import Design

FormKey = tuple[str, str, int]
FormData = tuple[dict, dict]  # (data, missing)
_EMPTY: FormData = ({}, {})
NO_DATA: dict = {}  # the data of a row the record does not have (never written to)


class RecordForms(EvalContext):
    def __init__(self, design: Design, record_id: str, site_code: str, forms: dict[FormKey, FormData]) -> None:
        self.design = design
        self.record_name = record_id
        self.record_dag_name = site_code
        self.forms = forms
        self._instrument_of = design.instrument_of
        self.missing_codes = frozenset(design.missing_codes)
        self._event_order = [name for name, _ in design.events]
        self.at(design.default_event(), design.instruments[0][0], 1)

    def at(self, event: str, instrument: str, instance: int) -> RecordForms:
        """Make (event, instrument, instance) the current form; returns self for chaining."""
        self._event, self._instrument, self._instance = event, instrument, instance
        form = self.forms.get((event, instrument, instance))
        self.row_data: dict = form[0] if form is not None else NO_DATA  # the current row: most reads land here
        self.event_name = event if self.design.is_longitudinal else ""
        self.current_instance = instance if self.design.is_repeating(event, instrument) else None
        return self

    def _key(self, field: str, event: str | None, instance: int | None) -> FormKey | None:
        instrument = self._instrument_of.get(field.split("___")[0] if "___" in field else field)
        if instrument is None:
            return None
        event_name = self._event if event is None else event
        if instance is None:
            instance = self._instance if (event_name == self._event and instrument == self._instrument) else 1
        return event_name, instrument, instance

    def _data(self, key: FormKey | None) -> FormData:
        return self.forms.get(key, _EMPTY) if key else _EMPTY

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        # The hot path of every rule and calc: a field of the current row, read without building a key.
        if event is None and instance is None and self._instrument_of.get(field) == self._instrument:
            value = self.row_data.get(field)
            return value if type(value) is str else str(value or "")
        key = self._key(field, event, instance)
        if key is None:
            return ""
        form = self.forms.get(key)
        if form is None:
            return ""
        value = form[0].get(field)
        return value if type(value) is str else str(value or "")

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        data = self._data(self._key(field, event, instance))[0]
        return "1" if data.get(checkbox_column(field, code)) == "1" else "0"

    def missing_code(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        return self._data(self._key(field, event, instance))[1].get(field, "")

    def instances(self, field: str, event: str | None = None) -> list[int]:
        instrument = self.design.instrument_of.get(field)
        event_name = self._event if event is None else event
        return sorted(n for (e, i, n) in self.forms if e == event_name and i == instrument)

    def resolve_event(self, name: str) -> str | None:
        return event_word(self._event_order, self._event, name) if self.design.is_longitudinal else None


def event_word(order: list[str], current: str, word: str) -> str | None:
    """The event an event smart variable names, by design order (REDCap's meaning); None if none."""
    if word == "event-name":
        return current
    if word == "first-event-name":
        return order[0] if order else None
    if word == "last-event-name":
        return order[-1] if order else None
    if current not in order:
        return None
    position = order.index(current) + (-1 if word == "previous-event-name" else 1)
    return order[position] if 0 <= position < len(order) else None
