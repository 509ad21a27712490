"""The expected rows of a filtered report, worked out with the save path's evaluator (RecordValues)."""

from __future__ import annotations

from forms.logic import parse
from registry.models import FormInstance
from registry.services.design import design_of
from registry.services.record_logic import RecordValues


def expected_rows(scope, filter_logic: str, instrument: str) -> set[tuple[str, str, int | str]]:
    """(record, event, repeat instance or '') of every stored `instrument` the filter selects."""
    design = design_of(scope.project)
    expression = parse(filter_logic)
    selected = set()
    forms = FormInstance.objects.filter(record__in=scope.records(), instrument=instrument).select_related("record")
    for form in forms:
        ctx = RecordValues(
            design=design,
            record=form.record,
            event=form.event,
            instrument=instrument,
            instance=form.instance,
            form_values=dict(form.data),
            form_missing=dict(form.missing),
        )
        if expression.truthy(ctx):
            repeats = form.event in design.repeating_events
            selected.add((form.record.record_id, form.event, form.instance if repeats else ""))
    return selected


def table_keys(rows) -> set[tuple[str, str, int | str]]:
    return {(r["record_id"], r["redcap_event_name"], r.get("redcap_repeat_instance", "")) for r in rows}
