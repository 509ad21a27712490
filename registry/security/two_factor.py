"""TOTP two-factor login (RFC 6238, 30-second steps, 6 digits): enrolment, verification, project requirements.

A user needs a second factor in a session when she has a confirmed authenticator, or when a project
requires it for her role there (`Project.settings["two_factor_roles"]`, a list of role names). The
session records that the code was given; every new login starts unverified.
"""

from __future__ import annotations

import hmac
from enum import StrEnum

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry.access import Right, Scope, memberships
from registry.models import AuditSource, Role
from registry.security import lockout
from registry.security.models import TotpDevice
from registry.services.audit import Change, audit_append

VERIFIED = "security.otp_verified"
FAILED = "security.otp_failures"
SETTING = "two_factor_roles"
VALID_WINDOW = 1  # one step either side: phones whose clocks are up to 30 s off still work
MAX_FAILURES_PER_SESSION = 5


class Need(StrEnum):
    VERIFY = "verify"  # has an authenticator: type a code
    ENROL = "enrol"  # a project requires one and she has none yet


class TwoFactorError(Exception):
    pass


def mark_unverified(session) -> None:
    session[VERIFIED] = False
    session.pop(FAILED, None)


def is_verified(session) -> bool:
    return bool(session.get(VERIFIED))


def requiring_projects(user, *, keep: bool = False) -> list[str]:
    """Codes of the projects that require a second factor for the user's role there (`keep`: see memberships)."""
    found = memberships(user, keep=keep)
    return sorted(code for code, m in found.items() if m.role in (m.project.settings or {}).get(SETTING, ()))


def confirmed_device(user) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def need(user, *, keep: bool = False) -> Need | None:
    if confirmed_device(user) is not None:
        return Need.VERIFY
    if requiring_projects(user, keep=keep):
        return Need.ENROL
    return None


def _matching_step(secret: str, code: str) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(timezone.now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_code(device: TotpDevice, code: str) -> bool:
    """Accept a code once: the conditional UPDATE refuses a step already used, even by a concurrent request."""
    step = _matching_step(device.secret, code)
    if step is None:
        return False
    fresh = Q(last_step__isnull=True) | Q(last_step__lt=step)
    return TotpDevice.objects.filter(fresh, pk=device.pk).update(last_step=step) == 1


def provisioning(user) -> TotpDevice:
    """The user's unconfirmed device with a new secret (a confirmed one is never replaced here)."""
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed:
        raise TwoFactorError("an authenticator is already set up")
    if device is None:
        device = TotpDevice.objects.create(user=user, secret=pyotp.random_base32())
    return device


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.get_username(), issuer_name=settings.TWO_FACTOR_ISSUER
    )


def qr_svg(device: TotpDevice) -> str:
    # Inline SVG with no style attribute, so the strict Content-Security-Policy allows it.
    return segno.make(provisioning_uri(device), error="m").svg_inline(scale=4, dark="#000", light="#fff")


@transaction.atomic
def confirm(*, user, code: str, session=None) -> TotpDevice:
    """Finish enrolment with a first code from the app."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise TwoFactorError("start the set-up again")
    if not accept_code(device, code):
        raise TwoFactorError("that code is not right: check the app and the phone's clock")
    device.refresh_from_db()
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    audit_append(project=None, action="two_factor_enrolled", changes=[Change(details={})], user=user)
    if session is not None:
        session[VERIFIED] = True
    return device


def verify(*, user, code: str, session, address: str = "") -> bool:
    """Check a login code. Wrong codes count towards the username's lock-out like wrong passwords."""
    device = confirmed_device(user)
    if device is not None and accept_code(device, code):
        session[VERIFIED] = True
        session.pop(FAILED, None)
        audit_append(project=None, action="two_factor_verified", changes=[Change(details={"ip": address})], user=user)
        return True
    session[FAILED] = session.get(FAILED, 0) + 1
    audit_append(project=None, action="two_factor_failed", changes=[Change(details={"ip": address})], user=user)
    lockout.record_failure(user.get_username(), address)
    return False


def too_many_failures(session) -> bool:
    return session.get(FAILED, 0) >= MAX_FAILURES_PER_SESSION


@transaction.atomic
def remove_device(*, user, by=None, reason: str = "", source: str = AuditSource.WEB) -> bool:
    """Remove an authenticator (a lost phone); the user enrols again at the next login if a project requires it."""
    deleted, _ = TotpDevice.objects.filter(user=user).delete()
    if deleted:
        audit_append(project=None, action="two_factor_removed", changes=[Change(details={"username": user.username})],
                     user=by, reason=reason, source=source)  # fmt: skip
    return bool(deleted)


def two_factor_roles(project) -> list[str]:
    return [role for role in (project.settings or {}).get(SETTING, []) if role in Role.values]


@transaction.atomic
def set_two_factor_roles(*, scope: Scope, roles: list[str], source: str = AuditSource.WEB) -> list[str]:
    """Require a second factor for these roles in the project (a permission change: audited)."""
    scope.require(Right.MANAGE_USERS)
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise TwoFactorError(f"not a role: {', '.join(unknown)}")
    project = type(scope.project).objects.select_for_update().get(pk=scope.project.pk)
    old = two_factor_roles(project)
    new = [r for r in Role.values if r in roles]
    if new != old:
        project.settings = {**(project.settings or {}), SETTING: new}
        project.save(update_fields=["settings"])
        audit_append(project=project, action="two_factor_roles_changed",
                     changes=[Change(field=SETTING, old=",".join(old), new=",".join(new))],
                     user=scope.user, source=source)  # fmt: skip
    scope.project.settings = project.settings
    return new
