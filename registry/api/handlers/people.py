"""`dag`, `userDagMapping` and `user` exports: sites and members the caller may see."""

from __future__ import annotations

from django.http import HttpResponse

from registry.access import ROLE_RIGHTS, Right
from registry.api.call import ApiCall
from registry.api.errors import forbidden
from registry.api.renderers import table_response
from registry.models import Membership, Role

IN_DAG = (
    "You do not have permission to export/import/delete Data Access Groups because you have been assigned to a "
    "Data Access Group."
)


def _require_all_sites(call: ApiCall) -> None:
    if not call.scope.all_sites:
        raise forbidden(IN_DAG)
    call.require(Right.MANAGE_USERS)


def dag_export(call: ApiCall) -> HttpResponse:
    _require_all_sites(call)
    rows = [{"data_access_group_name": s.name, "unique_group_name": s.code, "data_access_group_id": s.pk}
            for s in call.scope.sites().order_by("code")]  # fmt: skip
    return table_response(call.fmt, ("data_access_group_name", "unique_group_name", "data_access_group_id"), rows)


def user_dag_export(call: ApiCall) -> HttpResponse:
    _require_all_sites(call)
    members = Membership.objects.filter(project=call.project).select_related("user", "site").order_by("user__username")
    rows = [{"username": m.user.username, "redcap_data_access_group": m.site.code if m.site else ""} for m in members]
    return table_response(call.fmt, ("username", "redcap_data_access_group"), rows)


USER_KEYS = (
    "username", "email", "firstname", "lastname", "expiration", "data_access_group", "data_access_group_id",
    "design", "alerts", "user_rights", "data_access_groups", "reports", "stats_and_charts",
    "manage_survey_participants", "calendar", "data_import_tool", "data_comparison_tool", "logging", "email_logging",
    "file_repository", "data_quality_create", "data_quality_execute", "api_export", "api_import", "api_modules",
    "mobile_app", "mobile_app_download_data", "record_create", "record_rename", "record_delete",
    "lock_records_all_forms", "lock_records", "lock_records_customization", "forms", "forms_export",
)  # fmt: skip


def _user_row(m: Membership, instruments: list[str]) -> dict:
    rights = ROLE_RIGHTS.get(m.role, frozenset()) | {
        Right(r) for r in m.extra_rights or () if r in Right._value2member_map_
    }

    def has(right: Right) -> int:
        return int(right in rights)

    # REDCap's export rights per form: 1 full, 2 de-identified, 0 none.
    form_level = (1 if Right.ENTER_DATA in rights else 2) if Right.VIEW in rights else 0
    export_level = (1 if Right.VIEW_IDENTIFIERS in rights else 2) if Right.EXPORT in rights else 0
    return {
        "username": m.user.username, "email": m.user.email, "firstname": m.user.first_name,
        "lastname": m.user.last_name, "expiration": "", "data_access_group": m.site.code if m.site else "",
        "data_access_group_id": m.site.pk if m.site else "", "design": has(Right.DESIGN), "alerts": 0,
        "user_rights": has(Right.MANAGE_USERS), "data_access_groups": has(Right.MANAGE_USERS),
        "reports": has(Right.VIEW),
        "stats_and_charts": has(Right.VIEW), "manage_survey_participants": 0, "calendar": 0,
        "data_import_tool": has(Right.ENTER_DATA), "data_comparison_tool": 0, "logging": has(Right.VIEW_AUDIT),
        "email_logging": 0, "file_repository": 0, "data_quality_create": has(Right.RUN_QUALITY),
        "data_quality_execute": has(Right.RUN_QUALITY), "api_export": int(Right.API in rights and Right.VIEW in rights),
        "api_import": int(Right.API in rights and Right.ENTER_DATA in rights), "api_modules": 0, "mobile_app": 0,
        "mobile_app_download_data": 0, "record_create": has(Right.ENTER_DATA), "record_rename": 0,
        "record_delete": has(Right.DELETE_RECORDS), "lock_records_all_forms": has(Right.LOCK),
        "lock_records": has(Right.LOCK), "lock_records_customization": 0,
        "forms": {name: form_level for name in instruments},
        "forms_export": {name: export_level for name in instruments},
        "role": Role(m.role).label if m.role in Role.values else m.role,
    }  # fmt: skip


def user_export(call: ApiCall) -> HttpResponse:
    call.require(Right.MANAGE_USERS)
    instruments = [name for name, _ in call.design().instruments] if call.project.current_version_id else []
    members = Membership.objects.filter(project=call.project).select_related("user", "site").order_by("user__username")
    if not call.scope.all_sites:
        members = members.filter(site=call.scope.site)
    rows = [_user_row(m, instruments) for m in members]
    if call.fmt == "csv":
        for row in rows:
            for key in ("forms", "forms_export"):
                row[key] = ",".join(f"{k}:{v}" for k, v in row[key].items())
    return table_response(call.fmt, USER_KEYS, rows)
