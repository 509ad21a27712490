"""Rule H's "fix all": store the recomputed value of every calc the run found wrong, audited as a calculation."""

from __future__ import annotations

from django.db import transaction

from registry.access import Right, Scope
from registry.models import AuditSource, FormInstance
from registry.quality.context import RecordForms
from registry.quality.models import QualityRun
from registry.quality.python_eval import recalculate
from registry.services.audit import Change, audit_append
from registry.services.design import design_of


def fix_calculations(*, scope: Scope, run: QualityRun) -> int:
    """Returns the number of values corrected; locked forms are left alone."""
    scope.require(Right.ENTER_DATA)
    scope.require(Right.RUN_QUALITY)
    design = design_of(scope.project)
    fixed = 0
    records = scope.records().values_list("pk", flat=True)
    targets = run.discrepancies.filter(rule="H", excluded=False, record_id__in=records).select_related(
        "record", "record__site"
    )
    by_record: dict[int, list] = {}
    for d in targets:
        by_record.setdefault(d.record_id, []).append(d)
    for items in by_record.values():
        record = items[0].record
        with transaction.atomic():
            rows = {(f.event, f.instrument, f.instance): f
                    for f in FormInstance.objects.select_for_update().filter(record=record)}  # fmt: skip
            if record.locked:
                continue
            ctx = RecordForms(design, record.record_id, record.site.code,
                              {k: (f.data, f.missing) for k, f in rows.items()})  # fmt: skip
            changes = []
            for d in items:
                form = rows.get((d.event, d.instrument, d.instance))
                if form is None or form.locked or d.field not in design.field_map:
                    continue
                ctx.at(d.event, d.instrument, d.instance)
                new = recalculate(design.field_map[d.field], ctx)
                old = form.data.get(d.field, "")
                if new == old:
                    continue
                if new:
                    form.data[d.field] = new
                else:
                    form.data.pop(d.field, None)
                form.row_version += 1
                form.save(update_fields=["data", "row_version", "updated_at"])
                changes.append(Change(field=d.field, old=old or None, new=new or None, record_id=record.record_id,
                                      event=d.event, instrument=d.instrument, instance=d.instance,
                                      details={"rule": "H", "run": run.pk}))  # fmt: skip
            audit_append(project=scope.project, action="data_change", changes=changes, user=scope.user,
                         source=AuditSource.CALCULATION, reason=f"Rule H fix all (run #{run.pk})")  # fmt: skip
            fixed += len(changes)
    return fixed
