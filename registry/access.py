"""The one place that decides what a user may see and do in a project.

Every page, API call, export, search and admin view asks `scope_for(user, project)` and then
the returned Scope: which records (site scoping) and which actions (the role's rights). A
record of another site, or a project the user does not belong to, answers 404 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from forms.models import Project
from registry import sql_rows
from registry.models import Membership, Record, Role, Site
from registry.sql_rows import attach, columns, split


class Right(StrEnum):
    VIEW = "view"  # read records and forms of the scope's sites
    ENTER_DATA = "enter_data"  # create records, save forms
    VIEW_IDENTIFIERS = "view_identifiers"  # see fields flagged as identifiers
    OPEN_QUERY = "open_query"
    ANSWER_QUERY = "answer_query"
    CLOSE_QUERY = "close_query"
    VERIFY = "verify"  # mark forms verified
    LOCK = "lock"
    SIGN = "sign"
    DESIGN = "design"  # import dictionaries, edit events, rules
    MANAGE_USERS = "manage_users"  # sites, memberships, roles
    RUN_QUALITY = "run_quality"
    EXPORT = "export"
    API = "api"
    VIEW_AUDIT = "view_audit"
    DELETE_RECORDS = "delete_records"  # remove records or forms (API action=delete)
    DEFINE_REPORTS = "define_reports"  # create and edit custom reports


# The role table: one line per role. Statisticians see no identifiers unless granted.
ROLE_RIGHTS: dict[str, frozenset[Right]] = {
    Role.COORDINATOR: frozenset(
        {
            Right.VIEW,
            Right.ENTER_DATA,
            Right.VIEW_IDENTIFIERS,
            Right.ANSWER_QUERY,
            Right.API,
            Right.VIEW_AUDIT,
            Right.EXPORT,  # of her own site only (the scope), and never the `full` profile
        }
    ),
    Role.MONITOR: frozenset(
        {
            Right.VIEW,
            Right.VIEW_IDENTIFIERS,
            Right.OPEN_QUERY,
            Right.ANSWER_QUERY,
            Right.CLOSE_QUERY,
            Right.VERIFY,
            Right.RUN_QUALITY,
            Right.VIEW_AUDIT,
            Right.DEFINE_REPORTS,
        }
    ),
    Role.PI: frozenset({Right.VIEW, Right.VIEW_IDENTIFIERS, Right.LOCK, Right.SIGN, Right.VIEW_AUDIT}),
    Role.DATA_MANAGER: frozenset(
        {
            Right.VIEW,
            Right.ENTER_DATA,
            Right.VIEW_IDENTIFIERS,
            Right.OPEN_QUERY,
            Right.ANSWER_QUERY,
            Right.CLOSE_QUERY,
            Right.VERIFY,
            Right.LOCK,
            Right.DESIGN,
            Right.MANAGE_USERS,
            Right.RUN_QUALITY,
            Right.EXPORT,
            Right.API,
            Right.VIEW_AUDIT,
            Right.DELETE_RECORDS,
            Right.DEFINE_REPORTS,
        }
    ),
    Role.STATISTICIAN: frozenset({Right.VIEW, Right.EXPORT, Right.API, Right.DEFINE_REPORTS}),
}

EXPORT_PROFILES_BY_ROLE: dict[str, tuple[str, ...]] = {
    Role.DATA_MANAGER: ("full", "limited", "deidentified"),
    Role.STATISTICIAN: ("deidentified",),
    Role.COORDINATOR: ("limited", "deidentified"),
}


@dataclass(frozen=True)
class Scope:
    """What one user may do in one project."""

    user: object
    project: Project
    role: str
    site: Site | None  # None: all sites
    extra_rights: frozenset[Right] = frozenset()
    form_rights: tuple[tuple[str, str], ...] = ()  # per-instrument overrides: (instrument, none|read|edit)

    @property
    def all_sites(self) -> bool:
        return self.site is None

    @property
    def rights(self) -> frozenset[Right]:
        return ROLE_RIGHTS.get(self.role, frozenset()) | self.extra_rights

    @property
    def right_names(self) -> frozenset[str]:
        """The rights as plain strings, for templates (`{% if "lock" in scope.right_names %}`)."""
        return frozenset(str(r) for r in self.rights)

    def can(self, right: Right) -> bool:
        return right in self.rights

    def require(self, right: Right) -> None:
        """Refuse an action the role lacks. 404 rather than 403, so nothing about the project leaks."""
        if not self.can(right):
            raise Http404("not found")

    def form_right(self, instrument: str) -> str:
        """'edit', 'read' or 'none' for one instrument: the role's default unless the membership overrides it."""
        override = dict(self.form_rights).get(instrument)
        default = "edit" if self.can(Right.ENTER_DATA) else ("read" if self.can(Right.VIEW) else "none")
        if override == "edit" and not self.can(Right.ENTER_DATA):
            return "read"  # a form right never lifts a read-only role to data entry
        return override if override in ("none", "read", "edit") else default

    def can_read_form(self, instrument: str) -> bool:
        return self.form_right(instrument) != "none"

    def can_edit_form(self, instrument: str) -> bool:
        return self.form_right(instrument) == "edit"

    def sites(self) -> QuerySet[Site]:
        sites = Site.objects.filter(project=self.project)
        return sites if self.site is None else sites.filter(pk=self.site.pk)

    def records(self) -> QuerySet[Record]:
        records = Record.objects.filter(project=self.project)
        return records if self.site is None else records.filter(site=self.site)

    def records_sql(self, alias: str) -> tuple[str, list]:
        """The rule of `records()` as a SQL condition on the record table named `alias`, with its parameters:
        for the few hand-written statements of hot pages (registry/services/save_sql.py)."""
        if self.site is None:
            return f"{alias}.project_id = %s", [self.project.pk]
        return f"{alias}.project_id = %s AND {alias}.site_id = %s", [self.project.pk, self.site.pk]

    def export_profiles(self) -> tuple[str, ...]:
        profiles = EXPORT_PROFILES_BY_ROLE.get(self.role, ())
        if Right.VIEW_IDENTIFIERS in self.extra_rights and "full" not in profiles:
            profiles = ("full", "limited", *profiles)
        return profiles if self.can(Right.EXPORT) else ()


def scope_for(user, project: Project) -> Scope | None:
    """The user's scope in the project, or None when the user has no access to it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    membership = Membership.objects.filter(user=user, project=project).select_related("site").first()
    if membership is not None:
        return _scope_of(user, project, membership)
    if user.is_superuser:
        return Scope(user=user, project=project, role=Role.DATA_MANAGER, site=None)
    return None


def _scope_of(user, project: Project, membership: Membership) -> Scope:
    extra = frozenset(Right(r) for r in membership.extra_rights or () if r in Right._value2member_map_)
    form_rights = tuple(sorted((str(k), str(v)) for k, v in (membership.form_rights or {}).items()))
    return Scope(user=user, project=project, role=membership.role, site=membership.site, extra_rights=extra,
                 form_rights=form_rights)  # fmt: skip


def project_scope_or_404(user, project_code: str, right: Right = Right.VIEW) -> Scope:
    scope = None
    if getattr(user, "is_authenticated", False) and user.is_active:
        # Every page starts here: one query finds the membership with its project and site.
        membership = _membership(user, project_code)
        if membership is not None:
            scope = _scope_of(user, membership.project, membership)
    if scope is None and getattr(user, "is_superuser", False):
        project = Project.objects.filter(code=project_code).first()
        scope = scope_for(user, project) if project is not None else None
    if scope is None:
        raise Http404("not found")
    scope.require(right)
    return scope


@cache
def _membership_sql(one_project: bool) -> str:
    m, p, s = columns(Membership), columns(Project), columns(Site)
    return (
        f"SELECT {m.select('m')}, {p.select('p')}, {s.select('s')} FROM registry_membership m "  # noqa: S608 - model columns, placeholders
        "JOIN crf_project p ON p.id = m.project_id LEFT JOIN registry_site s ON s.id = m.site_id "
        "WHERE m.user_id = %s" + (" AND p.code = %s" if one_project else " ORDER BY p.code")
    )


# The user's memberships read in this request, by project code: kept on the request's user object.
_READ = "_registry_memberships"


def memberships(user, *, keep: bool = False) -> dict[str, Membership]:
    """Every membership of the user, with its project and site, by project code.

    `keep`: kept on the user object, for a request's user only (it lives as long as the request). The
    second-factor check reads them on every page of a user who has not given a code, and the project's
    page then finds its scope there instead of reading it again.
    """
    found = getattr(user, _READ, None)
    if found is None:
        if not sql_rows.enabled():
            rows = Membership.objects.filter(user=user).select_related("project", "site").order_by("project__code")
            found = {m.project.code: m for m in rows}
        else:
            found = {m.project.code: m for m in _memberships_sql(user, None)}
        if keep:
            setattr(user, _READ, found)
    return found


def _membership(user, project_code: str) -> Membership | None:
    """The user's membership of the project, with its project and site (None: not a member)."""
    read = getattr(user, _READ, None)
    if read is not None:
        return read.get(project_code)
    if not sql_rows.enabled():
        found = Membership.objects.filter(user=user, project__code=project_code)
        return found.select_related("project", "site").first()
    found = _memberships_sql(user, project_code)  # at most one: a membership is unique per user and project
    return found[0] if found else None


def _memberships_sql(user, project_code: str | None) -> list[Membership]:
    # Written out: compiling this ORM query cost more than running it, on every page (registry/sql_rows.py).
    with connection.cursor() as cursor:
        params = [user.pk] if project_code is None else [user.pk, project_code]
        sql_rows.execute(cursor, _membership_sql(project_code is not None), params)
        rows = cursor.fetchall()
    m, p, s = columns(Membership), columns(Project), columns(Site)
    found = []
    for row in rows:
        membership_values, project_values, site_values = split(row, m, p, s)
        membership = m.build(membership_values)
        attach(membership, "project", p.build(project_values))
        attach(membership, "site", s.build(site_values) if site_values[0] is not None else None)
        found.append(membership)
    return found


def record_or_404(scope: Scope, record_id: str) -> Record:
    record = scope.records().filter(record_id=record_id).select_related("site").first()
    if record is None:
        raise Http404("not found")
    return record
