"""Uploads of file fields: the form keeps the file name (through form_save, so it is validated and
audited); the bytes live under MEDIA_ROOT with a random name, in a StoredFile row keyed by
record, event, instance and field."""

from __future__ import annotations

import mimetypes
import re
import uuid

from django.core.files.base import ContentFile
from django.db import transaction

from forms.models import FieldType
from registry.access import Right, Scope
from registry.api.models import StoredFile
from registry.models import AuditSource, FormInstance, Record
from registry.services.design import DesignError, design_of
from registry.services.entry import form_save


class FileError(Exception):
    pass


def safe_file_name(name: str) -> str:
    """A name that fits in a Content-Type parameter: no path, quotes, semicolons or control characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = re.sub(r'[\x00-\x1f";]', "_", name).strip() or "file"
    return name[:200]


def discard_after_commit(storage, name: str) -> None:
    """Remove a stored file once the transaction commits: a rolled-back change keeps its file."""
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _file_field(scope: Scope, field: str):
    design = design_of(scope.project)
    f = design.field_map.get(field)
    if f is None or f.field_type != FieldType.FILE:
        raise FileError(f"The field '{field}' does not exist or is not a 'file' field")
    return design, f


def resolve_event(scope: Scope, event: str) -> str:
    design = design_of(scope.project)
    if not design.is_longitudinal:
        return design.default_event()
    if event not in dict(design.events):
        raise FileError("invalid event")
    return event


def file_store(*, scope: Scope, record: Record, event: str, instance: int, field: str, name: str, content: bytes,
               content_type: str, reason: str = "", source: str = AuditSource.API) -> StoredFile:  # fmt: skip
    design, _f = _file_field(scope, field)
    instrument = design.instrument_of[field]
    name = safe_file_name(name)
    with transaction.atomic():
        try:
            form_save(scope=scope, record=record, event=event, instrument=instrument, instance=instance,
                      values={field: name}, reason=reason, source=source, partial=True)  # fmt: skip
        except DesignError as exc:
            raise FileError(str(exc)) from None
        stored = StoredFile.objects.select_for_update().filter(record=record, event=event, instance=instance,
                                                               field=field).first()  # fmt: skip
        if stored is not None:
            discard_after_commit(stored.blob.storage, stored.blob.name)
        else:
            stored = StoredFile(record=record, event=event, instance=instance, field=field)
        if not content_type or content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"  # clients rarely send one
        stored.name, stored.content_type, stored.size = name, content_type, len(content)
        stored.storage_key = uuid.uuid4().hex
        stored.uploaded_by = scope.user if getattr(scope.user, "pk", None) else None
        stored.blob.save(stored.storage_key, ContentFile(content), save=False)
        stored.save()
    return stored


def file_fetch(*, scope: Scope, record: Record, event: str, instance: int, field: str) -> StoredFile:
    _design, f = _file_field(scope, field)
    if f.identifier and not scope.can(Right.VIEW_IDENTIFIERS):
        raise FileError("You do not have the rights to see this field")
    stored = StoredFile.objects.filter(record=record, event=event, instance=instance, field=field).first()
    form = FormInstance.objects.filter(record=record, event=event, instance=instance,
                                       instrument=_design.instrument_of[field]).first()  # fmt: skip
    if stored is None or form is None or form.data.get(field) != stored.name:
        raise FileError("There is no file to download for this record")
    return stored


def file_delete(*, scope: Scope, record: Record, event: str, instance: int, field: str, reason: str = "",
                source: str = AuditSource.API) -> None:  # fmt: skip
    design, _f = _file_field(scope, field)
    with transaction.atomic():
        stored = StoredFile.objects.select_for_update().filter(record=record, event=event, instance=instance,
                                                               field=field).first()  # fmt: skip
        if stored is None:
            raise FileError("There is no file to delete for this record")
        form_save(scope=scope, record=record, event=event, instrument=design.instrument_of[field], instance=instance,
                  values={field: ""}, reason=reason, source=source, partial=True)  # fmt: skip
        discard_after_commit(stored.blob.storage, stored.blob.name)
        stored.delete()
