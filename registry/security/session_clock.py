"""Idle and absolute session timeouts, kept as two timestamps in the session itself.

Django's session expiry (SESSION_COOKIE_AGE, renewed whenever the session is saved) already ends idle sessions;
the middleware checks the same clock on the server explicitly and adds the absolute limit that
activity never extends, then logs the user out with an audit row saying which limit ended it.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

from registry.models import AuditSource
from registry.services.audit import Change, audit_append

STARTED = "security.started"
SEEN = "security.seen"
# Activity is recorded at most once a minute: the idle limit is counted in tens of minutes, and writing
# the session row (three round trips and a signed, compressed cookie value) on every request cost a
# tenth of a form save. A session may so end up to a minute before its idle limit, never after.
SEEN_EVERY = 60


def start(session, now: float | None = None) -> None:
    now = time.time() if now is None else now
    session[STARTED] = now
    session[SEEN] = now


def expired(session, now: float | None = None) -> str | None:
    """'idle' or 'absolute' when the session has outlived a limit, else None."""
    now = time.time() if now is None else now
    started, seen = session.get(STARTED), session.get(SEEN)
    if started is not None and now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
        return "absolute"
    if seen is not None and now - seen > settings.SESSION_IDLE_TIMEOUT:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            reason = expired(request.session, now)
            if reason is not None:
                user = request.user
                audit_append(project=None, action="session_expired", changes=[Change(details={"limit": reason})],
                             user=user, source=AuditSource.WEB)  # fmt: skip
                logout(request)
                messages.info(request, "Your session has ended: please log in again.")
                return redirect_to_login(request.get_full_path())
            if STARTED not in request.session:
                start(request.session, now)  # sessions opened without the login view (e.g. force_login)
            elif now - request.session.get(SEEN, 0) >= SEEN_EVERY:
                request.session[SEEN] = now  # a changed session is saved, and its cookie renewed
        return self.get_response(request)
