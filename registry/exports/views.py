"""Export pages: request a release, follow its progress, download it. Thin: the services decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from registry.access import Right, project_scope_or_404
from registry.exports.models import Release
from registry.exports.profiles import DATE_MODES, PROFILES
from registry.exports.services import (
    FORMAT_LABELS,
    FORMATS,
    ExportOptions,
    ExportRefused,
    release_file,
    release_purge_expired,
    release_request,
    release_status,
    releases_for,
)
from registry.services.design import DesignError, design_of

PROFILE_HELP = {
    "full": "everything, identifiers included",
    "limited": "identifier fields removed",
    "deidentified": "identifiers and free text removed, record ids hashed, dates shifted or as study days",
}


def _scope(request: HttpRequest, code: str):
    scope = project_scope_or_404(request.user, code, Right.EXPORT)
    if not scope.export_profiles():
        raise Http404("not found")
    return scope


def _status_json(request, code: str, release: Release) -> dict:
    status = release_status(release)
    status["status_url"] = reverse("export-status", args=[code, release.public_id])
    status["download_url"] = (
        reverse("export-download", args=[code, release.public_id]) if status["status"] == "ready" else None
    )
    return status


@login_required
def exports_page(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    release_purge_expired()
    try:
        design = design_of(scope.project)
    except DesignError:
        raise Http404("this project has no design yet") from None
    allowed = scope.export_profiles()
    releases = [(r, _status_json(request, code, r)) for r in releases_for(scope)[:50]]
    return render(
        request,
        "exports/exports.html",
        {
            "scope": scope,
            "project": scope.project,
            "design": design,
            "releases": releases,
            "profiles": [(p, PROFILE_HELP[p]) for p in PROFILES if p in allowed],
            "default_profile": allowed[-1],
            "formats": [(f, FORMAT_LABELS[f]) for f in FORMATS],
            "date_modes": DATE_MODES,
            "sites": scope.sites(),
        },
    )


@login_required
@require_POST
def export_request(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    post = request.POST
    options = ExportOptions(
        profile=post.get("profile", ""),
        format=post.get("format", "csv"),
        raw_or_label="label" if post.get("raw_or_label") == "label" else "raw",
        export_checkbox_label=post.get("export_checkbox_label") == "1",
        date_mode=post.get("date_mode", "shift"),
        instruments=post.getlist("instruments") or None,
        events=post.getlist("events") or None,
        sites=post.getlist("sites") or None,
        filter_logic=post.get("filter_logic", "").strip(),
    )
    try:
        release = release_request(scope=scope, options=options)
    except ExportRefused as exc:
        messages.error(request, f"Export refused: {exc}")
        return redirect("exports", code=code)
    messages.success(request, f"Release requested ({options.profile}, {FORMAT_LABELS[options.format]}).")
    return redirect(f"{reverse('exports', args=[code])}#release-{release.public_id}")


def _release_or_404(scope, public_id) -> Release:
    release = releases_for(scope).filter(public_id=public_id).first()
    if release is None:
        raise Http404("not found")
    return release


@login_required
@require_GET
def export_status(request: HttpRequest, code: str, public_id) -> JsonResponse:
    scope = _scope(request, code)
    return JsonResponse(_status_json(request, code, _release_or_404(scope, public_id)))


@login_required
@require_GET
def export_download(request: HttpRequest, code: str, public_id) -> HttpResponse:
    from registry.exports.services import download_name

    scope = _scope(request, code)
    release = _release_or_404(scope, public_id)
    try:
        path = release_file(scope, release)
    except ExportRefused as exc:
        return HttpResponse(f"{exc}\n", status=410, content_type="text/plain")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=download_name(release))  # noqa: SIM115
    response["X-Content-SHA256"] = release.sha256
    return response
