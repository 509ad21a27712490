"""Holds a logged-in session at the second-factor step until the code is given.

In middleware rather than only in the login view, so every way into a session (the login page,
the admin's login page, a password reset) stops at the same place.
"""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from registry.security import two_factor

# Pages a half-logged-in user may still open in each state.
OPEN_IN = {
    two_factor.Need.VERIFY: ("security:two-factor-verify", "logout"),
    two_factor.Need.ENROL: ("security:two-factor-setup", "logout"),
}
TARGET = {two_factor.Need.VERIFY: "security:two-factor-verify", two_factor.Need.ENROL: "security:two-factor-setup"}


class TwoFactorMiddleware:
    """After AuthenticationMiddleware and SessionTimeoutMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and not two_factor.is_verified(request.session):
            # keep=True: the memberships it reads serve the page's project scope (registry.access).
            need = two_factor.need(request.user, keep=True)
            if need is not None and request.path not in {reverse(name) for name in OPEN_IN[need]}:
                target = reverse(TARGET[need])
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)
