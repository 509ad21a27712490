"""Data entry pages: the record status dashboard, the record home, enrolment and the form page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from forms.rendering import build_instrument_form, initial_from_values
from forms.submission import read_submission, submission_from_form
from registry import sql_rows
from registry.access import Right, project_scope_or_404, record_or_404
from registry.models import AuditEvent, FormInstance, FormStatus, Site
from registry.selectors_dashboard import CELL_STATUSES, DashboardFilters, dashboard_page
from registry.services import save_sql
from registry.services.design import DesignError, design_of
from registry.services.entry import EntryError, FormLocked, RecordNotFound, SaveConflict, form_save
from registry.services.form_defaults import default_values
from registry.services.records import EnrollmentError, record_create
from registry.views.dashboard_cells import EventCellsHtml


def _design_or_404(scope):
    try:
        return design_of(scope.project, reload=False)  # the scope read the project in this request
    except DesignError:
        raise Http404("this project has no design yet") from None


@login_required
def project_home(request: HttpRequest, code: str) -> HttpResponse:
    project_scope_or_404(request.user, code)
    return redirect("record-dashboard", code=code)


@login_required
def dashboard(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    design = _design_or_404(scope)
    filters = DashboardFilters(
        site=request.GET.get("site", ""),
        event=request.GET.get("event", ""),
        instrument=request.GET.get("instrument", ""),
        status=request.GET.get("status", ""),
        record_id=request.GET.get("record_id", "").strip(),
    )
    page_obj, cols, rows = dashboard_page(scope, design, filters, request.GET.get("page", 1))
    event_labels = dict(design.events)
    query = request.GET.copy()
    query.pop("page", None)
    cells = EventCellsHtml(scope.project.code, cols)
    return render(request, "registry/dashboard.html", {
        "scope": scope, "project": scope.project, "design": design, "filters": filters, "page_obj": page_obj,
        "event_columns": _event_columns(cols, event_labels, design),
        "rows": rows, "rendered": [(row, *cells.row(row)) for row in rows],
        "sites": scope.sites(), "statuses": CELL_STATUSES, "query": query.urlencode(),
        "can_enroll": scope.can(Right.ENTER_DATA),
    })  # fmt: skip


def _event_columns(cols, event_labels, design) -> list[dict]:
    groups: list[dict] = []
    for event, instrument in cols:
        if not groups or groups[-1]["event"] != event:
            groups.append({"event": event, "label": event_labels.get(event, event), "instruments": []})
        groups[-1]["instruments"].append(design.instrument_label(instrument))
    return groups


@login_required
@require_POST
def enroll(request: HttpRequest, code: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code, Right.ENTER_DATA)
    design = _design_or_404(scope)
    site = None
    if scope.all_sites:
        site = Site.objects.filter(project=scope.project, code=request.POST.get("site", "")).first()
    try:
        record = record_create(scope=scope, site=site)
    except EnrollmentError as exc:
        messages.error(request, str(exc))
        return redirect("record-dashboard", code=code)
    first_event = design.default_event()
    first_instrument = design.instruments_for_event(first_event)[0]
    messages.success(request, f"Record {record.record_id} created.")
    return redirect("form-entry", code=code, record_id=record.record_id, event=first_event,
                    instrument=first_instrument, instance=1)  # fmt: skip


@login_required
def record_home(request: HttpRequest, code: str, record_id: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    design = _design_or_404(scope)
    record = record_or_404(scope, record_id)
    forms = {}
    for form in FormInstance.objects.filter(record=record).only("event", "instrument", "instance", "status", "locked"):
        forms.setdefault((form.event, form.instrument), []).append(form)
    events = design.events if design.is_longitudinal else [(design.default_event(), "Data")]
    grid = []
    for name, label in design.instruments:
        if not scope.can_read_form(name):
            continue
        cells = []
        for event, _ in events:
            if name not in design.instruments_for_event(event):
                cells.append(None)
                continue
            instances = sorted(forms.get((event, name), []), key=lambda f: f.instance)
            cells.append({"event": event, "instances": instances, "repeating": design.is_repeating(event, name),
                          "next_instance": (instances[-1].instance + 1) if instances else 1})  # fmt: skip
        grid.append({"instrument": name, "label": label, "cells": cells})
    recent = []
    if scope.can(Right.VIEW_AUDIT):
        recent = AuditEvent.objects.filter(chain=f"project:{scope.project.code}", record_id=record.record_id)
        recent = recent.order_by("-sequence")[:15]
    return render(request, "registry/record_home.html", {
        "scope": scope, "project": scope.project, "record": record, "events": events, "grid": grid,
        "recent": recent, "statuses": dict(FormStatus.choices), "can_lock": scope.can(Right.LOCK),
        "can_sign": scope.can(Right.SIGN), "can_audit": scope.can(Right.VIEW_AUDIT),
        "signatures": record.signatures.filter(form__isnull=True, revoked_at__isnull=True),
    })  # fmt: skip


@login_required
def form_entry(request: HttpRequest, code: str, record_id: str, event: str, instrument: str, instance: int):
    scope = project_scope_or_404(request.user, code)
    design = _design_or_404(scope)
    try:
        design.check_form_key(event, instrument, instance)
    except DesignError:
        raise Http404("no such form") from None
    if not scope.can_read_form(instrument):
        raise Http404("no such form")
    fields = design.fields(instrument)
    if not scope.can(Right.VIEW_IDENTIFIERS):
        fields = [f for f in fields if not f.identifier]  # statisticians never see identifiers
    missing_codes = list(design.missing_codes.items())
    key = {"record_id": record_id, "event": event, "instrument": instrument, "instance": instance}
    conflict: SaveConflict | None = None
    refused: EntryError | None = None
    submission = None
    if request.method == "POST" and scope.can_edit_form(instrument):
        # The save reads the post directly and reads the record once, locked (it also answers the
        # user's site scope); the page reads it only when it is shown again.
        submission = read_submission(fields, request.POST, missing_codes=design.missing_codes,
                                     locked={design.record_id_field})  # fmt: skip
        if submission is not None:
            try:
                return _save(request, scope, design, key, submission)
            except RecordNotFound:
                raise Http404("not found") from None
            except FormLocked:
                messages.error(request, "This form is locked: the changes were not saved.")
            except SaveConflict as exc:
                conflict = exc
            except EntryError as exc:
                refused = exc
    record, existing = _record_and_form_or_404(scope, record_id, event, instrument, instance)
    read_only = not scope.can_edit_form(instrument) or record.locked or bool(existing and existing.locked)
    ask_reason = bool(existing and existing.status == FormStatus.COMPLETE) and scope.project.settings.get(
        "reason_for_change", True
    )
    form = None
    if request.method == "POST" and not read_only:
        initial = _initial(fields, existing, record, design)
        form = _bound_form(fields, request.POST, initial, missing_codes, ask_reason, design)
        if submission is None and form.is_valid():  # a post that only the Django form reads
            try:
                return _save(request, scope, design, key, submission_from_form(form))
            except SaveConflict as exc:
                conflict = exc
            except EntryError as exc:
                refused = exc
        if refused is not None:
            form.is_valid()
            for name, problems in refused.errors.items():
                target = name if name in form.fields else None
                for problem in problems:
                    form.add_error(target, problem)
    if form is None:
        history = {}
        if existing and scope.can(Right.VIEW_AUDIT):
            history = {f.name: reverse("field-history", kwargs={"code": code, **key, "field": f.name})
                       for f in fields if f.has_data}  # fmt: skip
        initial = _initial(fields, existing, record, design)
        form = build_instrument_form(fields, initial=initial, missing_codes=missing_codes, read_only=read_only,
                                     ask_reason=ask_reason, history_links=history)  # fmt: skip
        _lock_record_id(form, design)
    conflict_rows = _conflict_rows(fields, conflict) if conflict else []
    browser_context = logic_context(design, record, event, instance, hide=hidden_identifiers(scope, design))
    return render(request, "registry/form_entry.html", {
        "conflict_rows": conflict_rows, "logic_context": browser_context,
        "scope": scope, "project": scope.project, "record": record, "event": event,
        "event_label": dict(design.events).get(event, ""), "instrument": instrument,
        "instrument_label": design.instrument_label(instrument), "instance": instance, "form": form,
        "read_only": read_only, "existing": existing, "conflict": conflict, "design": design,
        "can_lock": scope.can(Right.LOCK), "can_sign": scope.can(Right.SIGN),
        "signatures": existing.signatures.filter(revoked_at__isnull=True) if existing else [],
        "logic_url": reverse("design-logic-js", kwargs={"code": code, "version": design.version_number}),
    }, status=409 if conflict else 200)  # fmt: skip


def _save(request, scope, design, key: dict, submission) -> HttpResponse:
    """Save the submission and send the browser on; raises what form_save raises."""
    outcome = form_save(
        scope=scope, record=key["record_id"], event=key["event"], instrument=key["instrument"],
        instance=key["instance"], values=submission.values, missing=submission.missing, status=submission.status,
        expected_row_version=submission.row_version, reason=submission.reason, design=design,
    )  # fmt: skip
    _save_messages(request, design, key["instrument"], outcome)
    # A path already: redirect() would first try it as a URL name (a failed reverse() on every save).
    return HttpResponseRedirect(_after_save(request, design, scope.project.code, key["record_id"], key["event"],
                                            key["instrument"]))  # fmt: skip


def _record_and_form_or_404(scope, record_id: str, event: str, instrument: str, instance: int):
    """The record (404 outside the user's scope) and its form instance at the key, or None."""
    if sql_rows.enabled():  # one query instead of two (a save reads them again, locked)
        record, existing = save_sql.record_and_form(scope, record_id, (event, instrument, instance))
        if record is None:
            raise Http404("not found")
        return record, existing
    record = record_or_404(scope, record_id)
    return record, FormInstance.objects.filter(record=record, event=event, instrument=instrument,
                                               instance=instance).first()  # fmt: skip


def _initial(fields, existing, record, design) -> dict:
    """The values the form opens with: the stored ones, or the defaults of a new form."""
    if existing:
        initial = initial_from_values(fields, existing.data, existing.missing)
        initial.update(status=existing.status, row_version=existing.row_version)
    else:
        initial = initial_from_values(fields, default_values(fields), {})
        initial.update(status=0, row_version=0)
    initial[design.record_id_field] = record.record_id
    return initial


def _bound_form(fields, data, initial, missing_codes, ask_reason, design):
    form = build_instrument_form(fields, data=data, initial=initial, missing_codes=missing_codes,
                                 ask_reason=ask_reason)  # fmt: skip
    _lock_record_id(form, design)
    return form


def _save_messages(request, design, instrument: str, outcome) -> None:
    for problem in outcome.warnings:
        messages.warning(request, f"{problem.field}: {problem.message}")
    if outcome.missing_required:
        messages.warning(request, "Required fields left blank: " + ", ".join(outcome.missing_required))
    for rule in outcome.rule_messages:  # real-time rules: advisory, the data is saved
        messages.warning(request, f"Rule {rule.rule}: {rule.name} ({rule.value}). Correct the value "
                         "or explain it in a query answer.")  # fmt: skip
    if outcome.cleared_hidden:
        messages.info(request, "Cleared hidden fields: " + ", ".join(outcome.cleared_hidden))
    messages.success(request, f"Saved {design.instrument_label(instrument)}.")


def _lock_record_id(form, design) -> None:
    """The record id is given by enrolment, never typed."""
    if design.record_id_field in form.fields:
        form.fields[design.record_id_field].disabled = True


def _conflict_rows(fields, conflict: SaveConflict) -> list[tuple[str, str, str]]:
    rows = []
    for f in fields:
        columns = f.checkbox_columns() or [f.name]
        for column in columns:
            theirs = conflict.current.data.get(column, "")
            mine = conflict.submitted.get(column, "")
            if theirs != mine and f.has_data and not f.is_calc:
                rows.append((column, theirs, mine))
    return rows


def hidden_identifiers(scope, design) -> set[str]:
    if scope.can(Right.VIEW_IDENTIFIERS):
        return set()
    return {f.name for f in design.field_map.values() if f.identifier}


def logic_context(design, record, event: str, instance: int, hide: set[str]) -> dict:
    """What the browser needs to evaluate logic that reaches beyond the open form (never hidden identifiers)."""
    events: dict[str, dict[str, str]] = {}
    event_instances: dict[str, dict[int, dict[str, str]]] = {}
    for form in FormInstance.objects.filter(record=record).only("event", "instance", "data"):
        data = {k: v for k, v in form.data.items() if k.split("___")[0] not in hide}
        if form.instance == 1:
            events.setdefault(form.event, {}).update(data)
        event_instances.setdefault(form.event, {}).setdefault(form.instance, {}).update(data)
    current = events.pop(event, {})
    return {
        "events": events, "event_instances": event_instances, "base_values": current,
        "record_name": record.record_id, "event_name": event if design.is_longitudinal else "",
        "record_dag_name": record.site.code, "current_instance": instance,
        "missing_codes": list(design.missing_codes),
    }  # fmt: skip


def _after_save(request, design, code: str, record_id: str, event: str, instrument: str) -> str:
    if "save_next" in request.POST:
        names = design.instruments_for_event(event)
        position = names.index(instrument)
        if position + 1 < len(names):
            return reverse("form-entry", kwargs={"code": code, "record_id": record_id, "event": event,
                                                 "instrument": names[position + 1], "instance": 1})  # fmt: skip
        return reverse("record-home", kwargs={"code": code, "record_id": record_id})
    # "Save and stay": the form page the browser posted to (the save resolved it); reverse() took a tenth
    # of a millisecond of every save.
    return request.path
