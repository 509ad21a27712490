"""Django's model backend, refusing any password check while the username or client address is locked."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from registry.security.lockout import active_lock, client_address


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # PermissionDenied makes Django stop and send user_login_failed, so a locked account cannot be
        # opened even with the right password, and the attempt still counts and is audited.
        if username and active_lock(str(username), client_address(request)) is not None:
            raise PermissionDenied("locked")
        return super().authenticate(request, username=username, password=password, **kwargs)
