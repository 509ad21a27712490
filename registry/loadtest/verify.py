"""After the load: every save that was answered as accepted is in the database and in the audit trail."""

from __future__ import annotations

from collections import defaultdict

from registry.models import AuditEvent, FormInstance


def missing_saves(code: str, saves: list[tuple[str, str]]) -> list[str]:
    """The accepted saves that the audit trail does not show, and records whose stored value is not the last save."""
    by_record: dict[str, list[str]] = defaultdict(list)
    for record_id, weight in saves:
        by_record[record_id].append(weight)
    problems = []
    for record_id, weights in by_record.items():
        audited = set(
            AuditEvent.objects.filter(project__code=code, record_id=record_id, field="weight").values_list(
                "new_value", flat=True
            )
        )
        problems += [f"{record_id}: save of weight={w} not audited" for w in weights if w not in audited]
        form = FormInstance.objects.filter(record__project__code=code, record__record_id=record_id,
                                           instrument="demographics").first()  # fmt: skip
        stored = form.data.get("weight") if form else None
        if stored != weights[-1]:
            problems.append(f"{record_id}: stored weight {stored!r}, last accepted save {weights[-1]!r}")
    return problems
