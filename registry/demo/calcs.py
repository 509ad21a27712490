"""Calculated fields and branching for a record held in memory, exactly as form_save applies them.

The generator does not save form by form, but every stored calc must equal what the form
engine recomputes (data-quality rule H). So each form goes through the same
`RecordValues.apply_calculations_and_branching` as a save, with the record's other forms
answered from memory instead of the database.
"""

from __future__ import annotations

from forms.models import FieldType
from registry.demo.planted_errors import FormKey, Forms
from registry.models import FormInstance, Record
from registry.services.design import Design
from registry.services.record_logic import FormValues, RecordValues

# Forms are computed in this order, so a calc that reads another form reads its final values:
# the enrolment (dob, cohort) and first dose feed the visits, the visit feeds its follow-up status.
INSTRUMENT_ORDER = (
    "enrollment",
    "anakinra_start",
    "ddx_workup",
    "micro_test_other",
    "classification",
    "disease_activity",
    "biomarker_sample",
    "followup_status",
    "anakinra_period",
    "conmed",
    "adverse_event",
)


class InMemoryRecordValues(RecordValues):
    """RecordValues over unsaved form instances: no database read."""

    def __init__(self, *, forms: dict[FormKey, FormInstance], **kwargs) -> None:
        super().__init__(**kwargs)
        self._forms = FormValues(forms)  # type: ignore[assignment]
        self._whole_record = True


def _order(design: Design, key: FormKey) -> tuple[int, int, int]:
    events = [name for name, _ in design.events]
    event_rank = events.index(key[0]) if key[0] in events else len(events)
    rank = INSTRUMENT_ORDER.index(key[1]) if key[1] in INSTRUMENT_ORDER else len(INSTRUMENT_ORDER)
    # The baseline event first (others refer to it), then by instrument so a visit's inputs precede it.
    return (0 if key[0] == events[0] else 1, rank, event_rank * 1000 + key[2])


def complete_checkboxes(design: Design, forms: Forms) -> None:
    """Store '0' for every unticked option of a checkbox, as the entry form submits it."""
    for (_event, instrument, _instance), values in forms.items():
        for f in design.fields(instrument):
            if f.field_type == FieldType.CHECKBOX:
                for column in f.checkbox_columns():
                    values.setdefault(column, "0")


def apply_calculations(
    *, design: Design, record: Record, forms: Forms, missing: dict[FormKey, dict[str, str]]
) -> dict[FormKey, FormInstance]:
    """Compute every calc and clear hidden fields, in place; return unsaved FormInstances of the record."""
    instances: dict[FormKey, FormInstance] = {
        key: FormInstance(
            record=record, event=key[0], instrument=key[1], instance=key[2], data=values, missing=missing.get(key, {})
        )
        for key, values in forms.items()
    }
    for key in sorted(forms, key=lambda k: _order(design, k)):
        form = instances[key]
        context = InMemoryRecordValues(
            forms=instances,
            design=design,
            record=record,
            event=key[0],
            instrument=key[1],
            instance=key[2],
            form_values=form.data,
            form_missing=form.missing,
        )
        context.apply_calculations_and_branching(design.fields(key[1]), form.data, form.missing)
        form.data = {k: v for k, v in form.data.items() if v not in ("", None)}
        forms[key] = form.data
    return instances
