"""Data manager pages: upload a data dictionary, preview its diff, confirm, download (thin views over services)."""

from __future__ import annotations

import hashlib

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from forms.access import can_design
from forms.dictionary.diff import has_changes, summary
from forms.dictionary.services import export_dictionary, import_dictionary
from forms.models import Project

PENDING_KEY = "crf_pending_dictionary"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class DictionaryUploadForm(djforms.Form):
    file = djforms.FileField(label="Data dictionary (REDCap CSV or JSON)")


class ConfirmForm(djforms.Form):
    confirm_destructive = djforms.BooleanField(
        required=False,
        label="I understand that stored values of the fields listed above will be orphaned or reinterpreted "
        "(they are kept, not deleted)",
    )


def _project_for_designer(request, code: str) -> Project:
    project = get_object_or_404(Project, code=code)
    if not can_design(request.user, project):
        raise Http404  # do not reveal that the project exists
    return project


def _upload_path(project: Project, sha256: str) -> str:
    # Content-addressed, so the name cannot be chosen by the client.
    return f"dictionary-uploads/{project.code}/{sha256}.bin"


@login_required
@require_http_methods(["GET", "POST"])
def dictionary_page(request, code: str):
    project = _project_for_designer(request, code)
    context = {"project": project, "versions": project.versions.order_by("-number")[:20]}
    if request.method == "GET":
        context["form"] = DictionaryUploadForm()
        return render(request, "crf/dictionary.html", context)
    if request.POST.get("step") == "apply":
        return _apply(request, project)
    form = DictionaryUploadForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "crf/dictionary.html", context, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_UPLOAD_BYTES:
        form.add_error("file", "the file is larger than 20 MB")
        return render(request, "crf/dictionary.html", context, status=400)
    data = upload.read()
    # The preview lists destructive changes instead of refusing them: the confirm step asks about them.
    result = import_dictionary(
        project_code=project.code,
        source=data,
        dry_run=True,
        confirm_destructive=True,
        user=request.user,
        source_name=upload.name,
    )
    context.update(result=result, summary=summary(result.diff) if result.diff else [], source_name=upload.name)
    if result.ok:
        sha256 = hashlib.sha256(data).hexdigest()
        path = _upload_path(project, sha256)
        if not default_storage.exists(path):
            default_storage.save(path, ContentFile(data))
        request.session[PENDING_KEY] = {"project": project.code, "sha256": sha256, "name": upload.name}
        context["confirm_form"] = ConfirmForm()
        context["changed"] = has_changes(result.diff)
    return render(request, "crf/dictionary_preview.html", context, status=200 if result.ok else 422)


def _apply(request, project: Project):
    pending = request.session.get(PENDING_KEY)
    if not pending or pending.get("project") != project.code:
        messages.error(request, "Upload the dictionary again: the previewed file is no longer pending.")
        return redirect("crf:dictionary", code=project.code)
    path = _upload_path(project, pending["sha256"])
    if not default_storage.exists(path):
        messages.error(request, "Upload the dictionary again: the previewed file is gone.")
        return redirect("crf:dictionary", code=project.code)
    with default_storage.open(path, "rb") as handle:
        data = handle.read()
    confirm = ConfirmForm(request.POST)
    confirm.is_valid()
    result = import_dictionary(
        project_code=project.code,
        source=data,
        user=request.user,
        confirm_destructive=confirm.cleaned_data.get("confirm_destructive", False),
        source_name=pending["name"],
    )
    if not result.ok:
        context = {
            "project": project,
            "result": result,
            "summary": summary(result.diff) if result.diff else [],
            "source_name": pending["name"],
            "confirm_form": confirm,
            "changed": True,
        }
        return render(request, "crf/dictionary_preview.html", context, status=422)
    del request.session[PENDING_KEY]
    default_storage.delete(path)
    messages.success(
        request,
        f"Version {result.version.number} of {project.code} is now current "
        f"({result.field_count} fields, {result.form_count} forms).",
    )
    return redirect("crf:dictionary", code=project.code)


@login_required
@require_http_methods(["GET"])
def dictionary_download(request, code: str):
    project = _project_for_designer(request, code)
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "json") or project.current_version_id is None:
        raise Http404
    version = project.current_version
    if request.GET.get("version"):
        number = request.GET["version"]
        # Anything but a plausible number names no version, like a number that does not exist: int() would raise
        # on text, and on more than 4300 digits.
        if not number.isdecimal() or len(number) > 10:
            raise Http404
        version = get_object_or_404(project.versions, number=int(number))
    # Spreadsheet users open the CSV: the REDCap UI download's BOM and "@" space keep Excel from mangling it.
    body = export_dictionary(project, format=fmt, version=version, excel_safe=fmt == "csv")
    if fmt == "csv":
        response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{project.code}_DataDictionary_v{version.number}.{fmt}"'
    return response
