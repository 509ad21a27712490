"""`content=record`: export (flat or eav), import, and `action=delete`."""

from __future__ import annotations

import json

from django.http import HttpResponse

from registry.access import Right
from registry.api.call import ApiCall
from registry.api.errors import ApiError, forbidden
from registry.api.record_export import export_records_response
from registry.api.renderers import scalar_response
from registry.api.services.record_delete import DeleteError, records_delete
from registry.models import AuditSource
from registry.services.record_import import RecordImportError, import_records, parse_flat_rows

RETURN_CONTENT = ("count", "ids", "auto_ids", "nothing")


# REDCap asks a reason for change on data-entry forms only; API scripts (PyCap, REDCapR) cannot send one.
# Their corrections of complete forms are kept, audited with this reason, source "api" and the token owner.
API_DEFAULT_REASON = "API import"


def record_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    return export_records_response(call)


def record_import(call: ApiCall) -> HttpResponse:
    call.require_import()
    params = call.params
    if call.fmt not in ("json", "csv"):
        raise ApiError("Records can be imported as json or csv.")
    overwrite = params.choice("overwriteBehavior", ("normal", "overwrite"), "normal") == "overwrite"
    force = params.flag("forceAutoNumber")
    returned = params.choice("returnContent", RETURN_CONTENT, "count")
    if returned == "auto_ids" and not force:
        returned = "count"
    try:
        rows = parse_flat_rows(params.get("data"), call.fmt)
        outcome = import_records(scope=call.scope, rows=rows, overwrite=overwrite, force_auto_number=force,
                                 date_format=params.choice("dateFormat", ("MDY", "DMY", "YMD"), "YMD"),
                                 reason=params.get("reason") or API_DEFAULT_REASON, source=AuditSource.API)  # fmt: skip
    except RecordImportError as exc:
        raise ApiError("\n".join(str(p) for p in exc.problems)) from None
    call.audit("record_import", records=outcome.count, forms=outcome.forms_saved)
    rfmt = call.return_format
    if returned == "nothing":
        return HttpResponse("", content_type="text/plain; charset=utf-8")
    if returned == "ids":
        if rfmt == "csv":
            return HttpResponse(
                "id\n" + "".join(f"{r}\n" for r in outcome.records), content_type="text/csv; charset=utf-8"
            )
        return HttpResponse(json.dumps(outcome.records), content_type="application/json; charset=utf-8")
    if returned == "auto_ids":
        pairs = [f"{new},{sent}" for new, sent in outcome.id_map]
        if rfmt == "csv":
            body = "id,original_id\n" + "".join(f"{p}\n" for p in pairs)
            return HttpResponse(body, content_type="text/csv; charset=utf-8")
        return HttpResponse(json.dumps(pairs), content_type="application/json; charset=utf-8")
    if rfmt == "json":
        return HttpResponse(json.dumps({"count": outcome.count}), content_type="application/json; charset=utf-8")
    return scalar_response(rfmt, outcome.count)


def record_delete(call: ApiCall) -> HttpResponse:
    params = call.params
    record_ids = params.list("records", require_array=True)
    if not record_ids:
        raise ApiError("No records were provided")
    if not call.scope.can(Right.DELETE_RECORDS):
        raise forbidden("You do not have Delete Record privileges")
    design = call.design()
    arm = params.get("arm").strip()
    if arm and design.is_longitudinal and arm not in {e.split("_arm_")[-1] for e, _ in design.events}:
        raise ApiError("The arm provided is not correct for the project.")
    event = params.get("event").strip() or None
    if event is not None and design.is_longitudinal and event not in dict(design.events):
        raise ApiError(f"The event '{event}' is not an event of this project.")
    if event is not None and not design.is_longitudinal:
        event = design.default_event()
    instrument = params.get("instrument").strip() or None
    if instrument is not None and instrument not in dict(design.instruments):
        raise ApiError(f"The instrument '{instrument}' is not an instrument of this project.")
    raw_instance = params.get("repeat_instance").strip()
    if raw_instance and not raw_instance.isdigit():
        raise ApiError("The repeat_instance must be a positive whole number")
    try:
        count = records_delete(scope=call.scope, record_ids=record_ids, event=event, instrument=instrument,
                               instance=int(raw_instance) if raw_instance else None)  # fmt: skip
    except DeleteError as exc:
        raise ApiError(str(exc)) from None
    call.audit("record_delete", records=count)
    return HttpResponse(str(count), content_type="application/json; charset=utf-8")
