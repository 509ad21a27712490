"""The REDCap flat record format: one row per record x event (+ one per repeating instance).

Shared by the exports (the `csv` format and every format built from it) and by the API's
`content=record` export, so both follow `reference/redcap-api-contract.md` section 5:

- columns (`flat_columns`): record id, `redcap_event_name` (longitudinal projects),
  `redcap_repeat_instrument` and `redcap_repeat_instance` (projects with any repeating instrument
  or event), `redcap_data_access_group` (on request), then the fields in project order with
  checkboxes expanded to `field___code`, `<form>_complete` last in each form, descriptive fields
  dropped;
- rows (`iter_flat_rows`): streamed record by record (a few hundred records are read at a time),
  site-scoped through `scope.records()`, one row per record and event that holds data of a
  non-repeating form, one row per instance of a repeating instrument, one row per instance of a
  repeating event; values are REDCap strings (`redcap_repeat_instance` is an int on repeating
  rows, `''` elsewhere).

Missing-data codes are stored beside the values; the flat format puts them in the value column,
as REDCap does (the `tidy` export keeps them in columns of their own).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC

from forms.logic import EvalContext, LogicSyntaxError, parse
from forms.models import FieldType, checkbox_column
from registry.models import FormInstance, FormStatus

KIND_RECORD_ID = "record_id"
KIND_EVENT = "event"
KIND_REPEAT_INSTRUMENT = "repeat_instrument"
KIND_REPEAT_INSTANCE = "repeat_instance"
KIND_DAG = "dag"
KIND_VALUE = "value"
KIND_CHECKBOX = "checkbox"
KIND_COMPLETE = "complete"
PSEUDO_KINDS = (KIND_EVENT, KIND_REPEAT_INSTRUMENT, KIND_REPEAT_INSTANCE, KIND_DAG)
LABELLED_TYPES = (FieldType.RADIO, FieldType.DROPDOWN, FieldType.YESNO, FieldType.TRUEFALSE)
STATUS_LABELS = {str(s.value): s.label for s in FormStatus}
RECORD_CHUNK = 250


@dataclass(frozen=True)
class FlatColumn:
    """One column of the flat format."""

    name: str
    kind: str  # 'record_id','event','repeat_instrument','repeat_instance','dag','value','checkbox','complete'
    field: str | None = None  # the data-dictionary field (checkbox: its base name)
    instrument: str | None = None
    code: str | None = None  # checkbox choice code
    label: str = ""


class FlatFormatError(ValueError):
    """A requested field, form or event does not exist, or the filter logic does not parse."""


def has_repeating(design) -> bool:
    return bool(design.repeating_instruments or design.repeating_events)


def flat_columns(design, *, fields=None, forms=None, include_dag: bool = False) -> list[FlatColumn]:
    """The columns of a flat export, in REDCap's order.

    `fields` may name fields, checkbox base names or export names (`cb___2`), `<form>_complete`
    and descriptive fields (dropped); `forms` names whole instruments. With neither, every
    column; with either, the record-id column only if it (or its form) was asked for (REDCap 6+).
    """
    record_id_field = design.record_id_field
    field_map = design.field_map
    complete_of = {f"{name}_complete": name for name, _ in design.instruments}
    wanted_fields: set[str] = set()
    wanted_columns: set[str] = set()
    wanted_complete: set[str] = set()
    wanted_forms: set[str] = set()
    select_all = fields is None and forms is None
    for name in fields or ():
        if name in field_map:
            wanted_fields.add(name)
        elif name in complete_of:
            wanted_complete.add(complete_of[name])
        elif "___" in name and name.split("___")[0] in field_map:
            wanted_columns.add(name)
        else:
            raise FlatFormatError(f"{name!r} is not a field of this project")
    instrument_names = {name for name, _ in design.instruments}
    for name in forms or ():
        if name not in instrument_names:
            raise FlatFormatError(f"{name!r} is not an instrument of this project")
        wanted_forms.add(name)

    first_form = design.instruments[0][0] if design.instruments else None
    columns: list[FlatColumn] = []
    if select_all or record_id_field in wanted_fields or first_form in wanted_forms:
        f = field_map.get(record_id_field)
        columns.append(
            FlatColumn(
                record_id_field, KIND_RECORD_ID, record_id_field, first_form, None, f.label if f else "Record ID"
            )
        )
    if design.is_longitudinal:
        columns.append(FlatColumn("redcap_event_name", KIND_EVENT, label="Event Name"))
    if has_repeating(design):
        columns.append(FlatColumn("redcap_repeat_instrument", KIND_REPEAT_INSTRUMENT, label="Repeat Instrument"))
        columns.append(FlatColumn("redcap_repeat_instance", KIND_REPEAT_INSTANCE, label="Repeat Instance"))
    if include_dag:
        columns.append(FlatColumn("redcap_data_access_group", KIND_DAG, label="Data Access Group"))
    for form, _label in design.instruments:
        whole = select_all or form in wanted_forms
        for f in design.fields_by_instrument.get(form, []):
            if f.name == record_id_field or not f.has_data:
                continue
            if f.field_type == FieldType.CHECKBOX:
                for code, choice_label in f.choices:
                    col = checkbox_column(f.name, code)
                    if whole or f.name in wanted_fields or col in wanted_columns:
                        columns.append(
                            FlatColumn(col, KIND_CHECKBOX, f.name, form, code, f"{f.label} (choice={choice_label})")
                        )
            elif whole or f.name in wanted_fields:
                columns.append(FlatColumn(f.name, KIND_VALUE, f.name, form, None, f.label))
        if whole or form in wanted_complete:
            columns.append(FlatColumn(f"{form}_complete", KIND_COMPLETE, None, form, None, "Complete?"))
    return columns


# -- the rows of one record -------------------------------------------------------------------


@dataclass
class FormRow:
    """One stored form instance, as read for an export."""

    event: str
    instrument: str
    instance: int
    data: dict
    missing: dict
    status: int


@dataclass
class RecordInfo:
    pk: int
    record_id: str
    site_code: str
    site_name: str
    created_on: object  # date (UTC) the record was created
    forms: list[FormRow] = field(default_factory=list)


@dataclass
class RowShape:
    """Which forms a row holds (`present`) and which of the event's forms belong in it (`applicable`)."""

    event: str
    repeat_instrument: str  # '' unless a repeating-instrument row
    repeat_instance: int | None
    present: dict[str, FormRow]
    applicable: frozenset[str]


def event_order(design) -> dict[str, int]:
    return {name: i for i, (name, _label) in enumerate(design.events)}


def record_row_shapes(design, info: RecordInfo, events: set[str] | None = None) -> Iterator[RowShape]:
    """The rows of one record in REDCap's order: event order, base row, repeating instruments, instances."""
    by_event: dict[str, list[FormRow]] = defaultdict(list)
    for form in info.forms:
        by_event[form.event].append(form)
    order = event_order(design)
    form_order = {name: i for i, (name, _label) in enumerate(design.instruments)}
    for event in sorted(by_event, key=lambda e: (order.get(e, len(order)), e)):
        if events is not None and event not in events:
            continue
        forms = by_event[event]
        designated = frozenset(design.instruments_for_event(event))
        if event in design.repeating_events:
            instances = sorted({f.instance for f in forms})
            for n in instances:
                present = {f.instrument: f for f in forms if f.instance == n}
                yield RowShape(event, "", n, present, designated)
            continue
        base = {f.instrument: f for f in forms if not design.is_repeating(event, f.instrument)}
        if base:
            applicable = frozenset(i for i in designated if not design.is_repeating(event, i))
            yield RowShape(event, "", None, base, applicable)
        repeating = sorted(
            (f for f in forms if design.is_repeating(event, f.instrument)),
            key=lambda f: (form_order.get(f.instrument, len(form_order)), f.instance),
        )
        for f in repeating:
            yield RowShape(event, f.instrument, f.instance, {f.instrument: f}, frozenset({f.instrument}))


class RowContext(EvalContext):
    """The logic language over one record already read into memory (filters)."""

    def __init__(self, design, info: RecordInfo, shape: RowShape):
        self.design = design
        self.info = info
        self.shape = shape
        self.record_name = info.record_id
        self.event_name = shape.event if design.is_longitudinal else ""
        self.record_dag_name = info.site_code
        self.current_instance = shape.repeat_instance
        self.missing_codes = frozenset(design.missing_codes)
        self._index = {(f.event, f.instrument, f.instance): f for f in info.forms}

    def _form(self, name: str, event: str | None, instance: int | None) -> FormRow | None:
        instrument = self.design.instrument_of.get(name.split("___")[0])
        if instrument is None:
            return None
        event_name = self.shape.event if event is None else event
        if instance is None:
            same = event_name == self.shape.event and (
                instrument in self.shape.present or self.shape.repeat_instrument == instrument
            )
            instance = self.shape.repeat_instance if same and self.shape.repeat_instance else 1
        return self._index.get((event_name, instrument, instance))

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        form = self._form(field, event, instance)
        return "" if form is None else str(form.data.get(field, "") or "")

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        form = self._form(field, event, instance)
        return "1" if form is not None and form.data.get(checkbox_column(field, code)) == "1" else "0"

    def missing_code(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        form = self._form(field, event, instance)
        return "" if form is None else form.missing.get(field, "")

    def instances(self, field: str, event: str | None = None) -> list[int]:
        instrument = self.design.instrument_of.get(field)
        event_name = self.shape.event if event is None else event
        return sorted({n for (e, i, n) in self._index if e == event_name and i == instrument})

    def resolve_event(self, name: str) -> str | None:
        return self.shape.event if name == "event-name" else None


def parse_filter(filter_logic: str | None):
    if not filter_logic or not filter_logic.strip():
        return None
    try:
        return parse(filter_logic)
    except LogicSyntaxError as exc:
        raise FlatFormatError(f"filter logic: {exc}") from exc


# -- streaming records -------------------------------------------------------------------------


def iter_records(
    scope,
    *,
    records: Iterable[str] | None = None,
    sites: Iterable[str] | None = None,
    instruments: Iterable[str] | None = None,
    events: Iterable[str] | None = None,
    chunk: int = RECORD_CHUNK,
) -> Iterator[RecordInfo]:
    """The scope's records in record-id order (code-point order), each with its stored form rows.

    Reads `chunk` records at a time, so memory does not grow with the project.
    """
    qs = scope.records()
    if records is not None:
        qs = qs.filter(record_id__in=list(records))
    if sites is not None:
        qs = qs.filter(site__code__in=list(sites))
    heads = sorted(qs.values_list("pk", "record_id", "site__code", "site__name", "created_at"), key=lambda r: r[1])
    instruments = list(instruments) if instruments is not None else None
    events = list(events) if events is not None else None
    for start in range(0, len(heads), chunk):
        part = heads[start : start + chunk]
        infos = {
            pk: RecordInfo(pk, rid, code, name, created.astimezone(UTC).date()) for pk, rid, code, name, created in part
        }
        forms = FormInstance.objects.filter(record_id__in=list(infos))
        if instruments is not None:
            forms = forms.filter(instrument__in=instruments)
        if events is not None:
            forms = forms.filter(event__in=events)
        for rpk, event, instrument, instance, data, missing, status in forms.values_list(
            "record_id", "event", "instrument", "instance", "data", "missing", "status"
        ).iterator(chunk_size=2000):
            infos[rpk].forms.append(FormRow(event, instrument, instance, data or {}, missing or {}, status))
        for pk, *_rest in part:
            yield infos[pk]


def count_records(scope, *, records=None, sites=None) -> int:
    qs = scope.records()
    if records is not None:
        qs = qs.filter(record_id__in=list(records))
    if sites is not None:
        qs = qs.filter(site__code__in=list(sites))
    return qs.count()


# -- one row's values --------------------------------------------------------------------------


def cell_value(
    design,
    column: FlatColumn,
    info: RecordInfo,
    shape: RowShape,
    *,
    raw_or_label: str = "raw",
    export_checkbox_label: bool = False,
):
    """The REDCap string of one column in one row."""
    label = raw_or_label == "label"
    kind = column.kind
    if kind == KIND_RECORD_ID:
        return info.record_id
    if kind == KIND_EVENT:
        return dict(design.events).get(shape.event, shape.event) if label else shape.event
    if kind == KIND_REPEAT_INSTRUMENT:
        if label and shape.repeat_instrument:
            return design.instrument_label(shape.repeat_instrument)
        return shape.repeat_instrument
    if kind == KIND_REPEAT_INSTANCE:
        return shape.repeat_instance if shape.repeat_instance is not None else ""
    if kind == KIND_DAG:
        return info.site_name if label else info.site_code
    instrument = column.instrument
    if kind == KIND_COMPLETE:
        if instrument not in shape.applicable:
            return ""
        form = shape.present.get(instrument)
        status = str(form.status) if form is not None else "0"
        return STATUS_LABELS.get(status, status) if label else status
    if kind == KIND_CHECKBOX:
        if instrument not in shape.applicable:
            return ""
        form = shape.present.get(instrument)
        stored = form.data.get(column.name) if form is not None else None
        if not label:
            return "0" if stored is None else str(stored)  # '1' or '0' (the stored value)
        checked = stored == "1"
        if export_checkbox_label:
            f = design.field_map[column.field]
            return f.choice_dict().get(column.code, column.code) if checked else ""
        return "Checked" if checked else "Unchecked"
    form = shape.present.get(instrument)
    if form is None:
        return ""
    value = form.data.get(column.field, "")
    if value in ("", None):
        return form.missing.get(column.field, "")
    value = str(value)
    if label:
        f = design.field_map[column.field]
        if f.field_type in LABELLED_TYPES:
            return f.choice_dict().get(value, value)
    return value


def iter_record_rows(
    scope,
    design,
    *,
    columns: list[FlatColumn],
    records=None,
    sites=None,
    events=None,
    raw_or_label: str = "raw",
    export_checkbox_label: bool = False,
    filter_logic: str | None = None,
) -> Iterator[tuple[RecordInfo, RowShape, dict]]:
    """Like `iter_flat_rows`, with each row's record (and its forms) and shape alongside."""
    expression = parse_filter(filter_logic)
    event_set = set(events) if events is not None else None
    if event_set is not None and design.is_longitudinal:
        unknown = event_set - {name for name, _ in design.events}
        if unknown:
            raise FlatFormatError(f"{sorted(unknown)[0]!r} is not an event of this project")
    exported_forms = {c.instrument for c in columns if c.kind in (KIND_VALUE, KIND_CHECKBOX, KIND_COMPLETE)}
    # Every instrument is read: rows exist where the record has any data at the event (as in REDCap),
    # and a filter may look at any field.
    for info in iter_records(scope, records=records, sites=sites, events=None if expression else event_set):
        for shape in record_row_shapes(design, info, event_set):
            if shape.repeat_instrument and shape.repeat_instrument not in exported_forms:
                continue  # a repeating instrument with no column in the export has no rows either
            if expression is not None and not expression.truthy(RowContext(design, info, shape)):
                continue
            row = {
                c.name: cell_value(
                    design, c, info, shape, raw_or_label=raw_or_label, export_checkbox_label=export_checkbox_label
                )
                for c in columns
            }
            yield info, shape, row


def iter_flat_rows(
    scope,
    design,
    *,
    columns: list[FlatColumn],
    records=None,
    events=None,
    raw_or_label: str = "raw",
    export_checkbox_label: bool = False,
    filter_logic: str | None = None,
    sites=None,
) -> Iterator[dict[str, str | int]]:
    """Stream the flat rows of the scope's records (see the module docstring)."""
    for _info, _shape, row in iter_record_rows(
        scope,
        design,
        columns=columns,
        records=records,
        sites=sites,
        events=events,
        raw_or_label=raw_or_label,
        export_checkbox_label=export_checkbox_label,
        filter_logic=filter_logic,
    ):
        yield row
