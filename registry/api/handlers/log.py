"""`content=log`: the audit trail as REDCap's logging export, one entry per action.

`details` lists the changed fields as `field = 'new' (was 'old')`. Values of identifier fields are
hidden from callers without the right to see identifiers.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from registry.access import Right
from registry.api.call import ApiCall
from registry.api.errors import ApiError
from registry.api.renderers import table_response
from registry.models import AuditEvent
from registry.services.audit import chain_of

LOG_TYPES = {
    "record": Q(action__in=("record_created", "data_change", "record_deleted", "form_deleted")),
    "record_add": Q(action="record_created"),
    "record_edit": Q(action="data_change"),
    "record_delete": Q(action__in=("record_deleted", "form_deleted")),
    "lock_record": Q(action__icontains="lock"),
    "export": Q(action__endswith="_export"),
    "user": Q(action__icontains="member") | Q(action__icontains="token") | Q(action__icontains="user"),
    "page_view": Q(pk__in=[]),
}
HIDDEN = "[identifier]"


def _when(text: str, name: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return timezone.make_aware(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ApiError(f"The {name} parameter is not a date and time (YYYY-MM-DD HH:MM:SS)")


def _describe(action: str, record_id: str) -> str:
    return {
        "record_created": f"Create record {record_id}",
        "data_change": f"Update record {record_id}",
        "record_deleted": f"Delete record {record_id}",
        "form_deleted": f"Delete form of record {record_id}",
    }.get(action, action.replace("_", " ").capitalize() + (f" {record_id}" if record_id else ""))


def _quote(value: str | None) -> str:
    return "'" + (value or "").replace("'", "\\'") + "'"


def log_export(call: ApiCall) -> HttpResponse:
    call.require(Right.VIEW_AUDIT, message="You do not have Logging privileges")
    params = call.params
    rows = AuditEvent.objects.filter(chain=chain_of(call.project))
    log_type = params.get("logtype").strip()
    if log_type:
        rows = rows.filter(LOG_TYPES.get(log_type, Q(action__in=())) if log_type != "manage" else ~LOG_TYPES["record"])
    if params.get("user").strip():
        rows = rows.filter(username=params.get("user").strip())
    if params.get("record").strip():
        rows = rows.filter(record_id=params.get("record").strip())
    if params.get("dag").strip():
        site = call.scope.sites().filter(code=params.get("dag").strip()).first()
        if site is None:
            raise ApiError("The dag parameter is not a data access group you can see")
        rows = rows.filter(record_id__in=site.records.values("record_id"))
    if not call.scope.all_sites:
        rows = rows.filter(record_id__in=call.scope.records().values("record_id"))
    begin, end = _when(params.get("beginTime"), "beginTime"), _when(params.get("endTime"), "endTime")
    if begin:
        rows = rows.filter(at__gte=begin)
    if end:
        rows = rows.filter(at__lte=end)
    design = call.design() if call.project.current_version_id else None
    identifiers = set()
    if design is not None and not call.scope.can(Right.VIEW_IDENTIFIERS):
        identifiers = {f.name for f in design.field_map.values() if f.identifier}

    entries: list[dict] = []
    current_key = None
    details: list[str] = []
    reasons: set[str] = set()

    def flush() -> None:
        if current_key is not None:
            at, username, action, record_id = current_key[:4]
            entries.append({"timestamp": timezone.localtime(at).strftime("%Y-%m-%d %H:%M"), "username": username,
                            "action": _describe(action, record_id), "details": ", ".join(details),
                            "record": record_id, "reason": "; ".join(sorted(r for r in reasons if r))})  # fmt: skip

    for row in rows.order_by("-sequence").iterator(chunk_size=2000):
        key = (row.at, row.username, row.action, row.record_id, row.request_id)
        if key != current_key:
            flush()
            current_key, details, reasons = key, [], set()
        reasons.add(row.reason)
        if row.field:
            base = row.field.split("___")[0]
            old, new = (HIDDEN, HIDDEN) if base in identifiers else (row.old_value, row.new_value)
            where = f"[{row.event}]" if design is not None and design.is_longitudinal and row.event else ""
            instance = f"[instance {row.instance}]" if row.instance and row.instance > 1 else ""
            text = f"{where}{instance}{row.field} = {_quote(new)}"
            if old not in (None, ""):
                text += f" (was {_quote(old)})"
            details.insert(0, text)
        elif row.details:
            safe = {k: v for k, v in row.details.items() if isinstance(v, str | int | float)}
            details.insert(0, ", ".join(f"{k} = {_quote(str(v))}" for k, v in sorted(safe.items())))
    flush()
    return table_response(call.fmt, ("timestamp", "username", "action", "details", "record", "reason"), entries)
