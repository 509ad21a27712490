"""The per-run memo of calcs, branching and rules reads field values straight from the record's rows:
it must give what the evaluator gives on every row of the demo cohort."""

from __future__ import annotations

import pytest

from registry.quality import memo
from registry.quality.engine import Selection, find_discrepancies, numeric_stats
from registry.quality.models import Rule
from registry.quality.rules import BUILTIN_RULES
from registry.services.design import design_of

pytestmark = pytest.mark.django_db


def test_memoized_pass_equals_the_evaluator_on_every_row(sojia, monkeypatch):
    project, _ = sojia
    design = design_of(project)
    codes = [*BUILTIN_RULES, *Rule.objects.filter(project=project).values_list("code", flat=True)]
    stats = numeric_stats(project, design, Selection())

    def keyed() -> set[tuple]:
        found = find_discrepancies(project=project, design=design, selection=Selection(rules=codes), use_sql=False,
                                   stats=stats)  # fmt: skip
        return {(f.rule, f.record, f.event, f.instance, f.field, f.value, f.value_hash, f.message) for f in found}

    monkeypatch.setattr(memo, "TRIAL", 10**9)  # never switched off: every row goes through the cached keys
    cached = keyed()
    monkeypatch.setattr(memo, "is_pure", lambda expression: False)  # no cache: the evaluator on every row
    direct = keyed()
    assert cached == direct
    assert {key[0] for key in direct} >= {"A", "E", "H", "I"}
