"""A lost database answers 503 "try again shortly", never a 500 or a traceback.

When PostgreSQL restarts, every open connection breaks: the request that finds a broken connection fails,
Django closes that connection at the end of the request, and the next request connects afresh. This
middleware (outermost, so a failure while saving the session is caught too) turns that failure into a
clean 503 with Retry-After; nothing needs restarting once the database is back.
"""

from __future__ import annotations

import sys
from html import escape

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

MESSAGE = "The database is unavailable at the moment; nothing was saved by this request. Try again shortly."
RETRY_AFTER_SECONDS = "5"


def is_database_down(exc: BaseException | None) -> bool:
    return isinstance(exc, (OperationalError, InterfaceError))


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"error": MESSAGE}, status=503)
    else:  # no template: rendering one may itself need the database (context processors, the user)
        response = HttpResponse(
            f"<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1><p>{escape(MESSAGE)}</p>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _note_database_failure(sender, request=None, **kwargs) -> None:
    # Django turns exceptions into 500 responses inside each middleware layer; remember why it failed.
    if request is not None and is_database_down(sys.exc_info()[1]):
        request.database_down = True


got_request_exception.connect(_note_database_failure, dispatch_uid="registry.db_unavailable")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError):
            return unavailable_response(request)
        if response.status_code == 500 and getattr(request, "database_down", False):
            return unavailable_response(request)
        return response
