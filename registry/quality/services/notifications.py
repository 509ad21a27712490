"""In-app notifications and the daily e-mail digest. Texts name records and fields, never values."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from registry.models import Membership, Role
from registry.quality.models import Notification, Query


def notify(users: Iterable, *, query: Query, text: str, exclude=None) -> None:
    rows = [
        Notification(user=user, project_id=query.project_id, query=query, text=text[:500])
        for user in {u.pk: u for u in users if u is not None}.values()
        if exclude is None or user.pk != getattr(exclude, "pk", None)
    ]
    Notification.objects.bulk_create(rows)


def site_coordinators(query: Query) -> list:
    user_ids = Membership.objects.filter(project_id=query.project_id, role=Role.COORDINATOR,
                                         site_id=query.record.site_id).values_list("user_id", flat=True)  # fmt: skip
    return list(get_user_model().objects.filter(pk__in=user_ids, is_active=True))


def unread(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, read_at__isnull=True).select_related("project")[:100])


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())


def send_daily_digests() -> int:
    """One e-mail per user with notifications not yet e-mailed; returns the number of e-mails sent."""
    sent = 0
    pending = Notification.objects.filter(emailed_at__isnull=True).select_related("user", "project")
    by_user: dict[int, list[Notification]] = {}
    for note in pending.order_by("user_id", "created_at"):
        by_user.setdefault(note.user_id, []).append(note)
    for notes in by_user.values():
        user = notes[0].user
        if not user.email or not user.is_active:
            continue
        lines = [f"- [{n.project.code}] {n.text}" for n in notes]
        send_mail(
            subject=f"Data queries: {len(notes)} update(s)",
            message="Updates on data queries since the last digest:\n\n" + "\n".join(lines) + "\n",
            from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
            recipient_list=[user.email],
        )
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=timezone.now())
        sent += 1
    return sent
