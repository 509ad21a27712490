"""Lock, unlock and e-sign forms and records (thin: the rules live in services/locking.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from registry.access import project_scope_or_404, record_or_404
from registry.models import FormInstance
from registry.services.locking import LockingError, form_lock, form_unlock, record_lock, record_unlock, sign


@login_required
@require_POST
def lock_action(request: HttpRequest, code: str, record_id: str) -> HttpResponse:
    scope = project_scope_or_404(request.user, code)
    record = record_or_404(scope, record_id)
    action = request.POST.get("action", "")
    form = None
    if request.POST.get("form"):
        form = FormInstance.objects.filter(record=record, pk=request.POST["form"]).first()
        if form is None:
            raise Http404("no such form")
    reason = request.POST.get("reason", "")
    try:
        if action == "lock":
            form_lock(scope=scope, form=form) if form else record_lock(scope=scope, record=record)
        elif action == "unlock":
            form_unlock(scope=scope, form=form, reason=reason) if form else record_unlock(
                scope=scope, record=record, reason=reason
            )
        elif action == "sign":
            sign(scope=scope, record=record, form=form, password=request.POST.get("password", ""))
        else:
            raise Http404("unknown action")
    except LockingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, {"lock": "Locked.", "unlock": "Unlocked.", "sign": "Signed and locked."}[action])
    if form is not None:
        return redirect("form-entry", code=code, record_id=record_id, event=form.event, instrument=form.instrument,
                        instance=form.instance)  # fmt: skip
    return redirect("record-home", code=code, record_id=record_id)
