"""Admin: projects are editable; versions and everything in them are read-only snapshots."""

from django.contrib import admin

from forms.models import (
    Arm,
    Event,
    EventInstrument,
    Field,
    Instrument,
    MissingDataCode,
    Project,
    ProjectVersion,
    RepeatingSetup,
    ValidationType,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Versions are immutable: change them by importing a new version, never by editing rows."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "is_longitudinal", "current_version", "created_at")
    search_fields = ("code", "title")
    readonly_fields = ("current_version", "created_at")


@admin.register(ProjectVersion)
class ProjectVersionAdmin(ReadOnlyAdmin):
    list_display = ("project", "number", "created_at", "created_by", "source_name", "note")
    list_filter = ("project",)


@admin.register(Instrument)
class InstrumentAdmin(ReadOnlyAdmin):
    list_display = ("name", "label", "version", "order")
    list_filter = ("version__project",)


@admin.register(Field)
class FieldAdmin(ReadOnlyAdmin):
    list_display = ("name", "instrument", "field_type", "validation", "version", "order")
    list_filter = ("field_type", "version__project")
    search_fields = ("name", "label")
    list_select_related = ("instrument", "version__project")


@admin.register(Arm)
class ArmAdmin(ReadOnlyAdmin):
    list_display = ("number", "name", "version")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("unique_name", "label", "arm", "day_offset", "version")


@admin.register(EventInstrument)
class EventInstrumentAdmin(ReadOnlyAdmin):
    list_display = ("event", "instrument", "version")


@admin.register(RepeatingSetup)
class RepeatingSetupAdmin(ReadOnlyAdmin):
    list_display = ("event", "instrument", "custom_label", "version")


@admin.register(MissingDataCode)
class MissingDataCodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "label", "version")


@admin.register(ValidationType)
class ValidationTypeAdmin(admin.ModelAdmin):
    """Project-defined validations stay editable: placeholders from an import need their pattern filled in."""

    list_display = ("name", "project", "label", "data_type", "regex")
    list_filter = ("project",)
