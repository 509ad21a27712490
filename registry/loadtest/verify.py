"""After the load: every save and query answer that was accepted is in the database and in the audit trail."""

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


def missing_answers(answers: list[int]) -> list[str]:
    """The query answers that were accepted but are not stored as answered with their audit row."""
    from registry.quality.models import Query, QueryStatus

    problems = []
    answered = {q.pk: q for q in Query.objects.filter(pk__in=answers)}
    audited = set(
        AuditEvent.objects.filter(action="query_answer", details__query__in=answers).values_list(
            "details__query", flat=True
        )
    )
    for pk in answers:
        query = answered.get(pk)
        if query is None or query.status != QueryStatus.ANSWERED:
            problems.append(f"query {pk}: answer accepted but the query is not answered")
        elif pk not in audited:
            problems.append(f"query {pk}: answer not audited")
    return problems
