"""Security headers Django's SecurityMiddleware does not set: Content-Security-Policy, Permissions-Policy,
and no caching of pages that belong to a logged-in user."""

from __future__ import annotations

from django.conf import settings


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's technical error pages (DEBUG only) are made of inline script and style.
        debug_page = settings.DEBUG and response.status_code >= 400
        if settings.CONTENT_SECURITY_POLICY and not debug_page:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response.headers:
            # Patient data must not stay in a shared browser's or proxy's cache after logout.
            response.headers["Cache-Control"] = "no-store"
        return response
