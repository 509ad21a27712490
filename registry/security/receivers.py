"""Failed logins feed the lock-out counters; a new login starts the session clocks and needs a fresh second factor."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from registry.security import lockout, session_clock, two_factor


@receiver(user_login_failed)
def count_failed_login(sender, credentials, request=None, **kwargs):
    lockout.record_failure(str(credentials.get("username", "") or ""), lockout.client_address(request))


@receiver(user_logged_in)
def start_session(sender, request, user, **kwargs):
    lockout.record_success(user.get_username())
    if request is not None and hasattr(request, "session"):
        session_clock.start(request.session)
        two_factor.mark_unverified(request.session)
