"""Releases: request (checked against the role), build (streamed), publish (atomically), download, expire.

A release is built into a temporary folder, zipped to `<id>.zip.part` and renamed to `<id>.zip`
only when complete, so a half-written file is never offered. `python manage.py export_data` runs
the same build synchronously into a folder of the caller's choice.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from registry.access import Right, Scope, scope_for
from registry.exports import conf, copystreams, formats, metadata, sqlflat
from registry.exports.flat import (
    FlatFormatError,
    count_records,
    flat_columns,
    iter_record_rows,
    parse_filter,
)
from registry.exports.models import ExportKey, Release
from registry.exports.profiles import (
    DATE_MODES,
    DATE_SHIFT,
    DEIDENTIFIED,
    PROFILES,
    STUDY_DAY,
    ProfileError,
    RowTransformer,
    anchor_field,
    plan_columns,
)
from registry.models import AuditSource, Job
from registry.services.audit import Change, audit_append
from registry.services.design import design_of
from registry.services.jobs import job_create, job_set_progress

FORMATS = ("csv", "tidy", "spss", "stata", "sas", "r", "odm")
FORMAT_LABELS = {
    "csv": "CSV, REDCap flat file",
    "tidy": "CSV, one table per instrument",
    "spss": "SPSS (.sav)",
    "stata": "Stata (.dta)",
    "sas": "SAS (CSV + program)",
    "r": "R (CSV + script)",
    "odm": "CDISC ODM 1.3.2 (XML)",
}
JOB_KIND = "export_release"
logger = logging.getLogger(__name__)


class ExportRefused(Exception):
    """The request is not allowed or not valid; the message says why."""


@dataclass
class ExportOptions:
    profile: str
    format: str
    raw_or_label: str = "raw"
    export_checkbox_label: bool = False
    date_mode: str = DATE_SHIFT
    instruments: list[str] | None = None
    events: list[str] | None = None
    fields: list[str] | None = None
    sites: list[str] | None = None
    filter_logic: str = ""
    engine: str = "auto"  # auto, sql (PostgreSQL COPY) or python

    @classmethod
    def from_dict(cls, data: dict) -> ExportOptions:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class BuildResult:
    manifest: dict
    files: list[Path] = field(default_factory=list)


def project_secret(project) -> str:
    """The project's de-identification secret, created on first use and never changed."""
    key, _ = ExportKey.objects.get_or_create(project=project)
    return key.secret


def check_options(scope: Scope, options: ExportOptions) -> None:
    """Refuse what the user may not have or what does not exist."""
    allowed = scope.export_profiles()
    if not allowed:
        raise ExportRefused("you may not export data from this project")
    if options.profile not in PROFILES:
        raise ExportRefused(f"{options.profile!r} is not an export profile ({', '.join(PROFILES)})")
    if options.profile not in allowed:
        raise ExportRefused(
            f"your role may not request the {options.profile!r} profile (allowed: {', '.join(allowed)})"
        )
    if options.format not in FORMATS:
        raise ExportRefused(f"{options.format!r} is not an export format ({', '.join(FORMATS)})")
    if options.raw_or_label not in ("raw", "label"):
        raise ExportRefused("raw_or_label must be 'raw' or 'label'")
    if options.date_mode not in DATE_MODES:
        raise ExportRefused(f"date_mode must be one of {', '.join(DATE_MODES)}")
    if options.engine not in ("auto", "sql", "python"):
        raise ExportRefused("engine must be auto, sql or python")
    if options.sites is not None:
        mine = set(scope.sites().values_list("code", flat=True))
        outside = sorted(set(options.sites) - mine)
        if outside:
            raise ExportRefused(f"site {outside[0]!r} is not one of your sites")
    design = design_of(scope.project)
    try:
        columns_for(design, options, scope)
        parse_filter(options.filter_logic)
    except FlatFormatError as exc:
        raise ExportRefused(str(exc)) from exc
    if options.events is not None:
        known = {name for name, _ in design.events}
        unknown = sorted(set(options.events) - known) if design.is_longitudinal else []
        if unknown:
            raise ExportRefused(f"{unknown[0]!r} is not an event of this project")


def columns_for(design, options: ExportOptions, scope: Scope | None = None):
    """The flat columns of a release: the chosen fields or instruments (all by default), the record id and
    the site always, and never an instrument the user may not read (per-instrument rights)."""
    fields = list(options.fields) if options.fields else None
    forms = list(options.instruments) if options.instruments else None
    if fields is not None or forms is not None:
        fields = [design.record_id_field, *(fields or [])]
    columns = flat_columns(design, fields=fields, forms=forms, include_dag=True)
    can_read = getattr(scope, "can_read_form", None)
    if can_read is None:
        return columns
    return [c for c in columns if c.kind == "record_id" or c.instrument is None or can_read(c.instrument)]


# -- requesting ---------------------------------------------------------------------------------


def release_request(*, scope: Scope, options: ExportOptions, enqueue: bool = True) -> Release:
    """Check the request, create the job and the release row, audit it, and queue the build."""
    check_options(scope, options)
    with transaction.atomic():
        job = job_create(kind=JOB_KIND, params=asdict(options), project=scope.project, user=_user(scope))
        release = Release.objects.create(
            project=scope.project,
            job=job,
            requested_by=_user(scope),
            username=getattr(scope.user, "username", "") or "",
            profile=options.profile,
            format=options.format,
            options=asdict(options),
        )
        audit_append(
            project=scope.project,
            action="export_release",
            changes=[
                Change(details={"release": str(release.public_id), "stage": "requested", **_audit_scope(options)})
            ],
            user=_user(scope),
            source=AuditSource.WEB,
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue(job.pk))
    return release


def _enqueue(job_id: int) -> None:
    import registry.exports.tasks  # noqa: F401 - registers the task with the app (in-process runs look it up by name)
    from registry.services.jobs import job_dispatch

    try:  # a broker outage leaves the job queued with a message saying so; it starts when Redis is back
        job_dispatch(job_id, "exports.build_release")
    except Exception:  # run in-process (no broker): the job and release rows already say what failed
        logger.exception("export job %s failed", job_id)


def _user(scope: Scope):
    user = scope.user
    return user if getattr(user, "pk", None) else None


def _audit_scope(options: ExportOptions) -> dict:
    return {
        "profile": options.profile,
        "format": options.format,
        "sites": options.sites,
        "instruments": options.instruments,
        "events": options.events,
        "fields": options.fields,
        "filter": options.filter_logic,
        "date_mode": options.date_mode,
    }


# -- building -----------------------------------------------------------------------------------


def release_build(
    scope: Scope,
    options: ExportOptions,
    folder: Path,
    *,
    release_id: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    """Write the release's files into `folder` (which must exist) and return its manifest."""
    check_options(scope, options)
    project = scope.project
    design = design_of(project)
    columns = columns_for(design, options, scope)
    plans = plan_columns(design, columns, options.profile, options.date_mode)
    secret = project_secret(project)
    anchor = anchor_field(design, project)
    transformer = RowTransformer(plans, secret=secret, design=design, anchor=anchor)
    stem = f"{project.code}_{options.profile}"
    labels = options.raw_or_label == "label"
    total = count_records(scope, sites=options.sites)
    if progress:
        progress(0, total)

    def rows():
        done, last = 0, None
        for info, shape, row in iter_record_rows(
            scope,
            design,
            columns=columns,
            sites=options.sites,
            events=options.events,
            raw_or_label=options.raw_or_label if options.format in ("csv", "tidy") else "raw",
            export_checkbox_label=options.export_checkbox_label,
            filter_logic=options.filter_logic or None,
        ):
            if info.pk != last:
                last = info.pk
                done += 1
                if progress and done % 100 == 0:
                    progress(done, total)
            yield info, shape, row

    exported = [p for p in plans if p.exported]
    header = [p.column.name for p in exported]
    counts: dict[str, int] = {}
    file_columns: dict[str, list] = {}
    use_sql = (
        options.format in ("csv", "sas", "r")
        and options.engine != "python"
        and sqlflat.supported()
        and not (options.filter_logic or "").strip()
    )
    if options.engine == "sql" and not use_sql:
        raise ExportRefused("the SQL engine needs PostgreSQL, a CSV-based format and no filter")
    engine = "postgresql-copy" if use_sql else "python"

    if options.format in ("csv", "sas", "r"):
        name = f"{stem}.csv"
        if use_sql:
            query = sqlflat.build_query(
                scope,
                design,
                plans,
                secret=secret,
                sites=options.sites,
                events=options.events,
                anchor=anchor,
                raw_or_label=options.raw_or_label if options.format == "csv" else "raw",
                export_checkbox_label=options.export_checkbox_label,
            )
            with open(folder / name, "wb") as out:
                out.write(formats.csv_line(header).encode())
                counts[name] = copystreams.copy_flat_csv(
                    query, out, on_record=(lambda n: progress(n, total)) if progress else None
                )
        else:
            counts[name] = formats.write_csv_rows(
                folder / name, header, ([out[h] for h in header] for out in _applied(rows(), transformer))
            )
        file_columns[name] = exported
        if options.format == "r":
            (folder / "read_data.R").write_text(formats.r_script(name, plans, design), encoding="utf-8")
        elif options.format == "sas":
            (folder / "read_data.sas").write_text(formats.sas_script(name, plans, design), encoding="utf-8")
    elif options.format == "tidy":
        counts.update(formats.write_tidy(folder, stem, plans, design, rows(), transformer, labels))
        for form, form_plans in formats.tidy_columns(plans, design).items():
            layout = formats.tidy_layout(form_plans, design)
            file_columns[f"{stem}_{form}.csv"] = metadata.tidy_schema_columns(form_plans, layout, design)
    elif options.format in ("spss", "stata"):
        name = f"{stem}.{'sav' if options.format == 'spss' else 'dta'}"
        counts.update(
            formats.write_stat_file(
                folder / name, options.format, plans, design, rows(), transformer, f"{project.code} {options.profile}"
            )
        )
        file_columns[name] = exported
    elif options.format == "odm":
        name = f"{stem}.xml"
        counts.update(
            formats.write_odm(
                folder / name,
                plans,
                design,
                project,
                rows(),
                transformer,
                file_oid=f"{project.code}.{release_id or 'export'}",
                description=f"{project.code} {options.profile} release",
            )
        )
        file_columns[name] = exported
    if progress:
        progress(total, total)

    metadata.write_dictionary(folder / "data_dictionary.csv", design, plans)
    metadata.write_json(folder / "schema.json", metadata.schema_for(file_columns, design, f"{project.code} release"))
    manifest = {
        "release": release_id,
        "project": project.code,
        "design_version": design.version_number,
        "profile": options.profile,
        "format": options.format,
        "requested_by": getattr(scope.user, "username", "") or "(command line)",
        "created_at": timezone.now().isoformat(timespec="seconds"),
        "scope": {
            "sites": options.sites
            if options.sites is not None
            else ([scope.site.code] if scope.site is not None else "all"),
            "instruments": options.instruments or "all",
            "events": options.events or "all",
            "fields": options.fields or "all",
            "filter": options.filter_logic or "",
        },
        "options": {
            "raw_or_label": options.raw_or_label,
            "export_checkbox_label": options.export_checkbox_label,
            "date_mode": options.date_mode,
        },
        "dates": _dates_text(options, plans),
        "record_ids": "replaced by HMAC-SHA256 with the project's secret (first 16 hex digits), the same in every "
        "release"
        if options.profile == DEIDENTIFIED
        else "as stored",
        "engine": engine,
        "columns": [metadata.column_entry(p, design) for p in plans],
        "row_counts": counts,
    }
    metadata.write_codebook(folder / "codebook.html", design, project, plans, manifest)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
    manifest["files"] = [
        {"name": p.name, "rows": counts.get(p.name), "bytes": p.stat().st_size, "sha256": metadata.sha256_of(p)}
        for p in files
    ]
    metadata.write_json(folder / "manifest.json", manifest)
    return BuildResult(manifest=manifest, files=[*files, folder / "manifest.json"])


def _applied(rows, transformer):
    for info, _shape, row in rows:
        yield transformer.apply(info, row)


def _dates_text(options: ExportOptions, plans) -> str:
    if options.profile != DEIDENTIFIED:
        return "as stored"
    if options.date_mode == STUDY_DAY:
        return "converted to days since enrolment (dates: whole days, datetimes: days to 3 decimals)"
    return (
        "shifted forward by a per-record offset of 0-364 days, the same for every date of a record and in "
        "every release; intervals within a record are kept"
    )


# -- running as a job ---------------------------------------------------------------------------


def release_run(job: Job, copy_to: Path | None = None) -> dict:
    """The job's work: build into a temporary folder, zip, publish atomically, record the result.

    `copy_to` (the command line's --out) also receives the release's files, unzipped.
    """
    release = Release.objects.select_related("project", "requested_by").get(job=job)
    scope = scope_for(release.requested_by, release.project) if release.requested_by else None
    if scope is None:
        scope = _command_scope(release.project) if release.requested_by is None else None
    if scope is None:
        _fail(release, "the requesting user no longer has access to the project")
        raise ExportRefused("the requesting user no longer has access to the project")
    options = ExportOptions.from_dict(release.options)
    Release.objects.filter(pk=release.pk).update(status=Release.Status.RUNNING)
    target_dir = conf.export_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{release.public_id}-", dir=target_dir))

    def progress(done: int, total: int) -> None:
        job_set_progress(job, done, total)

    try:
        result = release_build(scope, options, work, release_id=str(release.public_id), progress=progress)
        final = target_dir / f"{release.public_id}.zip"
        partial = target_dir / f"{release.public_id}.zip.part"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for path in result.files:
                archive.write(path, arcname=path.name)
        os.replace(partial, final)
        if copy_to is not None:
            copy_to.mkdir(parents=True, exist_ok=True)
            for path in result.files:
                shutil.copy2(path, copy_to / path.name)
    except Exception as exc:
        _fail(release, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    now = timezone.now()
    release.status = Release.Status.READY
    release.finished_at = now
    release.expires_at = now + timedelta(hours=conf.release_ttl_hours())
    release.file_name = final.name
    release.size = final.stat().st_size
    release.sha256 = metadata.sha256_of(final)
    release.manifest = result.manifest
    with transaction.atomic():
        release.save(update_fields=["status", "finished_at", "expires_at", "file_name", "size", "sha256", "manifest"])
        audit_append(
            project=release.project,
            action="export_release",
            changes=[
                Change(
                    details={
                        "release": str(release.public_id),
                        "stage": "published",
                        "sha256": release.sha256,
                        "bytes": release.size,
                        "row_counts": result.manifest["row_counts"],
                    }
                )
            ],
            user=release.requested_by,
            source=AuditSource.SYSTEM,
        )
    return {"release": str(release.public_id), "sha256": release.sha256, "bytes": release.size}


def _fail(release: Release, error: str) -> None:
    Release.objects.filter(pk=release.pk).update(
        status=Release.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _command_scope(project) -> Scope:
    from registry.models import Role

    return Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)


# -- status, download, expiry -------------------------------------------------------------------


def release_status(release: Release) -> dict:
    job = release.job
    status = release.status
    if status == Release.Status.READY and release.expires_at and release.expires_at <= timezone.now():
        status = Release.Status.EXPIRED
    total = job.total if job else 0
    done = job.progress if job else 0
    percent = 100 if status == Release.Status.READY else int(100 * done / total) if total else 0
    return {
        "id": str(release.public_id),
        "status": status,
        "progress": done,
        "total": total,
        "percent": min(percent, 100),
        # A queued job's error is the broker-outage message (jobs.DISPATCH_WAITING): the user sees why it waits.
        "error": release.error or (job.error if job and job.status in (Job.Status.FAILED, Job.Status.QUEUED) else ""),
        "bytes": release.size,
        "sha256": release.sha256,
        "expires_at": release.expires_at.isoformat() if release.expires_at else None,
    }


def releases_for(scope: Scope):
    """The releases a user sees: their own (data managers: every release of the project)."""
    qs = Release.objects.filter(project=scope.project).select_related("job")
    if not scope.can(Right.MANAGE_USERS):
        qs = qs.filter(requested_by=scope.user)
    return qs


def release_file(scope: Scope, release: Release) -> Path:
    """The published file of a ready, unexpired release the user may download; audits the download."""
    if release.requested_by_id != getattr(scope.user, "pk", None) and not scope.can(Right.MANAGE_USERS):
        raise ExportRefused("not your release")
    if release.status != Release.Status.READY:
        raise ExportRefused("the release is not ready")
    if release.expires_at and release.expires_at <= timezone.now():
        raise ExportRefused("the release has expired")
    path = conf.export_dir() / release.file_name
    if not path.exists():
        raise ExportRefused("the release file is gone")
    audit_append(
        project=release.project,
        action="export_download",
        changes=[
            Change(
                details={
                    "release": str(release.public_id),
                    "profile": release.profile,
                    "format": release.format,
                    "sha256": release.sha256,
                }
            )
        ],
        user=_user(scope),
    )
    return path


def download_name(release: Release) -> str:
    stamp = (release.finished_at or release.created_at).strftime("%Y%m%d-%H%M")
    return f"{release.project.code}_{release.profile}_{release.format}_{stamp}.zip"


def release_purge_expired() -> int:
    """Delete the files of expired releases and mark them expired; returns how many.

    Also removes what a killed build left behind (`.build-*` folders, `*.zip.part`) once older than a day.
    """
    now = timezone.now()
    folder = conf.export_dir()
    if folder.is_dir():
        stale_before = now.timestamp() - 86400
        for leftover in [*folder.glob(".build-*"), *folder.glob("*.zip.part")]:
            if leftover.stat().st_mtime < stale_before:
                shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    expired = Release.objects.filter(status=Release.Status.READY, expires_at__lte=now)
    count = 0
    for release in expired:
        path = conf.export_dir() / release.file_name if release.file_name else None
        if path is not None and path.exists():
            path.unlink()
        Release.objects.filter(pk=release.pk).update(status=Release.Status.EXPIRED)
        count += 1
    return count


def refuse_message(exc: Exception) -> str:
    if isinstance(exc, ExportRefused | ProfileError | FlatFormatError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
