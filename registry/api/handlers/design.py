"""Project design contents: metadata, instruments, events, arms, mappings, field names, repeating setup."""

from __future__ import annotations

import json

from django.http import HttpResponse

from forms.design.services import import_design
from forms.dictionary.columns import KEYS
from forms.dictionary.services import import_dictionary
from forms.dictionary.writer import csv_text, dictionary_cells
from forms.models import Event, FieldType, checkbox_column
from forms.versions import load_design
from registry.access import Right
from registry.api.call import ApiCall
from registry.api.errors import ApiError
from registry.api.renderers import scalar_response, table_response


def _versioned(call: ApiCall):
    if call.project.current_version_id is None:
        raise ApiError("The project has no data dictionary yet.")
    return load_design(call.project.current_version)


def _classic_refusal(call: ApiCall, what: str) -> None:
    if not call.project.is_longitudinal:
        raise ApiError(f"You cannot export {what} for classic projects")


def _int(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def invalid_names(kind: str, names: list[str]) -> ApiError:
    listed = ", ".join(f"'{n}'" for n in names)
    return ApiError(f'The following values in the parameter "{kind}" are not valid: {listed}')


def metadata_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    design = _versioned(call)
    fields, forms = call.params.list("fields"), call.params.list("forms")
    names = {f.name for f in design.fields}
    form_names = {f.name for f in design.forms}
    bad = [n for n in fields if n not in names]
    if bad:
        raise invalid_names("fields", bad)
    bad = [n for n in forms if n not in form_names]
    if bad:
        raise invalid_names("forms", bad)
    specs = [s for s in design.fields if (not fields and not forms) or s.name in fields or s.form in forms]
    rows = [dict(zip(KEYS, dictionary_cells(s), strict=True)) for s in specs]
    call.audit("metadata_export")
    return table_response(call.fmt, KEYS, rows)


def _table_source(call: ApiCall, columns: tuple[str, ...]) -> bytes:
    """The `data` of a design import as the CSV the engine's importers read (JSON is converted)."""
    data = call.params.get("data")
    if call.fmt != "json":
        return data.encode()
    try:
        items = json.loads(data or "[]")
    except json.JSONDecodeError as exc:
        raise ApiError(f"The data is not valid JSON ({exc.msg}).") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError("The data must be a list of objects.")
    present = [c for c in columns if any(c in i for i in items)]
    return csv_text(
        present, [[str(i.get(c, "") if i.get(c) is not None else "") for c in present] for i in items]
    ).encode()


def _import_result(result) -> None:
    if result.errors:
        raise ApiError("\n".join(str(e) for e in result.errors))


def metadata_import(call: ApiCall) -> HttpResponse:
    call.require(Right.DESIGN)
    data = call.params.get("data")
    if not data.strip():
        raise ApiError("The data parameter is empty.")
    source = data.encode()  # the dictionary reader tells JSON from CSV itself
    # The engine's versioning rules apply: a new version, destructive changes refused (stored values are kept).
    result = import_dictionary(project_code=call.project.code, source=source, user=call.user, source_name="API")
    _import_result(result)
    call.audit("metadata_import", version=result.version.number if result.version else None)
    return scalar_response(call.return_format, result.field_count)


def instrument_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    design = _versioned(call)
    rows = [{"instrument_name": f.name, "instrument_label": f.label} for f in design.forms]
    return table_response(call.fmt, ("instrument_name", "instrument_label"), rows)


def _arms_filter(call: ApiCall, design) -> set[int] | None:
    arms = call.params.list("arms")
    if not arms:
        return None
    known = {a.number for a in design.arms}
    bad = [a for a in arms if not a.isdigit() or int(a) not in known]
    if bad:
        raise invalid_names("arms", bad)
    return {int(a) for a in arms}


EVENT_KEYS = ("event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name",
              "custom_event_label", "event_id")  # fmt: skip


def event_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    _classic_refusal(call, "events")
    design = _versioned(call)
    arms = _arms_filter(call, design)
    ids = dict(Event.objects.filter(version_id=call.project.current_version_id).values_list("unique_name", "pk"))
    rows = [
        {"event_name": e.label, "arm_num": e.arm, "day_offset": _int(e.day_offset), "offset_min": _int(e.offset_min),
         "offset_max": _int(e.offset_max), "unique_event_name": e.unique_name, "custom_event_label": e.custom_label,
         "event_id": ids.get(e.unique_name)}
        for e in design.events if arms is None or e.arm in arms
    ]  # fmt: skip
    return table_response(call.fmt, EVENT_KEYS, rows)


def arm_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    _classic_refusal(call, "arms")
    design = _versioned(call)
    arms = _arms_filter(call, design)
    rows = [{"arm_num": a.number, "name": a.name} for a in design.arms if arms is None or a.number in arms]
    return table_response(call.fmt, ("arm_num", "name"), rows)


def mapping_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    _classic_refusal(call, "form/event mappings")
    design = _versioned(call)
    arms = _arms_filter(call, design)
    arm_of = {e.unique_name: e.arm for e in design.events}
    rows = [
        {"arm_num": arm_of[event], "unique_event_name": event, "form": form}
        for event, form in design.mapping
        if arms is None or arm_of[event] in arms
    ]
    return table_response(call.fmt, ("arm_num", "unique_event_name", "form"), rows)


def repeating_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    design = _versioned(call)
    if not design.repeating:
        raise ApiError(
            "You cannot export repeating instruments and events because the project does not contain any repeating "
            "instruments and events"
        )
    if call.project.is_longitudinal:
        keys = ("event_name", "form_name", "custom_form_label")
        rows = [{"event_name": r.event or "", "form_name": r.form or "", "custom_form_label": r.custom_label}
                for r in design.repeating]  # fmt: skip
    else:
        keys = ("form_name", "custom_form_label")
        rows = [{"form_name": r.form or "", "custom_form_label": r.custom_label} for r in design.repeating]
    return table_response(call.fmt, keys, rows)


def _design_import(what: str, columns: tuple[str, ...]):
    def handler(call: ApiCall) -> HttpResponse:
        call.require(Right.DESIGN)
        source = _table_source(call, columns)
        result = import_design(project_code=call.project.code, what=what, source=source, user=call.user,
                               source_name="API")  # fmt: skip
        _import_result(result)
        call.audit(f"{what}_import", version=result.version.number if result.version else None)
        rows = max(source.decode().count("\n") - 1, 0)
        return scalar_response(call.return_format, rows)

    return handler


arm_import = _design_import("arms", ("arm_num", "name"))
event_import = _design_import("events", EVENT_KEYS[:-1])
mapping_import = _design_import("mapping", ("arm_num", "unique_event_name", "form"))
repeating_import = _design_import("repeating", ("event_name", "form_name", "custom_form_label"))


def field_names_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    design = call.design()
    only = call.params.get("field").strip()
    if only and only not in design.field_map and only not in {f"{n}_complete" for n, _ in design.instruments}:
        raise ApiError("Invalid field")
    rows = []
    missing_codes = list(design.missing_codes)
    for instrument, _label in design.instruments:
        for f in design.fields(instrument):
            if f.field_type in (FieldType.FILE, FieldType.DESCRIPTIVE):
                continue
            if f.field_type == FieldType.CHECKBOX:
                for code in [c for c, _ in f.choices] + missing_codes:
                    rows.append({"original_field_name": f.name, "choice_value": code,
                                 "export_field_name": checkbox_column(f.name, code)})  # fmt: skip
            else:
                rows.append({"original_field_name": f.name, "choice_value": "", "export_field_name": f.name})
        complete = f"{instrument}_complete"
        rows.append({"original_field_name": complete, "choice_value": "", "export_field_name": complete})
    if only:
        rows = [r for r in rows if r["original_field_name"] == only]
    return table_response(call.fmt, ("original_field_name", "choice_value", "export_field_name"), rows)
