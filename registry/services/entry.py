"""Saving one form instance: the one path for web saves, API imports and record imports.

In one transaction: refuse locked data, detect a concurrent edit (optimistic locking),
check every value (hard errors refuse the save, soft limits warn), recompute calculations,
clear values of fields hidden by branching logic, ask a reason when a complete form changes,
write the values and one audit row per changed field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from forms.models import Field, FieldType
from forms.values import ValueProblem, check_value
from registry import sql_rows
from registry.access import Right, Scope
from registry.models import AuditSource, FormInstance, FormStatus, Record
from registry.quality.services import realtime
from registry.services import save_sql
from registry.services.audit import Change, audit_append, write_and_append
from registry.services.design import Design, design_of
from registry.services.record_logic import FormKey, RecordValues, forms_read_by

# Django builds an enum's `values` list anew on each read.
FORM_STATUSES = frozenset(FormStatus.values)


class EntryError(Exception):
    """The save was refused; `errors` maps a field name (or '__all__') to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class RecordNotFound(EntryError):
    """No such record in the user's scope (the web answers 404)."""

    def __init__(self):
        super().__init__({"__all__": ["record not found"]})


class FormLocked(EntryError):
    """The record or the form is locked; nothing was written."""

    def __init__(self):
        super().__init__({"__all__": ["this form is locked; unlock it (with a reason) before editing"]})


class SaveConflict(Exception):
    """Somebody else saved the form since it was opened; nothing was written."""

    def __init__(self, current: FormInstance, submitted: dict[str, str]):
        self.current = current
        self.submitted = submitted
        super().__init__("the form was changed by someone else since you opened it")


@dataclass
class SaveOutcome:
    form: FormInstance
    changes: list[Change] = field(default_factory=list)
    warnings: list[ValueProblem] = field(default_factory=list)
    cleared_hidden: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    created: bool = False
    rule_messages: list = field(default_factory=list)  # real-time data-quality rules: advisory, never blocking


def stored_columns(f: Field) -> list[str]:
    return f.checkbox_columns() if f.field_type == FieldType.CHECKBOX else [f.name]


@dataclass(frozen=True)
class _Shape:
    """What a save asks of an instrument's fields, worked out once per design version (~340 questions a save)."""

    columns: dict[str, Field]  # stored column -> its field
    names: frozenset[str]
    fields: tuple[tuple[Field, tuple[str, ...], bool, bool], ...]  # (field, columns, entered, value-checked)
    required: tuple[tuple[Field, tuple[str, ...], bool], ...]  # (field, columns, is a checkbox) of required fields

    @classmethod
    def of(cls, fields: list[Field]) -> _Shape:
        rows = []
        for f in fields:
            entered = f.has_data and not f.is_calc  # taken from the post
            checked = f.field_type != FieldType.CHECKBOX and not f.is_calc  # its value goes through check_value
            rows.append((f, tuple(stored_columns(f)), entered, checked))
        return cls(
            columns={col: f for f, cols, _, _ in rows for col in cols},
            names=frozenset(f.name for f in fields),
            fields=tuple(rows),
            required=tuple(
                (f, cols, f.field_type == FieldType.CHECKBOX) for f, cols, _, _ in rows if f.required and f.has_data
            ),
        )


def form_save(
    *,
    scope: Scope,
    record: Record | str,
    event: str,
    instrument: str,
    instance: int = 1,
    values: dict[str, str],
    missing: dict[str, str] | None = None,
    status: int | None = None,
    expected_row_version: int | None = None,
    reason: str = "",
    source: str = AuditSource.WEB,
    partial: bool = False,
    design: Design | None = None,
) -> SaveOutcome:
    """Save submitted raw values of one instrument. `partial` keeps fields that were not submitted.

    Bulk callers (record imports) pass the `design` they loaded once, sparing a query per save. `record`
    may be a record id: the record is then read only once, locked (the form page's save).
    """
    scope.require(Right.ENTER_DATA)
    if isinstance(record, Record) and record.project_id != scope.project.pk:
        raise RecordNotFound
    if not scope.can_edit_form(instrument):
        raise EntryError({"__all__": [f"you may not enter data in {instrument}"]})
    design = design or design_of(scope.project)
    design.check_form_key(event, instrument, instance)
    fields = design.fields(instrument)
    missing = dict(missing or {})

    with transaction.atomic():
        # Checks the site scope and locks the record, then the form: saves to one record queue up here.
        # On PostgreSQL the same statement reads what the checks after the save need (`check_reads`).
        named = forms_read_by(design, event, instrument)  # the other forms the logic reads: with the lock
        record, form, check_reads, named_forms = _lock(scope, record, event, instrument, instance, named)
        if record is None:
            raise RecordNotFound
        key = {"record": record, "event": event, "instrument": instrument, "instance": instance}
        created = form is None
        if created:
            form = FormInstance(**key)  # inserted below, if the save goes through; the record lock keeps it unique
        if record.locked or form.locked:
            raise FormLocked
        if not created and expected_row_version is not None and form.row_version != expected_row_version:
            raise SaveConflict(form, values)

        old_data: dict[str, str] = dict(form.data)
        old_missing: dict[str, str] = dict(form.missing)
        new_data: dict[str, str] = dict(old_data) if partial else {}
        new_missing: dict[str, str] = dict(old_missing) if partial else {}
        errors: dict[str, list[str]] = {}

        shape = design.kept(("save_shape", instrument), lambda: _Shape.of(fields))
        known_columns = shape.columns
        for name in values:
            if name not in known_columns:
                errors.setdefault(name, []).append(f"{name!r} is not a field of {instrument}")
        for f, columns, entered, _ in shape.fields:
            if not entered:
                continue
            for col in columns:
                if col in values:
                    new_data[col] = (values[col] or "").strip() if f.field_type != FieldType.NOTES else values[col]
        for name, code in missing.items():
            if name not in shape.names:
                errors.setdefault(name, []).append(f"{name!r} is not a field of {instrument}")
            elif code and code not in design.missing_codes:
                errors.setdefault(name, []).append(f"{code!r} is not a missing-data code of this project")
            elif code:
                new_missing[name] = code
            else:
                new_missing.pop(name, None)

        if design.record_id_field in known_columns:
            new_data[design.record_id_field] = record.record_id  # REDCap keeps the id as the first field's value

        warnings: list[ValueProblem] = []
        for f, columns, _, checked in shape.fields:
            if f.name in new_missing and any(new_data.get(col) not in ("", None, "0") for col in columns):
                errors.setdefault(f.name, []).append("give either a value or a missing-data code, not both")
            if not checked:
                continue
            for problem in check_value(f, new_data.get(f.name, ""), values=new_data,
                                       custom_types=design.custom_types):  # fmt: skip
                (errors.setdefault(f.name, []).append(problem.message) if problem.hard else warnings.append(problem))
        if errors:
            raise EntryError(errors)

        logic = RecordValues(design=design, record=record, event=event, instrument=instrument, instance=instance,
                             form_values=new_data, user=scope.user)  # fmt: skip
        if named_forms is not None:
            logic.preload(named_forms)  # a named form not found (not in the lock's snapshot) is read again
        cleared = logic.apply_calculations_and_branching(fields, new_data, new_missing)
        record_forms = logic.loaded_forms()
        new_data = {k: v for k, v in new_data.items() if v not in ("", None)}
        missing_required = [
            f.name for f, columns, checkbox in shape.required
            if f.name not in new_missing and logic.was_visible(f)
            and not any(new_data.get(col) not in (None, "", "0" if checkbox else None) for col in columns)
        ]  # fmt: skip

        new_status = form.status if status is None else int(status)
        if new_status not in FORM_STATUSES:
            raise EntryError({"status": [f"{status!r} is not a form status (0, 1 or 2)"]})
        complete_field = f"{instrument}_complete"
        changes = diff_values(old_data, new_data, old_missing, new_missing)
        if created or new_status != form.status:
            changes.append(Change(field=complete_field, old=None if created else str(form.status), new=str(new_status)))
        for change in changes:
            change.record_id, change.event, change.instrument, change.instance = (
                record.record_id,
                event,
                instrument,
                instance,
            )
            if change.field in cleared:
                change.details = {**change.details, "cleared_by": "branching logic"}

        needs_reason = (
            not created and form.status == FormStatus.COMPLETE and scope.project.settings.get("reason_for_change", True)
            and any(c.field != complete_field for c in changes)
        )  # fmt: skip
        if needs_reason and not reason.strip():
            raise EntryError({"reason": ["this form is complete: give a reason for the change"]})

        if changes or created:
            form.data, form.missing, form.status = new_data, new_missing, new_status
            form.row_version = form.row_version + (0 if created else 1)
            form.metadata_version = design.version_number
            form.updated_by = scope.user if getattr(scope.user, "pk", None) else None
            audited = {"action": "data_change", "changes": changes, "user": scope.user, "source": source,
                       "reason": reason.strip()}  # fmt: skip
            if created or not sql_rows.enabled():
                form.save()
                audit_append(project=scope.project, **audited)
            else:
                # The UPDATE, the audit rows and the chain head's move go in one statement, and so do the forms
                # the checks after the save will read (it runs after the record's lock: it sees every committed
                # form).
                wanted = None if record_forms is not None else realtime.instruments_to_read(
                    scope.project, design, instrument, check_reads)  # fmt: skip
                also = None
                if wanted:  # the saved form itself is left out: its new values are at hand
                    also = (
                        save_sql.FORMS_OF_COLUMN,
                        save_sql.forms_of_params(record.pk, wanted, (event, instrument, instance)),
                    )
                _, more = write_and_append(scope.project, save_sql.update_form_sql(form), also=also, **audited)
                if also is not None and more:  # none when the chain had no head yet (its first append)
                    record_forms = save_sql.forms_at(more[0])
    form.record = record
    # The record's other forms, if the logic read them all (a record with many repeating instances is only
    # read when something needs it), or those the checks need: the real-time rules start from them.
    if record_forms is not None:
        record_forms[(event, instrument, instance)] = (form.data, form.missing)
    # After the commit: rules, rule queries, SDV.
    rule_messages = realtime.after_save(scope=scope, form=form, design=design, record_forms=record_forms,
                                        reads=check_reads)  # fmt: skip
    return SaveOutcome(form=form, changes=changes, warnings=warnings, cleared_hidden=sorted(cleared),
                       missing_required=missing_required, created=created,
                       rule_messages=rule_messages)  # fmt: skip


def _lock(
    scope: Scope, record: Record | str, event: str, instrument: str, instance: int, named: frozenset[FormKey] | None
) -> tuple[Record | None, FormInstance | None, realtime.CheckReads | None, dict[FormKey, tuple[dict, dict]] | None]:
    """(record, form or None, the checks' reads or None, the `named` forms found or None), the record and the
    form locked, the record first; (None, None, None, None) when the record is out of scope."""
    key = (event, instrument, instance)
    if sql_rows.enabled():
        sql, params = realtime.CHECK_READS, list(key)
        if named:
            sql, params = f"{sql}, {save_sql.FORMS_AT_COLUMN}", [*params, *save_sql.keys_params(named)]
        record, form, more = save_sql.lock_record_and_form(scope, record, key, (sql, params))
        if record is None:
            return None, None, None, None
        return record, form, realtime.check_reads(more[:3]), save_sql.forms_at(more[3]) if named else None
    which = {"record_id": record} if isinstance(record, str) else {"pk": record.pk}
    record = scope.records().select_related("site").select_for_update(of=("self",)).filter(**which).first()
    if record is None:
        return None, None, None, None
    found = FormInstance.objects.select_for_update().filter(record=record, event=event, instrument=instrument,
                                                            instance=instance).first()  # fmt: skip
    return record, found, None, None


def diff_values(
    old: dict[str, str], new: dict[str, str], old_missing: dict[str, str], new_missing: dict[str, str]
) -> list[Change]:
    changes = []
    # Only the changed names are sorted: a save changes a few of ~150 columns (sorting their union was most
    # of the diff's time).
    changed = [name for name, after in new.items() if old.get(name, "") != after]
    changed += [name for name, before in old.items() if name not in new and before != ""]
    for name in sorted(changed):
        before, after = old.get(name, ""), new.get(name, "")
        changes.append(Change(field=name, old=before or None, new=after or None))
    for name in sorted(set(old_missing) | set(new_missing)):
        before, after = old_missing.get(name), new_missing.get(name)
        if before != after:
            changes.append(Change(field=name, old=before, new=after, details={"missing_code": True}))
    return changes
