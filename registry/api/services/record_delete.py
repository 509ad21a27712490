"""Deleting whole records, or one form (optionally one event or instance) of records: all or nothing, audited."""

from __future__ import annotations

from django.db import transaction

from registry.access import Right, Scope
from registry.api.services.files import discard_after_commit
from registry.models import AuditSource, FormInstance
from registry.services.audit import Change, audit_append


class DeleteError(Exception):
    pass


def records_delete(
    *,
    scope: Scope,
    record_ids: list[str],
    event: str | None = None,
    instrument: str | None = None,
    instance: int | None = None,
    source: str = AuditSource.API,
) -> int:
    """Delete the records (or the chosen forms of them); return how many records lost something.

    Each deleted value gets an audit row (old value, no new value), so the audit trail can still
    replay what the record held. Stored uploads go with their record or form.
    """
    scope.require(Right.DELETE_RECORDS)
    with transaction.atomic():
        records = {r.record_id: r for r in scope.records().select_for_update().filter(record_id__in=record_ids)}
        absent = [r for r in record_ids if r not in records]
        if absent:
            raise DeleteError(
                "One or more of the records provided cannot be deleted because they do not exist in the project. "
                f"The following records do not exist: {', '.join(absent)}"
            )
        locked = [r.record_id for r in records.values() if r.locked]
        if locked:
            raise DeleteError(f"Locked records cannot be deleted: {', '.join(locked)}")
        whole = event is None and instrument is None and instance is None
        touched = 0
        for record_id in record_ids:
            record = records[record_id]
            forms = FormInstance.objects.filter(record=record).order_by("event", "instrument", "instance")
            if event is not None:
                forms = forms.filter(event=event)
            if instrument is not None:
                forms = forms.filter(instrument=instrument)
            if instance is not None:
                forms = forms.filter(instance=instance)
            forms = list(forms)
            if any(f.locked for f in forms):
                raise DeleteError(f"Record {record_id} has locked forms, which cannot be deleted")
            changes = []
            for form in forms:
                for name, value in sorted(form.data.items()):
                    changes.append(Change(field=name, old=value, new=None, record_id=record_id, event=form.event,
                                          instrument=form.instrument, instance=form.instance))  # fmt: skip
                changes.append(Change(field=f"{form.instrument}_complete", old=str(form.status), new=None,
                                      record_id=record_id, event=form.event, instrument=form.instrument,
                                      instance=form.instance))  # fmt: skip
            if whole:
                changes.append(Change(record_id=record_id, details={"site": record.site.code}))
            if not forms and not whole:
                continue
            touched += 1
            audit_append(project=scope.project, action="record_deleted" if whole else "form_deleted",
                         changes=changes, user=scope.user, source=source)  # fmt: skip
            if whole:
                for stored in record.files.all():
                    discard_after_commit(stored.blob.storage, stored.blob.name)
                record.delete()
            else:
                for form in forms:
                    for stored in record.files.filter(event=form.event, instance=form.instance):
                        if stored.field in form.data:
                            discard_after_commit(stored.blob.storage, stored.blob.name)
                            stored.delete()
                    form.delete()
    return touched
