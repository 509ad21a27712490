"""The import tool: upload a flat CSV file, dry-run it, commit it, report its rejected rows.

Every step goes through `registry.services.record_import.import_records`, the path the API uses,
so a file gets the form's validation, calculations, audit and real-time rules. The dry run and the
commit run as jobs (Celery, or in-process when there is no broker); the management command calls
the same functions without a queue.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from registry.access import Right, Scope, scope_for
from registry.imports.models import ImportRun
from registry.imports.progress import SideProgress
from registry.models import AuditSource, Job, Role
from registry.services.design import design_of
from registry.services.jobs import job_create
from registry.services.record_import import (
    DATE_FORMATS,
    DELIMITERS,
    HIDDEN,
    ImportOutcome,
    ImportProblem,
    RecordImportError,
    decode_upload,
    import_records,
    read_flat_csv,
    sniff_delimiter,
)

CHECK_JOB = "record_import_check"
COMMIT_JOB = "record_import_commit"
PREVIEW_LIMIT = 2000
MAX_BYTES = 50 * 1024 * 1024
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
REPORT_HEADER = ["row", "record", "event", "field", "value", "problem"]


class ImportRefused(Exception):
    """The upload or the commit is not possible; the message says why (and never quotes a value)."""


@dataclass(frozen=True)
class UploadOptions:
    date_format: str = "YMD"
    delimiter: str = ""  # '' sniffs comma, semicolon or tab from the header line
    raw_or_label: str = "raw"
    overwrite: bool = False
    reason: str = ""


def _user(scope: Scope):
    return scope.user if getattr(scope.user, "pk", None) else None


def command_scope(project) -> Scope:
    """The command line's scope when no user is named: a data manager of every site."""
    return Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)


def upload(*, scope: Scope, file_name: str, data: bytes, options: UploadOptions) -> ImportRun:
    """Keep an uploaded file for its dry run; refuses what cannot be a flat CSV file."""
    scope.require(Right.ENTER_DATA)
    design_of(scope.project)  # a project without a design cannot take data
    if len(data) > MAX_BYTES:
        raise ImportRefused(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if options.date_format not in DATE_FORMATS:
        raise ImportRefused(f"the date format is one of {', '.join(DATE_FORMATS)}")
    if options.delimiter and options.delimiter not in DELIMITERS:
        raise ImportRefused("the delimiter is a comma, a semicolon or a tab")
    if options.raw_or_label not in ("raw", "label"):
        raise ImportRefused("values are raw codes or labels")
    text = decode_upload(data)
    if "\x00" in text:  # binary data or UTF-16 text; PostgreSQL text cannot even store it (was a 500)
        raise ImportRefused(f"row {text.count(chr(10), 0, text.index(chr(0))) + 1}: the file holds NUL characters: "
                            "it is not a CSV text file, or is saved as UTF-16 (save it as CSV UTF-8)")  # fmt: skip
    delimiter = options.delimiter or sniff_delimiter(text)
    try:
        rows, _numbers = read_flat_csv(text, delimiter)
    except csv.Error as exc:
        raise ImportRefused(_unreadable(text, delimiter, exc)) from exc
    if not rows:
        raise ImportRefused("the file has no data rows under its header")
    return ImportRun.objects.create(
        project=scope.project,
        user=_user(scope),
        username=getattr(scope.user, "username", "") or "",
        file_name=((file_name or "").replace("\x00", "") or "upload.csv")[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=text,
        delimiter=delimiter,
        date_format=options.date_format,
        raw_or_label=options.raw_or_label,
        overwrite=options.overwrite,
        reason=options.reason.replace("\x00", "").strip()[:500],
        rows=len(rows),
    )


def _unreadable(text: str, delimiter: str, exc: csv.Error) -> str:
    """Why and where the csv module gave up on a file: its row (as read_flat_csv reads it) and the cause in words."""
    read = 0  # rows are numbered like read_flat_csv's: records, the header being row 1
    try:
        for _cells in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter):
            read += 1
    except csv.Error:
        pass
    row = read + 1  # the record the reader stopped in
    cause = str(exc)
    if "new-line character seen in unquoted field" in cause:
        cause = "a line break (a lone carriage return, as old Mac files have) inside an unquoted cell"
    elif "field larger than field limit" in cause:
        cause = f"a cell is longer than {csv.field_size_limit()} characters"
    return f"row {row}: the file is not a readable CSV file: {cause}"


def runs_for(scope: Scope):
    """The runs a user sees: their own; a data manager (user management right) sees the project's."""
    qs = ImportRun.objects.filter(project=scope.project).select_related("check_job", "commit_job")
    if not scope.can(Right.MANAGE_USERS):
        qs = qs.filter(user=_user(scope))
    return qs


# -- the two jobs -------------------------------------------------------------------------------


def check_request(run: ImportRun) -> Job:
    job = job_create(kind=CHECK_JOB, params={"run": str(run.public_id)}, project=run.project, user=run.user)
    ImportRun.objects.filter(pk=run.pk).update(check_job=job, status=ImportRun.Status.CHECKING)
    transaction.on_commit(lambda: _enqueue("check", job.pk))
    return job


def commit_request(*, scope: Scope, run: ImportRun) -> Job:
    """Queue the commit of a clean dry run, by the user who uploaded the file."""
    scope.require(Right.ENTER_DATA)
    if run.project_id != scope.project.pk or (run.user_id != getattr(_user(scope), "pk", None)):
        raise ImportRefused("only the user who uploaded a file can commit it")
    with transaction.atomic():
        claimed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKED).update(
            status=ImportRun.Status.COMMITTING
        )
        if not claimed:
            raise ImportRefused("this file is not waiting for a commit (it has problems, or was committed already)")
        job = job_create(kind=COMMIT_JOB, params={"run": str(run.public_id)}, project=run.project, user=run.user)
        ImportRun.objects.filter(pk=run.pk).update(commit_job=job)
        transaction.on_commit(lambda: _enqueue("commit", job.pk))
    return job


def _enqueue(what: str, job_id: int) -> None:
    from registry.imports import tasks

    (tasks.check_file if what == "check" else tasks.commit_file).delay(job_id)


def _run_of(job: Job) -> ImportRun:
    return ImportRun.objects.select_related("project", "user").get(public_id=job.params["run"])


def _scope_of(run: ImportRun) -> Scope:
    if run.user is None:
        return command_scope(run.project)
    scope = scope_for(run.user, run.project)
    if scope is None:
        raise ImportRefused("the user who uploaded the file no longer has access to the project")
    return scope


def _import(run: ImportRun, scope: Scope, *, dry_run: bool, job_id: int | None) -> ImportOutcome:
    rows, numbers = read_flat_csv(run.content, run.delimiter)
    progress = SideProgress(job_id) if job_id is not None else None
    try:
        return import_records(
            scope=scope,
            rows=rows,
            row_numbers=numbers,
            overwrite=run.overwrite,
            date_format=run.date_format,
            raw_or_label=run.raw_or_label,
            reason=run.reason,
            source=AuditSource.IMPORT,
            dry_run=dry_run,
            sha256="" if dry_run else run.sha256,
            file_name=run.file_name,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()


def _summary(outcome: ImportOutcome) -> dict:
    fields = Counter(c.field for c in outcome.changes)
    return {
        "records": outcome.count,
        "records_created": len(outcome.created),
        "forms_saved": outcome.forms_saved,
        "instances_created": outcome.instances_created,
        "values_changed": len(outcome.changes),
        "fields": dict(fields.most_common()),
        "warnings": len(outcome.warnings),
        "problems": len(outcome.problems),
    }


def _preview(outcome: ImportOutcome, scope: Scope) -> list[dict]:
    """The first changes, as the page shows them; identifier values only for users who may see them."""
    design = design_of(scope.project)
    show_identifiers = scope.can(Right.VIEW_IDENTIFIERS)
    cells = []
    for change in outcome.changes[:PREVIEW_LIMIT]:
        cell = asdict(change)
        f = design.field_map.get(change.field.split("___")[0])
        if f is not None and f.identifier and not show_identifiers:
            cell["old"] = HIDDEN if change.old else change.old
            cell["new"] = HIDDEN if change.new else change.new
        cells.append(cell)
    return cells


def check_file(run: ImportRun, *, job_id: int | None = None) -> ImportRun:
    """The dry run: every change and every problem of the file, nothing written."""
    scope = _scope_of(run)
    try:
        outcome = _import(run, scope, dry_run=True, job_id=job_id)
    except RecordImportError as exc:  # refused before any row was read (no design, ...)
        outcome = ImportOutcome(dry_run=True, problems=exc.problems)
    run.summary = _summary(outcome)
    run.preview = _preview(outcome, scope)
    run.problems = [asdict(p) for p in outcome.problems]
    run.status = ImportRun.Status.REJECTED if outcome.problems else ImportRun.Status.CHECKED
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "preview", "problems", "status", "finished_at"])
    return run


def commit_file(run: ImportRun, *, job_id: int | None = None) -> ImportRun:
    """Write the file, all or nothing. Data changed since the dry run may still refuse it."""
    scope = _scope_of(run)
    try:
        outcome = _import(run, scope, dry_run=False, job_id=job_id)
    except RecordImportError as exc:
        run.problems = [asdict(p) for p in exc.problems]
        run.status = ImportRun.Status.FAILED
        run.error = "the file was refused at commit; nothing was written"
        run.finished_at = timezone.now()
        run.save(update_fields=["problems", "status", "error", "finished_at"])
        return run
    run.summary = {**_summary(outcome), "committed": True}
    run.preview = _preview(outcome, scope)
    run.problems = []
    run.status = ImportRun.Status.COMMITTED
    run.content = ""  # the data now live in the records; the audit keeps the file's SHA-256
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "preview", "problems", "status", "content", "finished_at"])
    return run


def check_job_run(job: Job) -> dict:
    run = check_file(_run_of(job), job_id=job.pk)
    return {"run": str(run.public_id), "status": run.status, "problems": len(run.problems)}


def commit_job_run(job: Job) -> dict:
    run = commit_file(_run_of(job), job_id=job.pk)
    return {"run": str(run.public_id), "status": run.status, "problems": len(run.problems)}


def mark_failed(job: Job, error: str) -> None:
    """A job that crashed leaves its run failed, not 'checking' forever."""
    ImportRun.objects.filter(public_id=job.params.get("run")).exclude(status=ImportRun.Status.COMMITTED).update(
        status=ImportRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


# -- what the pages show ------------------------------------------------------------------------


def run_status(run: ImportRun) -> dict:
    job = run.commit_job if run.status in (ImportRun.Status.COMMITTING, ImportRun.Status.COMMITTED) else run.check_job
    done, total = (job.progress, job.total) if job else (0, 0)
    finished = run.status not in (ImportRun.Status.CHECKING, ImportRun.Status.COMMITTING)
    percent = 100 if finished else int(100 * done / total) if total else 0
    return {
        "id": str(run.public_id),
        "status": run.status,
        "finished": finished,
        "progress": done,
        "total": total,
        "percent": min(percent, 100),
        "problems": len(run.problems),
    }


def problems_of(run: ImportRun) -> list[ImportProblem]:
    return [ImportProblem(**p) for p in run.problems]


def rejected_rows_csv(run: ImportRun) -> str:
    """The report of rejected rows: one line per problem, in file order (identifier values hidden)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_HEADER)
    for p in sorted(problems_of(run), key=lambda p: (p.row is None, p.row or 0)):
        writer.writerow(["" if p.row is None else p.row, p.record, p.event, p.field, p.value or "", p.message])
    return out.getvalue()
