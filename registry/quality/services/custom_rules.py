"""Custom rules: create and edit with a syntax check, import and export REDCap's rule CSV, preview on one record."""

from __future__ import annotations

import csv
import io
import re

from django.db import transaction

from registry.access import Right, Scope
from registry.models import Record
from registry.quality.engine import findings_for_record
from registry.quality.models import Rule
from registry.quality.rules import BUILTIN_RULES, Finding, check_logic
from registry.services.audit import Change, audit_append
from registry.services.design import design_of

CSV_COLUMNS = ["rule_name", "rule_logic", "real_time_execution"]
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,19}$")


class RuleImportError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def code_for(name: str, taken: set[str]) -> str:
    """The rule's short id: the first word of its name when it looks like one (R01, F12), else rule-N."""
    first = name.split(" ", 1)[0]
    if _CODE.match(first) and first not in taken and first not in BUILTIN_RULES:
        return first
    n = len(taken) + 1
    while f"rule-{n}" in taken:
        n += 1
    return f"rule-{n}"


def rule_save(*, scope: Scope, name: str, logic: str, real_time: bool, rule: Rule | None = None,
              active: bool = True) -> Rule:  # fmt: skip
    scope.require(Right.DESIGN)
    problem = check_logic(design_of(scope.project), logic)
    if problem:
        raise RuleImportError([problem])
    if not name.strip():
        raise RuleImportError(["give the rule a name"])
    with transaction.atomic():
        if rule is None:
            taken = set(Rule.objects.filter(project=scope.project).values_list("code", flat=True))
            rule = Rule(project=scope.project, code=code_for(name.strip(), taken),
                        order=Rule.objects.filter(project=scope.project).count() + 1)  # fmt: skip
        rule.name, rule.logic, rule.real_time, rule.active = name.strip(), logic.strip(), real_time, active
        rule.save()
        audit_append(project=scope.project, action="dq_rule_saved", user=scope.user,
                     changes=[Change(details={"rule": rule.code, "logic": rule.logic,
                                              "real_time": real_time})])  # fmt: skip
    return rule


NAME_MAX = Rule._meta.get_field("name").max_length


def rules_import_csv(*, scope: Scope, text: str, replace: bool = False) -> list[Rule]:
    """REDCap's rule CSV (rule_name, rule_logic, real_time_execution); all rows are checked before any is saved."""
    scope.require(Right.DESIGN)
    design = design_of(scope.project)
    if "\x00" in text:  # PostgreSQL stores no NUL in text; a binary or UTF-16 file holds them
        raise RuleImportError(["the file holds NUL characters: save it as CSV (UTF-8)"])
    # newline="": the csv module reads CR, LF and CRLF line ends itself (an old Mac file is a CSV too).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows, problems = [], []
    try:
        if [c.strip() for c in reader.fieldnames or []][:2] != CSV_COLUMNS[:2]:
            raise RuleImportError(["the header must be rule_name,rule_logic,real_time_execution"])
        for row in reader:
            line = reader.line_num
            name, logic = (row.get("rule_name") or "").strip(), (row.get("rule_logic") or "").strip()
            problem = check_logic(design, logic) if logic else "empty logic"
            if not problem and not name:
                problem = "empty name"
            if not problem and len(name) > NAME_MAX:
                problem = f"the rule name is longer than {NAME_MAX} characters"
            if problem:
                problems.append(f"line {line}: {problem}")
            real_time = (row.get("real_time_execution") or "").strip().lower() in ("y", "1", "yes", "true")
            rows.append((name, logic, real_time))
    except csv.Error as exc:  # e.g. a cell longer than the csv module takes
        raise RuleImportError([f"line {reader.line_num}: not readable as CSV ({exc})"]) from None
    if problems:
        raise RuleImportError(problems)
    with transaction.atomic():
        if replace:
            Rule.objects.filter(project=scope.project).delete()
        existing = {r.name: r for r in Rule.objects.filter(project=scope.project)}
        taken = set(Rule.objects.filter(project=scope.project).values_list("code", flat=True))
        saved = []
        for order, (name, logic, real_time) in enumerate(rows, start=len(existing) + 1):
            rule = existing.get(name) or Rule(project=scope.project, code=code_for(name, taken), order=order)
            taken.add(rule.code)
            rule.name, rule.logic, rule.real_time, rule.active = name, logic, real_time, True
            rule.save()
            saved.append(rule)
        audit_append(project=scope.project, action="dq_rules_imported", user=scope.user,
                     changes=[Change(details={"rules": [r.code for r in saved], "replace": replace})])  # fmt: skip
    return saved


def rules_export_csv(project) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rule in Rule.objects.filter(project=project):
        writer.writerow([rule.name, rule.logic, "y" if rule.real_time else "n"])
    return buffer.getvalue()


def rule_preview(*, scope: Scope, logic: str, record: Record) -> tuple[str | None, list[Finding]]:
    """Test unsaved logic on one record: (syntax problem, discrepancies found)."""
    scope.require(Right.RUN_QUALITY)
    design = design_of(scope.project)
    problem = check_logic(design, logic)
    if problem:
        return problem, []
    from registry.models import FormInstance
    from registry.quality.context import RecordForms
    from registry.quality.python_eval import evaluate_custom
    from registry.quality.rules import plan_rule

    plan = plan_rule(design, code="preview", name="preview", logic=logic)
    forms = {
        (f.event, f.instrument, f.instance): (f.data, f.missing) for f in FormInstance.objects.filter(record=record)
    }
    ctx = RecordForms(design, record.record_id, record.site.code, forms)
    return None, evaluate_custom(plan, design, ctx, record.pk)


__all__ = ["findings_for_record", "rule_preview", "rule_save", "rules_export_csv", "rules_import_csv"]
