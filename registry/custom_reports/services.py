"""Custom reports: define, list, run (site-scoped, filtered, sorted) and hand over to the exports.

A report is a saved choice of columns (fields or whole instruments), events, a filter in the logic
language, a sort order and the roles that may open it. Running one reads the rows through the
exports' flat format (`registry/exports/flat.py`) with the user's scope, so site scoping, per-form
rights and the identifier profile are the exports' own. REDCap's two built-in reports, "all data"
and "selected instruments and events", exist for every project without being stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db import transaction

from registry.access import Right, Scope
from registry.custom_reports.models import Report
from registry.exports import flat, profiles
from registry.exports.services import project_secret
from registry.models import Role
from registry.services.audit import Change, audit_append
from registry.services.design import Design, design_of

ALL_DATA = "all"
SELECTED = "selected"
BUILTIN_TITLES = {ALL_DATA: "All data (all records and fields)", SELECTED: "Selected instruments and events"}
SORT_LIMIT = 3


class ReportError(ValueError):
    """A report definition that cannot be run; the message names what is wrong."""


class ReportNotFound(LookupError):
    """No such report in this project, or the user's role may not open it."""


@dataclass
class ReportSpec:
    title: str
    description: str = ""
    fields: list[str] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    filter_logic: str = ""
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    roles: list[str] = field(default_factory=list)


def _user(scope: Scope):
    return scope.user if getattr(scope.user, "pk", None) else None


def check_spec(design: Design, spec: ReportSpec) -> None:
    """Refuse a definition naming what does not exist, or a filter that does not parse."""
    if not spec.title.strip():
        raise ReportError("give the report a title")
    try:
        flat.flat_columns(design, fields=spec.fields or None, forms=spec.instruments or None)
        flat.parse_filter(spec.filter_logic)
    except flat.FlatFormatError as exc:
        raise ReportError(str(exc)) from None
    known_events = {name for name, _ in design.events}
    unknown = sorted(set(spec.events) - known_events)
    if unknown:
        raise ReportError(f"{unknown[0]!r} is not an event of this project")
    roles = set(Role.values)
    if set(spec.roles) - roles:
        raise ReportError(f"{sorted(set(spec.roles) - roles)[0]!r} is not a role")
    if len(spec.sort) > SORT_LIMIT:
        raise ReportError(f"sort by at most {SORT_LIMIT} fields")
    for name, _desc in spec.sort:
        if name not in design.field_map and name not in ("redcap_event_name", "redcap_data_access_group"):
            raise ReportError(f"cannot sort by {name!r}: not a field of this project")


def report_save(*, scope: Scope, spec: ReportSpec, report: Report | None = None) -> Report:
    """Create or change a report; audited."""
    scope.require(Right.DEFINE_REPORTS)
    if report is not None and report.project_id != scope.project.pk:
        raise ReportNotFound("not found")
    check_spec(design_of(scope.project), spec)
    with transaction.atomic():
        report = report or Report(project=scope.project, created_by=_user(scope))
        report.title = spec.title.strip()[:200]
        report.description = spec.description.strip()
        report.fields = list(spec.fields)
        report.instruments = list(spec.instruments)
        report.events = list(spec.events)
        report.filter_logic = spec.filter_logic.strip()
        report.sort = [{"field": name, "desc": bool(desc)} for name, desc in spec.sort]
        report.roles = sorted(set(spec.roles))
        created = report.pk is None
        report.save()
        audit_append(
            project=scope.project,
            action="report_created" if created else "report_changed",
            changes=[
                Change(
                    details={
                        "report": report.pk,
                        "title": report.title,
                        "filter": report.filter_logic,
                        "roles": report.roles,
                    }
                )
            ],
            user=_user(scope),
        )
    return report


def report_delete(*, scope: Scope, report: Report) -> None:
    scope.require(Right.DEFINE_REPORTS)
    if report.project_id != scope.project.pk or not may_edit(scope, report):
        raise ReportNotFound("not found")
    with transaction.atomic():
        audit_append(project=scope.project, action="report_deleted", user=_user(scope),
                     changes=[Change(details={"report": report.pk, "title": report.title})])  # fmt: skip
        report.delete()


def may_open(scope: Scope, report: Report) -> bool:
    """Data managers open every report; others those granted to their role, and their own."""
    if report.pk is None:
        return True  # the built-in reports
    return (
        scope.role == Role.DATA_MANAGER
        or scope.role in (report.roles or [])
        or (report.created_by_id is not None and report.created_by_id == getattr(scope.user, "pk", None))
    )


def may_edit(scope: Scope, report: Report) -> bool:
    if report.pk is None or not scope.can(Right.DEFINE_REPORTS):
        return False
    return scope.role == Role.DATA_MANAGER or report.created_by_id == getattr(scope.user, "pk", None)


def reports_for(scope: Scope) -> list[Report]:
    return [r for r in Report.objects.filter(project=scope.project) if may_open(scope, r)]


def builtin_report(scope: Scope, key: str, *, instruments=None, events=None) -> Report:
    """REDCap's report A (all data) or B (the instruments and events chosen on the page), unsaved."""
    report = Report(project=scope.project, title=BUILTIN_TITLES[key])
    if key == SELECTED:
        report.instruments = list(instruments or [])
        report.events = list(events or [])
    return report


def report_get(scope: Scope, key: str, *, instruments=None, events=None) -> Report:
    """The report a page or the API names: 'all', 'selected' or a saved report's id."""
    if key in BUILTIN_TITLES:
        return builtin_report(scope, key, instruments=instruments, events=events)
    report = Report.objects.filter(project=scope.project, pk=int(key)).first() if str(key).isdigit() else None
    if report is None or not may_open(scope, report):
        raise ReportNotFound("not found")
    return report


# -- running ------------------------------------------------------------------------------------


@dataclass
class ReportTable:
    columns: list[flat.FlatColumn]
    rows: list[dict]
    applicable: list[frozenset[str]]  # per row: the instruments that belong in it (for statistics)
    profile: str


def view_profile(scope: Scope) -> str:
    """What the user sees of the data: everything with the identifier right, else the exports' profiles."""
    if scope.can(Right.VIEW_IDENTIFIERS):
        return profiles.FULL
    granted = scope.export_profiles()
    return profiles.LIMITED if profiles.LIMITED in granted else profiles.DEIDENTIFIED


def report_columns(scope: Scope, design: Design, report: Report, *, include_dag: bool) -> list[flat.FlatColumn]:
    fields = list(report.fields) or None
    forms = list(report.instruments) or None
    if fields is not None or forms is not None:
        fields = [design.record_id_field, *(fields or [])]  # REDCap reports always show the record id
    try:
        columns = flat.flat_columns(design, fields=fields, forms=forms, include_dag=include_dag)
    except flat.FlatFormatError as exc:
        raise ReportError(str(exc)) from None
    readable = scope.can_read_form
    return [c for c in columns if c.kind == flat.KIND_RECORD_ID or c.instrument is None or readable(c.instrument)]


def report_events(report: Report, event: str | None) -> list[str] | None:
    events = list(report.events) or None
    if event:
        return [event] if events is None or event in events else []
    return events


def report_table(
    scope: Scope,
    report: Report,
    *,
    site: str | None = None,
    event: str | None = None,
    raw_or_label: str = "raw",
    export_checkbox_label: bool = False,
    include_dag: bool | None = None,
) -> ReportTable:
    """Every row of the report the user may see, filtered and sorted. `site` and `event` narrow it further."""
    scope.require(Right.VIEW)
    design = design_of(scope.project)
    if include_dag is None:
        include_dag = scope.all_sites
    columns = report_columns(scope, design, report, include_dag=include_dag)
    profile = view_profile(scope)
    plans = profiles.plan_columns(design, columns, profile)
    transformer = profiles.RowTransformer(plans, secret=project_secret(scope.project), design=design)
    columns = [p.column for p in plans if p.exported]
    sites = None
    if site:
        if not scope.sites().filter(code=site).exists():
            raise ReportError(f"{site!r} is not one of your sites")
        sites = [site]
    events = report_events(report, event)
    if events is not None and design.is_longitudinal:
        unknown = sorted(set(events) - {name for name, _ in design.events})
        if unknown:
            raise ReportError(f"{unknown[0]!r} is not an event of this project")
    rows: list[dict] = []
    applicable: list[frozenset[str]] = []
    if events != []:
        try:
            for info, shape, row in flat.iter_record_rows(
                scope, design, columns=columns, sites=sites, events=events if design.is_longitudinal else None,
                raw_or_label=raw_or_label, export_checkbox_label=export_checkbox_label,
                filter_logic=report.filter_logic or None,
            ):  # fmt: skip
                rows.append(transformer.apply(info, row))
                applicable.append(shape.applicable)
        except flat.FlatFormatError as exc:
            raise ReportError(str(exc)) from None
    order = sort_order(design, rows, report.sort or [])
    return ReportTable(columns, [rows[i] for i in order], [applicable[i] for i in order], profile)


def _sort_value(text) -> tuple:
    text = "" if text is None else str(text)
    try:
        number = float(text)
        if not math.isnan(number):
            return (0, number, "")
    except ValueError:
        pass
    return (1, 0.0, text.casefold())


def sort_order(design: Design, rows: list[dict], sort: list[dict]) -> list[int]:
    """Row positions in the report's order: numbers as numbers, blanks last either way."""
    order = list(range(len(rows)))
    for spec in reversed(sort):
        name, desc = spec.get("field", ""), bool(spec.get("desc"))
        blank_rank = 0 if desc else 1  # reversed for descending, so blanks still end up last

        def key(i, name=name, blank_rank=blank_rank):
            value = rows[i].get(name, "")
            return (blank_rank, ()) if value in ("", None) else (1 - blank_rank, _sort_value(value))

        order.sort(key=key, reverse=desc)
    return order
