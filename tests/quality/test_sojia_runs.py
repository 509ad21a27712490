"""Rule runs on the SoJIA demo cohort: planted errors, SQL vs Python, the command, pages, exclusions, diff."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from registry.access import Scope
from registry.models import FormInstance, Record, Role
from registry.quality.engine import (
    Selection,
    custom_plans,
    find_discrepancies,
    findings_for_record,
    instruments_read_by,
)
from registry.quality.models import QualityRun, Rule
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services.runs import run_diff, run_sync
from registry.services.design import design_of
from tests.quality.conftest import planted_errors

pytestmark = pytest.mark.django_db


def system(project) -> Scope:
    return Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)


def test_every_planted_error_is_found_by_its_rule(sojia):
    project, _ = sojia
    run = run_sync(scope=system(project))
    found = set(run.discrepancies.values_list("rule", "record__record_id", "event"))
    missed = [
        (e["rule_id"], e["record"], e["field"]) for e in planted_errors()["errors"]
        if (e["rule_id"], e["record"], e["event"]) not in found
    ]  # fmt: skip
    assert missed == []
    assert len(planted_errors()["errors"]) >= 20


def test_compiled_sql_agrees_with_the_python_evaluator(sojia):
    project, _ = sojia
    design = design_of(project)
    codes = list(Rule.objects.filter(project=project).values_list("code", flat=True))
    assert len(codes) == 100
    selection = Selection(rules=codes)
    keyed = [
        {(f.rule, f.record, f.event, f.instance, f.field, f.value, f.value_hash)
         for f in find_discrepancies(project=project, design=design, selection=selection, use_sql=sql)}
        for sql in (True, False)
    ]  # fmt: skip
    assert keyed[0] == keyed[1]
    planted_custom = {e["rule_id"] for e in planted_errors()["errors"] if len(e["rule_id"]) > 1}
    assert {key[0] for key in keyed[0]} >= planted_custom


def test_a_record_s_rules_read_only_the_instruments_they_name_and_find_the_same(sojia, django_assert_num_queries):
    """Real-time rules after a save (and previews) read the forms of the instruments a rule names, not the
    whole record (~40 forms): each study rule alone, on records with planted errors, finds what it finds
    over the whole record."""
    project, _ = sojia
    design = design_of(project)
    rules = list(Rule.objects.filter(project=project, active=True))
    planted = {e["record"] for e in planted_errors()["errors"]}
    records = list(Record.objects.filter(project=project, record_id__in=planted).select_related("site")[:8])
    assert len(records) == 8
    found_any = 0
    for record in records:
        rows = FormInstance.objects.filter(record=record)
        whole = {(f.event, f.instrument, f.instance): (f.data, f.missing) for f in rows}
        for rule in rules:
            expected = findings_for_record(project, design, record, [rule.code], forms=whole, rules=rules)
            with django_assert_num_queries(1):  # the named instruments' forms, one statement
                got = findings_for_record(project, design, record, [rule.code], rules=rules)
            assert got == expected, rule.code
            found_any += len(got)
    assert found_any > 0  # the planted errors were found through the partial reads
    plans, _ = custom_plans(project, design, None, rules)
    named = [instruments_read_by(design, [plan]) for plan in plans]
    assert max(len(n) for n in named) < len(design.instruments) / 2  # no study rule needs half the record


def test_command_prints_json_discrepancies(sojia):
    _project, _ = sojia
    out = StringIO()
    call_command("run_quality_checks", "--project", "sojia", "--rules", "R09,R17", "--format", "json", stdout=out,
                 stderr=StringIO())  # fmt: skip
    rows = json.loads(out.getvalue())
    assert {r["rule"] for r in rows} == {"R09", "R17"}
    assert set(rows[0]) == {"rule", "record", "event", "instance", "field", "value", "message"}
    assert any(r["rule"] == "R17" and r["field"] == "chaq_di" and "chaq_di" in r["value"] for r in rows)


def test_exclusion_holds_until_the_value_changes_and_the_diff_counts_it(sojia):
    from django.contrib.auth import get_user_model

    from registry.access import scope_for
    from registry.quality.services.exclusions import exclusion_add

    project, _ = sojia
    monitor = scope_for(get_user_model().objects.get(username="monitor"), project)
    first = run_sync(scope=monitor, rules=["R17"])
    target = first.discrepancies.get(record__record_id="LPR-0001")
    exclusion_add(scope=monitor, discrepancy=target, reason="Score confirmed by the PI as recorded")
    second = run_sync(scope=monitor, rules=["R17"])
    assert second.discrepancies.get(record__record_id="LPR-0001").excluded
    diff = run_diff(second)
    assert (diff.new, diff.resolved) == (0, 0)
    assert diff.still_open == second.discrepancies.filter(excluded=False).count()

    form = FormInstance.objects.get(record__record_id="LPR-0001", event="month_3_arm_1", instrument="disease_activity")
    form.data["chaq_di"] = "0.7"  # a new wrong value: the exclusion no longer applies
    form.save()
    third = run_sync(scope=monitor, rules=["R17"])
    assert not third.discrepancies.get(record__record_id="LPR-0001").excluded
    assert run_diff(third).new == 1


def test_run_pages_progress_counts_and_csv(sojia, client):
    from django.contrib.auth import get_user_model

    project, _ = sojia
    user = get_user_model().objects.get(username="monitor")
    client.force_login(user)
    response = client.post("/projects/sojia/quality/", {"rules": ["R09", "C"]})
    run = QualityRun.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))
    status = client.get(f"/projects/sojia/quality/runs/{run.pk}/status.json").json()
    assert status["finished"] and status["progress"] == 100
    page = client.get(response.url).content.decode()
    assert 'data-testid="counts"' in page and "R09" in page
    body = client.get(response.url + "?rule=R09&format=csv").content.decode().splitlines()
    assert body[0].startswith("rule,record,site") and body[1].startswith("R09,NCH-0001,")
    coordinator = get_user_model().objects.filter(memberships__project=project, memberships__role="coordinator").first()
    client.force_login(coordinator)
    assert client.get(response.url).status_code == 404  # coordinators do not run or read rule runs


def test_rule_editor_checks_syntax_and_previews_one_record(sojia, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="datamanager"))
    bad = client.post("/projects/sojia/quality/rules/new/", {"name": "X", "logic": "[chaq_di] >", "save": "1"})
    assert 'data-testid="rule-problem"' in bad.content.decode()
    preview = client.post("/projects/sojia/quality/rules/new/", {"name": "X", "logic": "[chaq_di] = '0.6'",
                                                                 "record": "LPR-0001", "preview": "1"})  # fmt: skip
    assert "month_3_arm_1" in preview.content.decode()
    assert not Rule.objects.filter(name="X").exists()
    exported = client.get("/projects/sojia/quality/rules/csv/").content.decode()
    assert exported.splitlines()[0] == "rule_name,rule_logic,real_time_execution" and len(exported.splitlines()) == 101


def test_full_run_covers_builtins_and_study_rules(sojia):
    project, _ = sojia
    run = run_sync(scope=system(project))
    assert set(run.summary["rules"]) >= set(BUILTIN_RULES)
    assert run.finished_at and run.summary["found"] == run.discrepancies.count()
    assert Record.objects.filter(project=project).count() == planted_errors()["cohort"]["records"]


def test_stale_calcs_are_found_on_every_row_even_when_their_inputs_repeat(sojia):
    # The run evaluates each calc once per distinct input (memo.py); a stored value is still checked per row.
    project, _ = sojia
    design = design_of(project)
    forms = list(FormInstance.objects.filter(record__project=project, instrument="disease_activity",
                                             data__has_key="esr_ok").order_by("pk")[:3])  # fmt: skip
    for form in forms[:2]:
        form.data["esr_ok"] = "0" if form.data["esr_ok"] == "1" else "1"
        form.save(update_fields=["data"])
    stale = {(f.record, f.event, f.instance) for f in find_discrepancies(
        project=project, design=design, selection=Selection(rules=["H"])) if f.field == "esr_ok"}  # fmt: skip
    assert stale == {(form.record_id, form.event, form.instance) for form in forms[:2]}
