"""`version`, `project` and `generateNextRecordName`."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

from registry.api.call import ApiCall
from registry.api.errors import ApiError
from registry.api.renderers import object_response, text_response
from registry.models import Record, SiteCounter
from registry.services.records import format_record_id

# R clients gate features on the version, so it reads like a real REDCap release.
DEFAULT_VERSION = "14.5.10"


def version_export(call: ApiCall) -> HttpResponse:
    return text_response(str(getattr(settings, "REDCAP_API_VERSION", DEFAULT_VERSION)))


def project_export(call: ApiCall) -> HttpResponse:
    call.require_export()
    project = call.project
    design = call.design() if project.current_version_id else None
    repeating = bool(design and (design.repeating_instruments or design.repeating_events))
    missing = " | ".join(f"{code}, {label}" for code, label in design.missing_codes.items()) if design else ""
    info = {
        "project_id": project.pk,
        "project_title": project.title,
        "creation_time": project.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "production_time": "",
        "in_production": 0,
        "project_language": "English",
        "purpose": 2,  # research
        "purpose_other": "",
        "project_notes": "",
        "custom_record_label": "",
        "secondary_unique_field": "",
        "is_longitudinal": int(project.is_longitudinal),
        "has_repeating_instruments_or_events": int(repeating),
        "surveys_enabled": 0,
        "scheduling_enabled": 0,
        "record_autonumbering_enabled": 1,
        "randomization_enabled": 0,
        "ddp_enabled": 0,
        "project_irb_number": "",
        "project_grant_number": "",
        "project_pi_firstname": "",
        "project_pi_lastname": "",
        "display_today_now_button": 1,
        "missing_data_codes": missing,
        "external_modules": "",
        "bypass_branching_erase_field_prompt": 0,
    }
    return object_response(call.fmt, info)


def next_record_name(call: ApiCall) -> HttpResponse:
    """The id the caller's site would give its next record (a site user's own site, else `dag` or the first)."""
    call.require_export()
    site = call.scope.site
    if site is None:
        sites = call.scope.sites()
        dag = call.params.get("dag").strip()
        site = sites.filter(code=dag).first() if dag else sites.first()
        if site is None:
            raise ApiError("The project has no site to number records at.")
    counter = SiteCounter.objects.filter(site=site).first()
    number = counter.next_number if counter else 1
    taken = set(Record.objects.filter(project=call.project, site=site).values_list("record_id", flat=True))
    while (
        format_record_id(site, number) in taken
        or Record.objects.filter(project=call.project, record_id=format_record_id(site, number)).exists()
    ):
        number += 1
    return text_response(format_record_id(site, number))
