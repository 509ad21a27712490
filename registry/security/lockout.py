"""Login throttling: failed logins counted per username and per client address, locks, audited unlocks.

A username or address with `LOGIN_FAILURES_PER_USER` / `LOGIN_FAILURES_PER_ADDRESS` failures within
`LOGIN_FAILURE_WINDOW_MINUTES` is locked for `LOGIN_LOCKOUT_MINUTES` (0: until someone unlocks it).
Locks are kept for any typed username, existing or not, so their messages reveal no account names.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.models import AuditSource
from registry.security.models import LoginLock
from registry.services.audit import Change, audit_append


def client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a proxy rewrites it.
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "")[:150]


def _keys(username: str, address: str) -> list[tuple[str, str, int]]:
    keys = []
    if username:
        keys.append((LoginLock.Kind.USER, username[:150], settings.LOGIN_FAILURES_PER_USER))
    if address:
        keys.append((LoginLock.Kind.ADDRESS, address, settings.LOGIN_FAILURES_PER_ADDRESS))
    return keys


def active_lock(username: str, address: str = "") -> LoginLock | None:
    """The lock that refuses this login now, if any."""
    now = timezone.now()
    for kind, key, _limit in _keys(username, address):
        lock = LoginLock.objects.filter(kind=kind, key=key, locked_at__isnull=False).first()
        if lock is not None and lock.is_active(now):
            return lock
    return None


@transaction.atomic
def record_failure(username: str, address: str = "") -> list[LoginLock]:
    """Count one failed login; returns the locks this failure engaged (audited as `login_locked`)."""
    now = timezone.now()
    window = timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    engaged = []
    for kind, key, limit in _keys(username, address):
        LoginLock.objects.get_or_create(kind=kind, key=key)
        lock = LoginLock.objects.select_for_update().get(kind=kind, key=key)
        if lock.is_active(now):
            continue  # attempts during a lock do not extend it, so the lock ends when it said it would
        if lock.locked_at is not None or now - lock.window_started_at > window:
            lock.failures, lock.window_started_at, lock.locked_at, lock.locked_until = 0, now, None, None
        lock.failures += 1
        if lock.failures >= limit:
            minutes = settings.LOGIN_LOCKOUT_MINUTES
            lock.locked_at = now
            lock.locked_until = now + timedelta(minutes=minutes) if minutes else None
            engaged.append(lock)
            audit_append(project=None, action="login_locked", source=AuditSource.SYSTEM, changes=[Change(details={
                "kind": kind, "key": key, "failures": lock.failures,
                "until": lock.locked_until.isoformat() if lock.locked_until else "unlocked by hand",
            })])  # fmt: skip
        lock.save()
    return engaged


def record_success(username: str) -> None:
    """A good login forgets the username's earlier failures. Address counts stay: one valid account
    must not let an address keep guessing other accounts' passwords."""
    LoginLock.objects.filter(kind=LoginLock.Kind.USER, key=username[:150], locked_at__isnull=True).delete()


def active_locks() -> list[LoginLock]:
    now = timezone.now()
    return [lock for lock in LoginLock.objects.filter(locked_at__isnull=False) if lock.is_active(now)]


class UnlockError(Exception):
    pass


@transaction.atomic
def unlock(*, kind: str, key: str, reason: str, user=None, source: str = AuditSource.WEB) -> LoginLock:
    """Lift a lock and reset its count, with the reason in the system audit chain."""
    if not reason.strip():
        raise UnlockError("give a reason for the unlock")
    lock = LoginLock.objects.select_for_update().filter(kind=kind, key=key).first()
    if lock is None or not lock.is_active():
        raise UnlockError(f"{kind} {key!r} is not locked")
    lock.failures, lock.locked_at, lock.locked_until, lock.window_started_at = 0, None, None, timezone.now()
    lock.save()
    audit_append(project=None, action="login_unlocked", changes=[Change(details={"kind": kind, "key": key})],
                 user=user, source=source, reason=reason.strip())  # fmt: skip
    return lock
