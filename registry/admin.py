"""The Django admin for registry data goes through the same access scope as every page.

Staff users see only records of projects where their membership allows it (site-limited members
see their site); the audit trail is read-only for everyone; clinical values are changed through
the data-entry pages, which validate and audit, never here.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet

from registry.access import ROLE_RIGHTS, Right
from registry.models import AuditEvent, FormInstance, Job, Membership, Record, Site


def visible_records(user) -> QuerySet[Record]:
    if user.is_superuser:
        return Record.objects.all()
    condition = Q(pk__in=[])
    for m in Membership.objects.filter(user=user):
        if Right.VIEW not in ROLE_RIGHTS.get(m.role, frozenset()):
            continue
        part = Q(project_id=m.project_id)
        if m.site_id is not None:
            part &= Q(site_id=m.site_id)
        condition |= part
    return Record.objects.filter(condition)


def managed_projects(user) -> list[int]:
    return [m.project_id for m in Membership.objects.filter(user=user)
            if Right.MANAGE_USERS in ROLE_RIGHTS.get(m.role, frozenset())]  # fmt: skip


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff


@admin.register(Record)
class RecordAdmin(ReadOnly):
    list_display = ("record_id", "project", "site", "locked", "created_at")
    list_filter = ("project", "site", "locked")
    search_fields = ("record_id",)

    def get_queryset(self, request):
        return visible_records(request.user).select_related("project", "site")


@admin.register(FormInstance)
class FormInstanceAdmin(ReadOnly):
    list_display = ("record", "event", "instrument", "instance", "status", "locked", "updated_at")
    list_filter = ("status", "locked", "instrument")
    search_fields = ("record__record_id",)

    def get_queryset(self, request):
        return FormInstance.objects.filter(record__in=visible_records(request.user)).select_related("record")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ("chain", "sequence", "at", "username", "action", "record_id", "field")
    list_filter = ("action", "source")
    search_fields = ("record_id", "username", "field")

    def get_queryset(self, request):
        rows = AuditEvent.objects.all()
        if request.user.is_superuser:
            return rows
        records = visible_records(request.user)
        return rows.filter(project_id__in=records.values("project_id"), record_id__in=records.values("record_id"))


@admin.register(Site)
class SiteAdmin(ReadOnly):
    list_display = ("code", "name", "record_prefix", "project")

    def get_queryset(self, request):
        sites = Site.objects.all()
        return sites if request.user.is_superuser else sites.filter(project_id__in=managed_projects(request.user))


@admin.register(Membership)
class MembershipAdmin(ReadOnly):
    list_display = ("user", "project", "role", "site")

    def get_queryset(self, request):
        rows = Membership.objects.select_related("user", "project", "site")
        return rows if request.user.is_superuser else rows.filter(project_id__in=managed_projects(request.user))


@admin.register(Job)
class JobAdmin(ReadOnly):
    list_display = ("kind", "project", "status", "progress", "total", "created_at")

    def get_queryset(self, request):
        jobs = Job.objects.all()
        return jobs if request.user.is_superuser else jobs.filter(created_by=request.user)
