"""A small runner of the study's custom data-quality rules over stored records, for the demo tests.

Not the data-quality module: just enough to prove that the clean cohort raises no custom rule and
that every planted error is found. A rule is evaluated at each form instance holding one of the
fields it names without an event prefix (rules naming only prefixed fields: once per record).
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.logic import parse
from registry.demo.planted_errors import custom_rules
from registry.models import FormInstance, Record
from registry.services.design import Design
from registry.services.record_logic import FormValues, RecordValues


class RuleContext(RecordValues):
    def __init__(self, *, events: list[str], forms: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self._forms = FormValues(forms)  # type: ignore[assignment]
        self._events = events

    def resolve_event(self, name: str) -> str | None:
        if name == "previous-event-name":
            position = self._events.index(self._event)
            return self._events[position - 1] if position > 0 else None
        return super().resolve_event(name)


@dataclass(frozen=True)
class Hit:
    record: str
    event: str
    instrument: str
    instance: int
    rule_id: str


def sweep(design: Design, records: list[Record]) -> set[Hit]:
    events = [name for name, _ in design.events]
    rules = {rule_id: parse(logic) for rule_id, (_name, logic) in custom_rules().items()}
    hits: set[Hit] = set()
    for record in records:
        forms = {(f.event, f.instrument, f.instance): f for f in FormInstance.objects.filter(record=record)}
        for rule_id, expr in rules.items():
            local = {ref.field for ref in expr.references if not ref.event}
            for (event, instrument, instance), form in forms.items():
                fields = {f.name for f in design.fields(instrument)}
                if local and not local & fields:
                    continue
                if not local and (event, instrument) != (events[0], "enrollment"):
                    continue
                ctx = RuleContext(
                    events=events,
                    forms=forms,
                    design=design,
                    record=record,
                    event=event,
                    instrument=instrument,
                    instance=instance,
                    form_values=form.data,
                    form_missing=form.missing,
                )
                if expr.truthy(ctx):
                    hits.add(Hit(record.record_id, event, instrument, instance, rule_id))
    return hits
