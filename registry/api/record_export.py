"""`content=record` export over the shared flat format (registry/exports/flat.py).

This module only adds what the API needs around the flat rows: REDCap's parameter checks and
messages, the caller's identifier rights, the date window from the audit trail, label headers,
the decimal character, the eav shape and the streamed response.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime

from django.db.models.functions import Collate
from django.http import FileResponse, HttpResponse
from django.utils import timezone

from forms.logic import LogicSyntaxError, parse
from forms.models import FieldType
from forms.values import validation_type
from registry.access import Right
from registry.api.call import ApiCall
from registry.api.errors import ApiError
from registry.api.handlers.design import invalid_names
from registry.api.renderers import CONTENT_TYPES, table_response
from registry.exports import copystreams, flat, profiles, sqlflat
from registry.exports.formats import csv_line
from registry.exports.services import project_secret
from registry.models import AuditEvent
from registry.services.audit import chain_of
from registry.services.design import Design

RECORD_PAGE = 1000
SPOOL_IN_MEMORY = 4 << 20  # bytes of a COPY export kept in memory before the spool moves to disk
DELIMITERS = {",": ",", "comma": ",", "tab": "\t", "\t": "\t", ";": ";", "|": "|", "^": "^"}
EARLIEST = datetime(2004, 8, 1)


def _requested(call: ApiCall, design: Design) -> tuple[list[str] | None, list[str] | None]:
    """`fields` and `forms` as REDCap checks them; descriptive fields are dropped silently."""
    fields, forms = call.params.list("fields"), call.params.list("forms")
    complete = {f"{name}_complete" for name, _ in design.instruments}
    bad = [
        n
        for n in fields
        if n not in design.field_map and n not in complete
        and not ("___" in n and n.split("___")[0] in design.field_map)
    ]  # fmt: skip
    if bad:
        raise invalid_names("fields", bad)
    bad = [n for n in forms if n not in dict(design.instruments)]
    if bad:
        raise invalid_names("forms", bad)
    kept = [n for n in fields if n not in design.field_map or design.field_map[n].has_data]
    if fields and not kept and not forms:
        raise ApiError(
            'The variables provided in the parameter "fields" are not valid fields that contain data. This might '
            "happen if you only provided variables for Descriptive fields."
        )
    return (kept or None) if fields else None, forms or None


def _events(call: ApiCall, design: Design) -> list[str] | None:
    events = call.params.list("events")
    if not events or not design.is_longitudinal:
        return None
    bad = [e for e in events if e not in dict(design.events)]
    if bad:
        raise invalid_names("events", bad)
    return events


def _when(text: str, default: datetime) -> datetime:
    text = text.strip()
    if not text:
        return timezone.make_aware(default)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return timezone.make_aware(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ApiError("dateRangeBegin and dateRangeEnd are date and times (YYYY-MM-DD HH:MM:SS)")


def _records_in_window(call: ApiCall, records: list[str] | None) -> list[str] | None:
    """Records created or changed between dateRangeBegin and dateRangeEnd, by the audit trail."""
    begin_text, end_text = call.params.get("dateRangeBegin"), call.params.get("dateRangeEnd")
    if not begin_text.strip() and not end_text.strip():
        return records
    begin = _when(begin_text, EARLIEST)
    end = _when(end_text, timezone.localtime().replace(tzinfo=None))
    changed = set(
        AuditEvent.objects.filter(chain=chain_of(call.project), at__gte=begin, at__lte=end,
                                  action__in=("record_created", "data_change")).exclude(record_id="")
        .values_list("record_id", flat=True).distinct()
    )  # fmt: skip
    return sorted(changed if records is None else changed & set(records))


def export_profile(call: ApiCall) -> str:
    """The caller's view of the data: full with the identifier right, else the least reduced profile granted."""
    if call.scope.can(Right.VIEW_IDENTIFIERS):
        return profiles.FULL
    granted = call.scope.export_profiles()
    return profiles.LIMITED if profiles.LIMITED in granted else profiles.DEIDENTIFIED


def _decimal_fields(design: Design, columns: list[flat.FlatColumn]) -> set[str]:
    names = set()
    for c in columns:
        if c.kind != flat.KIND_VALUE:
            continue
        f = design.field_map[c.field]
        vtype = validation_type(f.validation, design.custom_types) if f.validation else None
        if f.field_type == FieldType.CALC or (vtype is not None and vtype.data_type in ("number", "integer")):
            names.add(c.name)
    return names


def _with_decimal(rows: Iterator[dict], names: set[str], decimal: str) -> Iterator[dict]:
    other = "," if decimal == "." else "."
    for row in rows:
        for name in names:
            value = row.get(name)
            if isinstance(value, str) and other in value:
                row[name] = value.replace(other, decimal)
        yield row


def _eav(rows: Iterator[dict], columns: list[flat.FlatColumn], design: Design) -> Iterator[dict]:
    """REDCap's eav shape: one object per non-blank value, keyed by the row's record, event and instance."""
    rid = design.record_id_field
    keys = [c.name for c in columns if c.kind in flat.PSEUDO_KINDS and c.kind != flat.KIND_DAG]
    for row in rows:
        head = {"record": row.get(rid, "")}
        head.update({k: row.get(k, "") for k in keys})
        for c in columns:
            if c.kind in flat.PSEUDO_KINDS or c.kind == flat.KIND_RECORD_ID:
                continue
            value = row.get(c.name, "")
            if value in ("", None) or (c.kind == flat.KIND_CHECKBOX and value in ("0", "Unchecked")):
                continue
            field_name = c.field if c.kind == flat.KIND_CHECKBOX else c.name
            yield {**head, "field_name": field_name, "value": c.code if c.kind == flat.KIND_CHECKBOX else value}


def record_pages(call: ApiCall, records: list[str] | None) -> Iterator[list[str]]:
    """The records to export, a page at a time in code-point order (the flat format's order).

    Keyset pages keep memory flat however large the project: no list of every record is built.
    """
    if records is not None:
        yield records
        return
    ids = (
        call.scope.records().annotate(code_point=Collate("record_id", "C")).order_by("code_point")
        .values_list("record_id", flat=True)
    )  # fmt: skip
    last = None
    while True:
        page = list((ids.filter(code_point__gt=last) if last is not None else ids)[:RECORD_PAGE])
        if not page:
            return
        yield page
        last = page[-1]


def _paged_rows(call: ApiCall, design: Design, records: list[str] | None, transformer, **options) -> Iterator[dict]:
    for page in record_pages(call, records):
        for info, _shape, row in flat.iter_record_rows(call.scope, design, records=page, **options):
            yield transformer.apply(info, row)


def export_records_response(call: ApiCall) -> HttpResponse:
    params = call.params
    design = call.design()
    fields, forms = _requested(call, design)
    events = _events(call, design)
    raw_or_label = params.choice("rawOrLabel", ("raw", "label"), "raw")
    label_headers = params.choice("rawOrLabelHeaders", ("raw", "label"), "raw") == "label"
    filter_logic = params.get("filterLogic").strip() or None
    if filter_logic:
        try:
            parse(filter_logic)
        except LogicSyntaxError as exc:
            raise ApiError(f"The filterLogic is not valid: {exc}") from None
    include_dag = params.flag("exportDataAccessGroups") and call.scope.all_sites and call.scope.sites().exists()
    try:
        columns = flat.flat_columns(design, fields=fields, forms=forms, include_dag=include_dag)
    except flat.FlatFormatError as exc:
        raise ApiError(str(exc)) from None
    # The exports' profiles: a statistician gets hashed record ids, shifted dates, no identifiers or free text.
    profile = export_profile(call)
    plans = profiles.plan_columns(design, columns, profile)
    transformer = profiles.RowTransformer(plans, secret=project_secret(call.project), design=design)
    columns = [p.column for p in plans if p.exported]
    records = params.list("records") or None
    records = _records_in_window(call, records)
    delimiter = DELIMITERS.get(params.get("csvDelimiter") or ",", ",")
    decimal = params.get("decimalCharacter").strip()
    if decimal in ("comma", "period"):
        decimal = "," if decimal == "comma" else "."

    call.audit("record_export", fields=len(columns), type=params.get("type") or "flat", format=call.fmt,
               profile=profile)  # fmt: skip
    flat_type = params.choice("type", ("flat", "eav"), "flat") == "flat"
    if (
        flat_type and call.fmt == "csv" and records is None and not filter_logic and not label_headers
        and delimiter == "," and decimal != "," and sqlflat.supported()
    ):  # fmt: skip
        # The whole project (or some forms, fields, events) as plain CSV, PyCap's usual pull: the release
        # engine's COPY writes the very same lines, at PostgreSQL's speed (tests/api/test_copy_export.py).
        return _copy_response(call, design, plans, events, raw_or_label, params.flag("exportCheckboxLabel"))
    rows: Iterator[dict] = _paged_rows(call, design, records, transformer, columns=columns, events=events,
                                               raw_or_label=raw_or_label,
                                               export_checkbox_label=params.flag("exportCheckboxLabel"),
                                               filter_logic=filter_logic)  # fmt: skip
    if decimal in (",", "."):
        rows = _with_decimal(rows, _decimal_fields(design, columns), decimal)
    if not flat_type:
        keys = ["record", *[c.name for c in columns if c.kind in flat.PSEUDO_KINDS and c.kind != flat.KIND_DAG],
                "field_name", "value"]  # fmt: skip
        return table_response(call.fmt, keys, _eav(rows, columns, design), stream=True, delimiter=delimiter)
    names = [c.name for c in columns]
    header = [c.label or c.name for c in columns] if label_headers and call.fmt == "csv" else None
    return table_response(call.fmt, names, rows, stream=True, delimiter=delimiter, header=header)


def _copy_response(call: ApiCall, design: Design, plans, events, raw_or_label: str, checkbox_label: bool):
    """The flat CSV written by PostgreSQL's COPY into a spooled file, then streamed from it.

    The file stays in memory up to a few MB and goes to disk beyond, so memory stays flat; the
    answer starts once the COPY is done (seconds at 10,000 patients), then streams.
    """
    query = sqlflat.build_query(call.scope, design, plans, secret=project_secret(call.project), events=events,
                                raw_or_label=raw_or_label, export_checkbox_label=checkbox_label,
                                quote_chars=sqlflat.PHP_QUOTE)  # fmt: skip
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the response closes it
    spool.write(csv_line([p.column.name for p in plans if p.exported]).encode())
    copystreams.copy_flat_csv(query, spool)
    spool.seek(0)
    return FileResponse(spool, content_type=CONTENT_TYPES["csv"])
