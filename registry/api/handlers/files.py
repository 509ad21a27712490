"""`content=file`: export, import and delete the upload of a file field.

PyCap sends no `format` here, so errors are XML (params.return_format falls back to it).
"""

from __future__ import annotations

from django.http import HttpResponse

from registry.api.call import ApiCall
from registry.api.errors import ApiError
from registry.api.handlers.records import API_DEFAULT_REASON
from registry.api.services.files import FileError, file_delete, file_fetch, file_store, resolve_event
from registry.models import Record
from registry.services.entry import EntryError


def _target(call: ApiCall) -> tuple[Record, str, int, str]:
    record_id = call.params.get("record").strip()
    field = call.params.get("field").strip()
    record = call.scope.records().filter(record_id=record_id).first()
    if record is None:
        raise ApiError(f'The record "{record_id}" does not exist')
    raw_instance = call.params.get("repeat_instance").strip() or "1"
    if not raw_instance.isdigit() or int(raw_instance) < 1:
        raise ApiError("The repeat_instance must be a positive whole number")
    try:
        event = resolve_event(call.scope, call.params.get("event").strip())
    except FileError as exc:
        raise ApiError(str(exc)) from None
    return record, event, int(raw_instance), field


def file_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    record, event, instance, field = _target(call)
    try:
        stored = file_fetch(scope=call.scope, record=record, event=event, instance=instance, field=field)
    except FileError as exc:
        raise ApiError(str(exc)) from None
    call.audit("file_export", record=record.record_id, field=field)
    with stored.blob.open("rb") as handle:
        body = handle.read()
    return HttpResponse(body, content_type=f'{stored.content_type}; name="{stored.name}"')


def file_import(call: ApiCall) -> HttpResponse:
    call.require_import()
    upload = call.params.files.get("file")
    if upload is None:
        raise ApiError("No file was uploaded (the multipart part must be named 'file')")
    record, event, instance, field = _target(call)
    try:
        file_store(scope=call.scope, record=record, event=event, instance=instance, field=field, name=upload.name,
                   content=upload.read(), content_type=upload.content_type or "application/octet-stream",
                   reason=call.params.get("reason") or API_DEFAULT_REASON)  # fmt: skip
    except FileError as exc:
        raise ApiError(str(exc)) from None
    except EntryError as exc:
        raise ApiError("; ".join(" ".join(v) for v in exc.errors.values())) from None
    return HttpResponse("", content_type="text/plain; charset=utf-8")


def file_remove(call: ApiCall) -> HttpResponse:
    call.require_import()
    record, event, instance, field = _target(call)
    try:
        file_delete(scope=call.scope, record=record, event=event, instance=instance, field=field,
                    reason=call.params.get("reason") or API_DEFAULT_REASON)  # fmt: skip
    except FileError as exc:
        raise ApiError(str(exc)) from None
    except EntryError as exc:
        raise ApiError("; ".join(" ".join(v) for v in exc.errors.values())) from None
    return HttpResponse("", content_type="text/plain; charset=utf-8")
