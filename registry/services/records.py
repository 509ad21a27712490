"""Enrolling records: ids auto-numbered per site with the site's prefix, unique and gapless."""

from __future__ import annotations

from django.db import transaction

from registry.access import Right, Scope
from registry.models import AuditSource, Record, Site, SiteCounter
from registry.services.audit import Change, audit_append


class EnrollmentError(Exception):
    pass


def format_record_id(site: Site, number: int) -> str:
    return f"{site.record_prefix}-{number:04d}"


@transaction.atomic
def record_create(*, scope: Scope, site: Site | None = None, source: str = AuditSource.WEB) -> Record:
    """Create the next record at a site the scope covers.

    The site's counter row is locked for the transaction, so concurrent enrolments at one site
    queue up and get consecutive numbers; a rolled-back enrolment gives its number back.
    """
    scope.require(Right.ENTER_DATA)
    if site is None:
        if scope.site is None:
            raise EnrollmentError("choose the site of the new record")
        site = scope.site
    if not scope.sites().filter(pk=site.pk).exists():
        raise EnrollmentError("you cannot enrol records at that site")
    SiteCounter.objects.get_or_create(site=site)
    counter = SiteCounter.objects.select_for_update().get(site=site)
    number = counter.next_number
    record_id = format_record_id(site, number)
    while Record.objects.filter(project=scope.project, record_id=record_id).exists():
        number += 1  # an imported record may already hold the id
        record_id = format_record_id(site, number)
    counter.next_number = number + 1
    counter.save(update_fields=["next_number"])
    record = Record.objects.create(project=scope.project, site=site, record_id=record_id, created_by=scope.user)
    audit_append(
        project=scope.project,
        action="record_created",
        changes=[Change(record_id=record_id, details={"site": site.code})],
        user=scope.user,
        source=source,
    )
    return record
