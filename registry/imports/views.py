"""Import tool pages: upload, follow the dry run, read the preview and problems, commit. Thin: services decide."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from registry.access import Right, project_scope_or_404
from registry.imports.models import ImportRun
from registry.imports.services import (
    DELIMITER_NAMES,
    ImportRefused,
    UploadOptions,
    check_request,
    commit_request,
    problems_of,
    rejected_rows_csv,
    run_status,
    runs_for,
    upload,
)
from registry.services.design import DesignError
from registry.services.record_import import DATE_FORMATS

PROBLEMS_PER_PAGE = 200


def _scope(request: HttpRequest, code: str):
    return project_scope_or_404(request.user, code, Right.ENTER_DATA)


def _run_or_404(scope, public_id) -> ImportRun:
    run = runs_for(scope).filter(public_id=public_id).first()
    if run is None:
        raise Http404("not found")
    return run


def _status_json(code: str, run: ImportRun) -> dict:
    status = run_status(run)
    status["status_url"] = reverse("import-status", args=[code, run.public_id])
    status["page_url"] = reverse("import-run", args=[code, run.public_id])
    return status


@login_required
def import_page(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    return render(
        request,
        "imports/upload.html",
        {
            "scope": scope,
            "project": scope.project,
            "date_formats": DATE_FORMATS,
            "delimiters": DELIMITER_NAMES.items(),
            "runs": runs_for(scope)[:20],
        },
    )


@login_required
@require_POST
def import_upload(request: HttpRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    sent = request.FILES.get("file")
    if sent is None:
        messages.error(request, "Choose a CSV file to import.")
        return redirect("import-page", code=code)
    post = request.POST
    delimiter = {"comma": ",", "semicolon": ";", "tab": "\t"}.get(post.get("delimiter", ""), "")
    options = UploadOptions(
        date_format=post.get("date_format", "YMD"),
        delimiter=delimiter,
        raw_or_label="label" if post.get("raw_or_label") == "label" else "raw",
        overwrite=post.get("overwrite") == "1",
        reason=post.get("reason", ""),
    )
    try:
        run = upload(scope=scope, file_name=sent.name, data=sent.read(), options=options)
    except (ImportRefused, DesignError) as exc:
        messages.error(request, f"Import refused: {exc}")
        return redirect("import-page", code=code)
    check_request(run)
    return redirect("import-run", code=code, public_id=run.public_id)


@login_required
@require_GET
def import_run(request: HttpRequest, code: str, public_id) -> HttpResponse:
    scope = _scope(request, code)
    run = _run_or_404(scope, public_id)
    problems = Paginator(sorted(problems_of(run), key=lambda p: (p.row is None, p.row or 0)), PROBLEMS_PER_PAGE)
    return render(
        request,
        "imports/run.html",
        {
            "scope": scope,
            "project": scope.project,
            "run": run,
            "status": _status_json(code, run),
            "problems": problems.get_page(request.GET.get("page")),
            "preview_shown": len(run.preview),
            "can_commit": run.status == ImportRun.Status.CHECKED and run.user_id == request.user.pk,
            "delimiter_name": DELIMITER_NAMES.get(run.delimiter, run.delimiter),
        },
    )


@login_required
@require_GET
def import_status(request: HttpRequest, code: str, public_id) -> JsonResponse:
    scope = _scope(request, code)
    return JsonResponse(_status_json(code, _run_or_404(scope, public_id)))


@login_required
@require_POST
def import_commit(request: HttpRequest, code: str, public_id) -> HttpResponse:
    scope = _scope(request, code)
    run = _run_or_404(scope, public_id)
    try:
        commit_request(scope=scope, run=run)
    except ImportRefused as exc:
        messages.error(request, f"Commit refused: {exc}")
    return redirect("import-run", code=code, public_id=run.public_id)


@login_required
@require_GET
def import_report(request: HttpRequest, code: str, public_id) -> HttpResponse:
    scope = _scope(request, code)
    run = _run_or_404(scope, public_id)
    response = HttpResponse(rejected_rows_csv(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.public_id}-rejected.csv"'
    return response
