"""API errors in the client's format: JSON `{"error": ...}`, CSV `ERROR: ...`, XML `<hash><error>`.

REDCap clients decide success from the body, not the status (PyCap 2.x never looks at it), so an
HTML error page would reach a statistician as a JSON parse error. Every failure goes through here.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from django.http import HttpResponse

DEFAULT_MESSAGES = {
    400: "There were errors with your request. If you are sending data, then it might be due to the data being "
    "misformatted.",
    403: "You do not have permissions to use the API",
    404: "The requested URI was not found.",
    413: "The request is too large.",
    429: "Too many API requests: wait and try again.",
    500: "The server encountered an error processing your request.",
    501: "The requested method is not implemented.",
}


class ApiError(Exception):
    """A refused call; rendered in the error format of the request."""

    def __init__(self, message: str = "", status: int = 400, headers: dict[str, str] | None = None):
        self.message = message or DEFAULT_MESSAGES.get(status, DEFAULT_MESSAGES[400])
        self.status = status
        self.headers = headers or {}
        super().__init__(self.message)


def forbidden(message: str = "") -> ApiError:
    return ApiError(message, 403)


CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}


def error_body(message: str, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"error": message}, ensure_ascii=False)
    if fmt == "csv":
        return f"ERROR: {message}"
    return f'<?xml version="1.0" encoding="UTF-8" ?><hash><error>{escape(message)}</error></hash>'


def error_response(error: ApiError, fmt: str) -> HttpResponse:
    fmt = fmt if fmt in CONTENT_TYPES else "xml"
    response = HttpResponse(error_body(error.message, fmt), status=error.status, content_type=CONTENT_TYPES[fmt])
    for name, value in error.headers.items():
        response[name] = value
    return response
