"""The generator: deterministic per seed, calcs exactly as the form engine computes them, and the
planted errors are the only data-quality rule hits."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from forms.design.services import import_study
from forms.models import Project
from registry.demo.calcs import InMemoryRecordValues
from registry.demo.cohort import CohortError, generate_cohort
from registry.demo.planted_errors import custom_rules, planted_errors_document
from registry.models import AuditEvent, FormInstance, Record, Site
from registry.services.demo import DEFAULT_RECORDS, DEFAULT_SEED, STUDY_DIR
from registry.services.design import design_of
from tests.demo.rule_sweep import sweep

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
BUILTIN = {"C", "D", "F", "G", "H"}  # REDCap's built-in rules: the data-quality module's, not swept here

# Planted errors that rightly trip a second rule too (documented in planted_errors.py).
SECOND_HITS = {
    ("RUM-0005", "Soft range: CRP in mg/L (canonical) - crp_mgl (expected 0 to 350 mg/L)"),
    ("NCH-0007", "Soft range: Highest temperature, past 24 h - temp_max_24h (expected 35.0 to 41.5 °C)"),
}


def _study(code: str) -> Project:
    result = import_study(directory=STUDY_DIR, project_code=code)
    assert not result.errors
    project = Project.objects.get(code=code)
    for n, prefix in ((1, "NCH"), (2, "RUM"), (3, "LPR")):
        Site.objects.create(project=project, code=f"site_{n:02d}", name=f"Hospital {n}", record_prefix=prefix)
    return project


def _digests(project) -> dict[str, str]:
    rows = AuditEvent.objects.filter(project=project, action="bulk_load")
    return {row.record_id: row.details["sha256"] for row in rows}


def test_same_seed_same_cohort_other_seed_other_cohort():
    a, b, c = _study("seed_a"), _study("seed_b"), _study("seed_c")
    generate_cohort(a, n_records=12, seed=7)
    generate_cohort(b, n_records=12, seed=7)
    generate_cohort(c, n_records=12, seed=8)
    assert _digests(a) == _digests(b)
    assert set(_digests(a)) == set(_digests(c)) and _digests(a) != _digests(c)
    with pytest.raises(CohortError, match="already has records"):
        generate_cohort(a, n_records=3, seed=7)


def test_stored_calcs_equal_what_the_form_engine_recomputes(demo):
    """Data-quality rule H must find the one planted calc error and nothing else."""
    design = design_of(demo)
    mismatches = []
    for record in Record.objects.filter(project=demo).select_related("site"):
        forms = {(f.event, f.instrument, f.instance): f for f in FormInstance.objects.filter(record=record)}
        for key, form in forms.items():
            ctx = InMemoryRecordValues(
                forms=forms,
                design=design,
                record=record,
                event=key[0],
                instrument=key[1],
                instance=key[2],
                form_values=dict(form.data),
                form_missing=form.missing,
            )
            for f in design.fields(key[1]):
                if f.is_calc and ctx.calculate(f) != form.data.get(f.name, ""):
                    mismatches.append((record.record_id, key[0], f.name))
    assert mismatches == [("LPR-0005", "baseline_arm_1", "jadas27_esr")]


def test_custom_rules_fire_only_on_the_planted_errors(demo):
    documented = json.loads((ROOT / "fixtures/sojia/planted_errors.json").read_text(encoding="utf-8"))
    expected = {(e["record"], e["rule"]) for e in documented["errors"] if e["rule_id"] not in BUILTIN}
    records = list(Record.objects.filter(project=demo).select_related("site"))
    hits = sweep(design_of(demo), records)
    found = {(h.record, custom_rules()[h.rule_id][0]) for h in hits}
    assert found == expected | SECOND_HITS
    # Every planted error is found at the place the list documents.
    by_record = defaultdict(set)
    for h in hits:
        by_record[(h.record, h.rule_id)].add((h.event, h.instance))
    for e in documented["errors"]:
        if e["rule_id"] not in BUILTIN:
            assert (e["event"], e["instance"]) in by_record[(e["record"], e["rule_id"])], e


def test_builtin_rule_errors_are_stored_as_documented(demo):
    documented = json.loads((ROOT / "fixtures/sojia/planted_errors.json").read_text(encoding="utf-8"))
    for e in documented["errors"]:
        form = FormInstance.objects.get(
            record__project=demo,
            record__record_id=e["record"],
            event=e["event"],
            instrument=e["instrument"],
            instance=e["instance"],
        )
        assert form.data.get(e["field"], "") == e["value"], e


def test_committed_planted_errors_json_is_the_default_cohorts(demo):
    from registry.demo.cohort import build_record, cohort_plans

    design = design_of(demo)
    sites = list(Site.objects.filter(project=demo).order_by("code"))
    planted = []
    for plan in cohort_plans(sites, n_records=DEFAULT_RECORDS, seed=DEFAULT_SEED):
        planted += build_record(design, plan, sites[plan.index % 3], seed=DEFAULT_SEED)[2]
    document = planted_errors_document(planted, seed=DEFAULT_SEED, n_records=DEFAULT_RECORDS)
    assert (ROOT / "fixtures/sojia/planted_errors.json").read_text(encoding="utf-8") == document


def test_numbers_are_stored_with_their_fields_decimals_so_rule_c_flags_only_the_planted_error(demo):
    from registry.quality.engine import Selection, find_discrepancies

    found = find_discrepancies(project=demo, design=design_of(demo), selection=Selection(rules=["C"]))
    flagged = {(f.record, f.event, f.field) for f in found}
    records = dict(Record.objects.filter(project=demo).values_list("pk", "record_id"))
    documented = json.loads((ROOT / "fixtures/sojia/planted_errors.json").read_text(encoding="utf-8"))
    planted = {(e["record"], e["event"], e["field"]) for e in documented["errors"] if e["rule_id"] == "C"}
    assert {(records[pk], event, name) for pk, event, name in flagged} == planted
    assert FormInstance.objects.filter(record__project=demo, data__phys_global__regex=r"^\d+\.\d$").exists()
