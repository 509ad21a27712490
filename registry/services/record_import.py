"""Importing REDCap flat rows (JSON or CSV) into form instances: the API's and the import tool's one path.

Rows are grouped by record, event, repeat instrument and instance, and every group is saved with
`form_save`, so imports get the web form's validation, calculations, branching and audit. The whole
import is one transaction: any error anywhere and nothing is written; every error names the row,
record, event, field and value (identifier values are never repeated back).

The import tool (registry/imports) adds, on the same path: a dry run (`dry_run=True`: the import
runs for real inside a transaction that is rolled back, so the preview shows exactly what a commit
would change, calculations included, and every problem is listed rather than the first batch),
label-mode values (`raw_or_label="label"`), CSV files with a sniffed delimiter (`read_flat_csv`),
the file's SHA-256 in a `record_import` audit row, and progress reports.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max

from forms.models import Field, FieldType
from forms.values import validation_type
from registry.access import Right, Scope
from registry.models import AuditSource, FormInstance, FormStatus, Record, Site
from registry.services.audit import Change, audit_append
from registry.services.design import Design, DesignError, design_of
from registry.services.entry import EntryError, SaveConflict, form_save, stored_columns
from registry.services.records import EnrollmentError, record_create

PSEUDO_COLUMNS = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "redcap_survey_identifier",
)
DATE_FORMATS = ("YMD", "MDY", "DMY")
DELIMITERS = (",", ";", "\t")
LABELLED_TYPES = (FieldType.RADIO, FieldType.DROPDOWN, FieldType.YESNO, FieldType.TRUEFALSE)
_BAD_RECORD_NAME = re.compile(r"[+&#'\r\n]|<br", re.IGNORECASE)
HIDDEN = "(identifier hidden)"


@dataclass(frozen=True)
class ImportProblem:
    """One refused value (or row, when field is empty)."""

    record: str
    event: str
    field: str
    value: str | None  # None: the problem is about the column, not one value
    message: str
    row: int | None = None  # the file's row (the header is row 1); None for a column or the whole file

    def __str__(self) -> str:
        parts = [f'record "{self.record}"'] if self.record else []
        if self.event:
            parts.append(f'event "{self.event}"')
        if self.field:
            parts.append(f'field "{self.field}"')
        if self.value is not None:
            parts.append(f'value "{self.value}"')
        return f"{', '.join(parts)}: {self.message}" if parts else self.message


class RecordImportError(Exception):
    """The import was refused as a whole; `problems` lists every reason."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class CellChange:
    """One value an import changes (or, in a dry run, would change)."""

    row: int | None
    record: str
    event: str
    instrument: str
    instance: int
    field: str
    old: str | None
    new: str | None
    new_record: bool
    new_instance: bool


@dataclass
class ImportOutcome:
    records: list[str] = field(default_factory=list)  # distinct record names, in order of first appearance
    id_map: list[tuple[str, str]] = field(default_factory=list)  # (new name, sent name) with auto-numbering
    created: list[str] = field(default_factory=list)
    forms_saved: int = 0
    warnings: list[ImportProblem] = field(default_factory=list)
    changes: list[CellChange] = field(default_factory=list)
    instances_created: int = 0
    problems: list[ImportProblem] = field(default_factory=list)  # a dry run reports here instead of raising
    dry_run: bool = False

    @property
    def count(self) -> int:
        return len(self.records)


def parse_flat_rows(data: str, fmt: str) -> list[dict[str, str]]:
    """Flat rows from REDCap's JSON (a list of objects) or CSV (a header row). Values become strings."""
    if fmt == "json":
        try:
            loaded = json.loads(data or "[]")
        except json.JSONDecodeError as exc:
            raise RecordImportError(
                [ImportProblem("", "", "", None, f"the data is not valid JSON ({exc.msg})")]
            ) from None
        if isinstance(loaded, dict):
            loaded = [loaded]
        if not isinstance(loaded, list) or not all(isinstance(row, dict) for row in loaded):
            raise RecordImportError([ImportProblem("", "", "", None, "the JSON data must be a list of objects")])
        return [{str(k): _text(v) for k, v in row.items()} for row in loaded]
    if fmt == "csv":
        text = (data or "").lstrip("\ufeff")
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if not header:
            return []
        header = [h.strip() for h in header]
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            rows.append({name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)})
        return rows
    raise RecordImportError([ImportProblem("", "", "", None, f"records cannot be imported as {fmt}; use json or csv")])


def decode_upload(data: bytes) -> str:
    """An uploaded file as text: UTF-8 (with or without a BOM), else Windows-1252 as Excel writes it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, whichever the header line uses most (field names never contain them)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_flat_csv(text: str, delimiter: str | None = None) -> tuple[list[dict[str, str]], list[int]]:
    """Rows of a flat CSV file and each row's number in the file as a spreadsheet shows it (header = 1)."""
    text = (text or "").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or sniff_delimiter(text))
    header = next(reader, None)
    if not header:
        return [], []
    header = [h.strip() for h in header]
    rows, numbers = [], []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append({name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)})
        numbers.append(number)
    return rows, numbers


def codes_from_labels(design: Design, sites: list[Site], rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Label-mode rows (as the flat export writes them with labels) turned into raw codes.

    A value that is a label becomes its code; anything else is kept, so an unknown label is refused later
    by the same check as an unknown code.
    """
    choice_maps: dict[str, dict[str, str]] = {}
    columns: dict[str, tuple[Field, str]] = {}
    for f in design.field_map.values():
        if f.field_type in LABELLED_TYPES:
            choice_maps[f.name] = {label.strip().casefold(): code for code, label in f.choice_dict().items()}
        elif f.field_type == FieldType.CHECKBOX:
            for (code, _label), col in zip(f.choices, f.checkbox_columns(), strict=False):
                columns[col] = (f, code)
    status = {s.label.casefold(): str(s.value) for s in FormStatus}
    event_labels: dict[str, list[str]] = {}
    for name, label in design.events:
        event_labels.setdefault(label.strip().casefold(), []).append(name)
    instrument_labels = {label.strip().casefold(): name for name, label in design.instruments}
    site_names = {s.name.strip().casefold(): s.code for s in sites}
    complete = {f"{name}_complete" for name, _ in design.instruments}
    converted = []
    for row in rows:
        out = {}
        for column, value in row.items():
            key = value.strip().casefold()
            if not key:
                out[column] = value
            elif column in choice_maps:
                out[column] = choice_maps[column].get(key, value)
            elif column in columns:
                f, code = columns[column]
                choice_label = f.choice_dict().get(code, "").strip().casefold()
                out[column] = "1" if key in ("checked", choice_label) else "0" if key == "unchecked" else value
            elif column in complete:
                out[column] = status.get(key, value)
            elif column == "redcap_event_name":
                names = event_labels.get(key, [])
                out[column] = names[0] if len(names) == 1 else value
            elif column == "redcap_repeat_instrument":
                out[column] = instrument_labels.get(key, value)
            elif column == "redcap_data_access_group":
                out[column] = site_names.get(key, value)
            else:
                out[column] = value
        converted.append(out)
    return converted


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_iso(value: str, data_type: str, date_format: str) -> str | None:
    """A date typed in `date_format` (MDY, DMY) as ISO; None when it does not read as such a date."""
    if date_format == "YMD" or not value:
        return value
    date_part, _, time_part = value.strip().partition(" ")
    pieces = re.split(r"[-/.]", date_part)
    if len(pieces) != 3:
        return None
    first, second, year = pieces
    month, day = (first, second) if date_format == "MDY" else (second, first)
    try:
        parsed = datetime(int(year), int(month), int(day))
    except ValueError:
        return None
    iso = parsed.strftime("%Y-%m-%d")
    if data_type != "date":
        return f"{iso} {time_part}".strip()
    return iso


@dataclass
class _Group:
    record: str
    event: str
    instrument: str
    instance: int | str  # "new" until numbered
    values: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    sent: dict[str, str] = field(default_factory=dict)  # column -> value as sent, for error messages
    row: int | None = None  # the first file row of the group


class _Importer:
    def __init__(self, scope: Scope, design: Design, *, overwrite: bool, date_format: str):
        self.scope = scope
        self.design = design
        self.overwrite = overwrite
        self.date_format = date_format if date_format in DATE_FORMATS else "YMD"
        self.problems: list[ImportProblem] = []
        self.row: int | None = None  # the file row being read, stamped on its problems
        self.rid = design.record_id_field
        self.columns: dict[str, Field] = {}
        for f in design.field_map.values():
            for col in stored_columns(f):
                self.columns[col] = f
        self.complete = {f"{name}_complete": name for name, _ in design.instruments}
        self.timestamps = {f"{name}_timestamp" for name, _ in design.instruments}

    def problem(self, record: str, event: str, column: str, value: str | None, message: str) -> None:
        f = self.columns.get(column)
        if f is not None and f.identifier and value:
            message = message.replace(repr(value), HIDDEN).replace(value, HIDDEN)
            value = HIDDEN
        self.problems.append(ImportProblem(record, event, column, value, message, self.row))

    def check_header(self, rows: list[dict[str, str]]) -> None:
        seen: dict[str, None] = {}
        for row in rows:
            for name in row:
                seen.setdefault(name, None)
        if rows and self.rid not in seen:
            self.problems.append(ImportProblem("", "", self.rid, None, f"the record id field {self.rid!r} is missing"))
        for name in seen:
            if name == self.rid or name in PSEUDO_COLUMNS or name in self.complete or name in self.timestamps:
                continue
            f = self.columns.get(name) or self.design.field_map.get(name)
            if f is None:
                self.problems.append(ImportProblem("", "", name, None, f"{name!r} is not a field of this project"))
            elif not f.has_data:
                self.problems.append(
                    ImportProblem("", "", name, None, f"{name!r} is a descriptive field: it holds no data")
                )
            elif f.field_type == FieldType.CHECKBOX and name == f.name:
                self.problems.append(
                    ImportProblem("", "", name, None, f"give checkbox {name!r} as its choice columns ({name}___code)")
                )

    def row_key(self, row: dict[str, str], record: str) -> tuple[str, str, int | str] | None:
        """(event, repeat instrument or '', instance) of a row, or None after noting the problem."""
        design = self.design
        event = row.get("redcap_event_name", "").strip()
        if design.is_longitudinal:
            if not event:
                self.problem(record, "", "redcap_event_name", "", "give the event (redcap_event_name)")
                return None
            if event not in dict(design.events):
                self.problem(record, event, "redcap_event_name", event, "not an event of this project")
                return None
        else:
            event = design.default_event()
        repeat_instrument = row.get("redcap_repeat_instrument", "").strip()
        raw_instance = row.get("redcap_repeat_instance", "").strip()
        if repeat_instrument and repeat_instrument not in dict(design.instruments):
            self.problem(record, event, "redcap_repeat_instrument", repeat_instrument, "not an instrument")
            return None
        if repeat_instrument and (
            event in design.repeating_events or not design.is_repeating(event, repeat_instrument)
        ):
            self.problem(
                record,
                event,
                "redcap_repeat_instrument",
                repeat_instrument,
                "this instrument does not repeat on its own at this event",
            )
            return None
        repeating_event = event in design.repeating_events
        if not repeat_instrument and not repeating_event:
            if raw_instance not in ("", "1"):
                self.problem(
                    record,
                    event,
                    "redcap_repeat_instance",
                    raw_instance,
                    "only repeating instruments and events have instances",
                )
                return None
            return event, "", 1
        if raw_instance == "" and (repeat_instrument or repeating_event):
            raw_instance = "1"
        if raw_instance == "new":
            return event, repeat_instrument, "new"
        if not raw_instance.isdigit() or int(raw_instance) < 1:
            self.problem(
                record, event, "redcap_repeat_instance", raw_instance, "must be a positive whole number or 'new'"
            )
            return None
        return event, repeat_instrument, int(raw_instance)

    def groups_of_row(self, row: dict[str, str], record: str, groups: dict[tuple, _Group], position: int) -> None:
        key = self.row_key(row, record)
        if key is None:
            return
        event, repeat_instrument, instance = key
        # Each 'new' row is an instance of its own; other rows of one key merge (later values win).
        group_key = ("new", position) if instance == "new" else instance
        design = self.design
        allowed = design.instruments_for_event(event)
        for column, raw in row.items():
            if column == self.rid or column in PSEUDO_COLUMNS or column in self.timestamps:
                continue
            value = (
                raw if self.columns.get(column) and self.columns[column].field_type == FieldType.NOTES else raw.strip()
            )
            if column in self.complete:
                instrument, f = self.complete[column], None
            else:
                f = self.columns.get(column)
                if f is None or not f.has_data:
                    continue  # reported with the header
                instrument = design.instrument_of[f.name]
            if value == "" and not self.overwrite:
                continue  # 'normal': blanks never erase
            if f is not None and f.is_calc:
                continue  # calculations are recomputed on save; a sent value is ignored like REDCap does
            if instrument not in allowed:
                if value:
                    self.problem(record, event, column, value, f"the form {instrument!r} is not used at this event")
                continue
            if repeat_instrument and instrument != repeat_instrument:
                if value:
                    self.problem(
                        record,
                        event,
                        column,
                        value,
                        f"this row is an instance of {repeat_instrument!r}, and {column!r} is on {instrument!r}",
                    )
                continue
            if (
                not repeat_instrument
                and design.is_repeating(event, instrument)
                and event not in design.repeating_events
            ):
                if value:
                    self.problem(
                        record,
                        event,
                        column,
                        value,
                        f"{instrument!r} repeats: give redcap_repeat_instrument and redcap_repeat_instance",
                    )
                continue
            group = groups.setdefault(
                (record, event, instrument, group_key), _Group(record, event, instrument, instance, row=self.row)
            )
            group.sent[column] = value
            if f is None:
                if value == "":
                    continue
                if value not in ("0", "1", "2"):
                    self.problem(record, event, column, value, "a form status is 0, 1 or 2")
                else:
                    group.status = int(value)
            elif f.field_type == FieldType.CHECKBOX:
                if value not in ("0", "1", ""):
                    self.problem(record, event, column, value, "a checkbox column is 0 or 1")
                else:
                    group.values[column] = value
            elif value in design.missing_codes and value:
                group.missing[f.name] = value
                group.values[f.name] = ""
            else:
                converted = self.convert_date(f, value)
                if converted is None:
                    self.problem(record, event, column, value, f"not a date in the {self.date_format} order")
                else:
                    group.values[column] = converted
                    if value == "":
                        group.missing[f.name] = ""  # an 'overwrite' blank clears a missing-data code too

    def convert_date(self, f: Field, value: str) -> str | None:
        if not value or self.date_format == "YMD" or not f.validation:
            return value
        vtype = validation_type(f.validation, self.design.custom_types)
        if vtype is None or vtype.data_type not in ("date", "datetime", "datetime_seconds"):
            return value
        return to_iso(value, vtype.data_type, self.date_format)


def _site_for(scope: Scope, row: dict[str, str]) -> Site | str:
    """The site of a new record: the user's own, the row's DAG, or the only site; else a message."""
    dag = row.get("redcap_data_access_group", "").strip()
    if scope.site is not None:
        if dag and dag != scope.site.code:
            return f"you can only create records at your own site ({scope.site.code})"
        return scope.site
    sites = scope.sites()
    if dag:
        site = sites.filter(code=dag).first()
        return site if site is not None else f"{dag!r} is not a data access group of this project"
    if sites.count() == 1:
        return sites.first()
    return "give the new record's site in redcap_data_access_group"


_CREATE_LOCK_SPACE = 0x4A0C  # first key of the two-key advisory lock (jobs use 0x4A0B)


def _lock_record_creation(project_id: int) -> None:
    """Wait for other imports creating records in this project; released when the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CREATE_LOCK_SPACE, project_id])


def _lock_records(pks: set[int]) -> None:
    """Lock the records an import may write, in one order (by id), before anything is audited.

    form_save locks each record as it goes and the first audit row locks the project's audit chain
    until the commit. Without this, two imports naming the same records in different orders (or an
    import and a web save) could each hold a lock the other waits for, and PostgreSQL would end one of
    them as a deadlock; taken up front and in order, the second import simply waits for the first.
    """
    if pks:
        list(Record.objects.filter(pk__in=pks).order_by("pk").select_for_update().values_list("pk", flat=True))


def _create_named_records(scope: Scope, new: list[tuple[Site, str]], source: str) -> dict[str, Record]:
    """Create records named in the file; one audit call for all of them (an audit append per record is slow)."""
    created = {}
    for site, name in new:
        created[name] = Record.objects.create(project=scope.project, site=site, record_id=name, created_by=scope.user)
    audit_append(
        project=scope.project,
        action="record_created",
        changes=[Change(record_id=name, details={"site": site.code}) for site, name in new],
        user=scope.user,
        source=source,
    )
    return created


Progress = Callable[[int, int], None]


def import_records(
    *,
    scope: Scope,
    rows: list[dict[str, str]],
    overwrite: bool = False,
    force_auto_number: bool = False,
    date_format: str = "YMD",
    reason: str = "",
    source: str = AuditSource.IMPORT,
    dry_run: bool = False,
    row_numbers: list[int] | None = None,
    raw_or_label: str = "raw",
    sha256: str = "",
    file_name: str = "",
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import flat rows all or nothing. Raises RecordImportError listing every problem.

    `dry_run`: run the whole import and roll it back; the outcome lists every change it would make
    and every problem (`outcome.problems`) instead of raising. `row_numbers` gives each row's number
    in the file (default: its position, from 1). `sha256` (the file's digest) adds one `record_import`
    audit row, in the same transaction, naming the file. `progress(done, total)` is called as forms
    are saved; it must not write through this transaction's connection.
    """
    scope.require(Right.ENTER_DATA)
    try:
        design = design_of(scope.project)
    except DesignError as exc:
        raise RecordImportError([ImportProblem("", "", "", None, str(exc))]) from None
    if raw_or_label == "label":
        rows = codes_from_labels(design, list(Site.objects.filter(project=scope.project)), rows)
    numbers = row_numbers if row_numbers is not None and len(row_numbers) == len(rows) else None
    importer = _Importer(scope, design, overwrite=overwrite, date_format=date_format)
    importer.check_header(rows)
    # A dry run goes on after a problem so that the user sees every problem of the file at once.
    if importer.problems and not dry_run:
        raise RecordImportError(importer.problems)
    outcome = ImportOutcome(dry_run=dry_run)
    with transaction.atomic():
        records: dict[str, Record] = {}
        sent_to_new: dict[str, str] = {}
        named = {rid.strip() for rid in (row.get(importer.rid, "") for row in rows) if rid.strip()}
        existing_records = {
            r.record_id: r
            for r in Record.objects.filter(project=scope.project, record_id__in=named).select_related("site")
        }
        if not force_auto_number and named - existing_records.keys():
            # Imports that create records queue here, so two imports naming one new record do not both insert
            # it (the second would fail on the unique id); after the wait the first one's records exist.
            _lock_record_creation(scope.project.pk)
            existing_records = {
                r.record_id: r
                for r in Record.objects.filter(project=scope.project, record_id__in=named).select_related("site")
            }
        writable = set(scope.records().filter(record_id__in=named).values_list("pk", flat=True))
        _lock_records(writable)
        to_create: list[tuple[Site, str]] = []
        for position, row in enumerate(rows):
            importer.row = numbers[position] if numbers else position + 1
            sent = row.get(importer.rid, "").strip()
            if not sent:
                importer.problem("", row.get("redcap_event_name", ""), importer.rid, "", "every row needs a record id")
                continue
            if sent in sent_to_new or sent in records:
                continue
            if force_auto_number:
                site = _site_for(scope, row)
                if isinstance(site, str):
                    importer.problem(
                        sent, "", "redcap_data_access_group", row.get("redcap_data_access_group", ""), site
                    )
                    continue
                try:
                    record = record_create(scope=scope, site=site, source=source)
                except EnrollmentError as exc:
                    importer.problem(sent, "", "", None, str(exc))
                    continue
                sent_to_new[sent] = record.record_id
                records[record.record_id] = record
                outcome.id_map.append((record.record_id, sent))
                outcome.created.append(record.record_id)
                continue
            existing = existing_records.get(sent)
            if existing is not None:
                if existing.pk not in writable:
                    importer.problem(sent, "", "", None, "this record belongs to a site you cannot write to")
                    records[sent] = None  # type: ignore[assignment]  # refused: its other rows say nothing more
                    continue
                dag = row.get("redcap_data_access_group", "").strip()
                if dag and dag != existing.site.code:
                    importer.problem(
                        sent,
                        "",
                        "redcap_data_access_group",
                        dag,
                        "moving a record to another site is not done by import",
                    )
                    continue
                records[sent] = existing
                continue
            if _BAD_RECORD_NAME.search(sent) or len(sent) > 100:
                importer.problem(sent, "", importer.rid, sent, "a record name may not contain + & # ' or line breaks")
                continue
            site = _site_for(scope, row)
            if isinstance(site, str):
                importer.problem(sent, "", "redcap_data_access_group", row.get("redcap_data_access_group", ""), site)
                continue
            records[sent] = None  # type: ignore[assignment]  # created below, in one go
            to_create.append((site, sent))
        if to_create:
            records.update(_create_named_records(scope, to_create, source))
            outcome.created.extend(name for _site, name in to_create)
        records = {name: record for name, record in records.items() if record is not None}
        new_records = set(outcome.created)

        groups: dict[tuple, _Group] = {}
        for position, row in enumerate(rows):
            importer.row = numbers[position] if numbers else position + 1
            sent = row.get(importer.rid, "").strip()
            name = sent_to_new.get(sent, sent)
            if name in records:
                importer.groups_of_row(row, name, groups, position)
                if name not in outcome.records:
                    outcome.records.append(name)
        importer.row = None
        if importer.problems and not dry_run:
            transaction.set_rollback(True)
            raise RecordImportError(importer.problems)

        next_instance: dict[tuple[str, str, str], int] = {}
        total = len(groups)
        for done, group in enumerate(groups.values(), start=1):
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)
            importer.row = group.row
            if group.instance == "new":
                key = (group.record, group.event, group.instrument)
                if key not in next_instance:
                    top = FormInstance.objects.filter(
                        record=records[group.record], event=group.event, instrument=group.instrument
                    ).aggregate(m=Max("instance"))["m"]
                    taken = [
                        g.instance
                        for g in groups.values()
                        if (g.record, g.event, g.instrument) == key and isinstance(g.instance, int)
                    ]
                    next_instance[key] = max([top or 0, *taken]) + 1
                group.instance = next_instance[key]
                next_instance[key] += 1
            try:
                # form_save's own atomic block is the savepoint: a refused group leaves nothing behind.
                saved = form_save(
                    scope=scope,
                    record=records[group.record],
                    event=group.event,
                    instrument=group.instrument,
                    instance=int(group.instance),
                    values=group.values,
                    missing=group.missing,
                    status=group.status,
                    reason=reason,
                    source=source,
                    partial=True,
                    design=design,
                )
                outcome.forms_saved += 1
                outcome.instances_created += int(saved.created)
                for change in saved.changes:
                    outcome.changes.append(
                        CellChange(group.row, group.record, group.event, group.instrument, int(group.instance),
                                   change.field, change.old, change.new, group.record in new_records,
                                   saved.created)
                    )  # fmt: skip
                for warning in saved.warnings:
                    f = design.field_map.get(warning.field)
                    hidden = f is not None and f.identifier
                    outcome.warnings.append(
                        ImportProblem(
                            group.record,
                            group.event,
                            warning.field,
                            HIDDEN if hidden else warning.value,
                            warning.message if not hidden else "outside its range",
                            group.row,
                        )
                    )
            except EntryError as exc:
                for column, messages in exc.errors.items():
                    target = "" if column in ("__all__", "reason") else column
                    value = group.sent.get(column, group.values.get(column, "")) if target else None
                    for message in messages:
                        importer.problem(group.record, group.event, target, value, message)
            except SaveConflict:
                importer.problem(group.record, group.event, "", None, "the form changed during the import; try again")
            except DesignError as exc:
                importer.problem(group.record, group.event, "", None, str(exc))
        importer.row = None
        if dry_run:
            transaction.set_rollback(True)
            outcome.problems = importer.problems
            return outcome
        if importer.problems:
            transaction.set_rollback(True)
            raise RecordImportError(importer.problems)
        if sha256:
            audit_append(
                project=scope.project,
                action="record_import",
                changes=[
                    Change(
                        details={
                            "sha256": sha256,
                            "file": file_name,
                            "rows": len(rows),
                            "records": outcome.count,
                            "records_created": len(outcome.created),
                            "forms_saved": outcome.forms_saved,
                            "values_changed": len(outcome.changes),
                        }
                    )
                ],
                user=scope.user,
                source=source,
                reason=reason.strip(),
            )
    return outcome
