"""`POST /api/`: the REDCap-compatible endpoint, and the profile page listing a user's tokens.

The view is a thin dispatcher: it reads the body itself (see params.py), authenticates the token,
spends one call from the rate-limit bucket, then hands over to the handler of (content, action).
Every failure, unexpected ones included, answers in the client's error format, never HTML.
"""

from __future__ import annotations

import logging
import traceback

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from forms.models import Project
from registry.access import Right, scope_for
from registry.api.call import ApiCall
from registry.api.errors import ApiError, error_response, forbidden
from registry.api.handlers import ROUTES
from registry.api.models import ApiToken
from registry.api.params import ApiParams, sniff_error_format
from registry.api.services.ratelimit import take
from registry.api.services.tokens import TokenError, token_create, token_revoke, token_scope
from registry.db_unavailable import MESSAGE, RETRY_AFTER_SECONDS
from registry.models import Membership

logger = logging.getLogger("registry.api")

DEFAULT_MAX_REQUEST_BYTES = 200 * 1024 * 1024


def max_request_bytes() -> int:
    return int(getattr(settings, "API_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES))


def read_params(request: HttpRequest) -> ApiParams:
    """The call's parameters; multipart (file uploads) through Django, url-encoded bodies parsed here."""
    limit = max_request_bytes()
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if request.content_type == "multipart/form-data":
        if declared > limit:
            raise ApiError(f"The request is larger than {limit} bytes.", 413)
        try:
            return ApiParams.from_pairs(request.POST.items(), request.FILES)
        except (TooManyFieldsSent, RequestDataTooBig) as exc:
            raise ApiError(str(exc), 413) from None
    if declared > limit:
        prefix = request.read(64 * 1024)
        error = ApiError(f"The request is larger than {limit} bytes.", 413)
        error.format_hint = sniff_error_format(prefix)  # type: ignore[attr-defined]
        raise error
    body = request.read(limit + 1)
    if len(body) > limit:
        error = ApiError(f"The request is larger than {limit} bytes.", 413)
        error.format_hint = sniff_error_format(body[: 64 * 1024])  # type: ignore[attr-defined]
        raise error
    return ApiParams.from_body(body)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def rate_limited(key: str) -> ApiError | None:
    wait = take(key)
    if wait:
        return ApiError(f"Too many API requests; try again in {wait} seconds.", 429, {"Retry-After": str(wait)})
    return None


@csrf_exempt
def api(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error_response(ApiError("The requested method is not implemented.", 501), "xml")
    fmt = "xml"
    try:
        params = read_params(request)
        fmt = params.return_format
        found = token_scope(params.get("token").strip())
        if found is None:
            limited = rate_limited(f"ip:{client_address(request)}")
            raise limited or forbidden()
        api_token, scope = found
        limited = rate_limited(f"token:{api_token.pk}")
        if limited:
            raise limited
        content = params.get("content").strip()
        action = params.get("action").strip() or ("import" if params.has("data") and content != "version" else "export")
        handler = ROUTES.get((content, action))
        if handler is None:
            known = {c for c, _ in ROUTES}
            if content in known:
                raise ApiError(f'The value of the parameter "action" ({action}) is not valid for content "{content}"')
            raise ApiError('The value of the parameter "content" is not valid')
        return handler(ApiCall(request=request, params=params, token=api_token, scope=scope, content=content,
                               action=action))  # fmt: skip
    except ApiError as error:
        return error_response(error, getattr(error, "format_hint", fmt))
    except (OperationalError, InterfaceError):  # the database is down or restarting: retryable, not a bug
        return error_response(ApiError(MESSAGE, 503, {"Retry-After": RETRY_AFTER_SECONDS}), fmt)
    except Exception as exc:
        # Frames only: an exception's message may quote a submitted value, and values can identify a patient.
        logger.error("API call failed with %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return error_response(ApiError("", 500), fmt)


def _profile_page(request: HttpRequest, new_token: dict | None = None) -> HttpResponse:
    tokens = (
        ApiToken.objects.filter(user=request.user).select_related("project").order_by("project__code", "-created_at")
    )
    memberships = Membership.objects.filter(user=request.user).select_related("project").order_by("project__code")
    projects = [m.project for m in memberships if (s := scope_for(request.user, m.project)) and s.can(Right.API)]
    return render(request, "api/profile.html", {"tokens": tokens, "projects": projects, "new_token": new_token,
                                                "api_url": request.build_absolute_uri("/api/")})  # fmt: skip


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The user's API tokens, revocable, and a new token for any project where the user has API rights."""
    return _profile_page(request)


@login_required
@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    project = Project.objects.filter(code=request.POST.get("project", "")).first()
    try:
        if project is None:
            raise TokenError("no such project")
        token = token_create(user=request.user, project=project)
    except TokenError:
        messages.error(request, "You cannot have an API token for that project.")
        return redirect("api-profile")
    # Shown once, in this response only: nothing keeps the token, so a reload cannot show it again.
    response = _profile_page(request, {"project": project.code, "token": token})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        messages.error(request, "No such token.")
    else:
        messages.success(request, f"Token …{token.hint} for {token.project.code} revoked.")
    return redirect("api-profile")
