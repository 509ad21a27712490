"""`load_demo`: the study, the demo hospitals and users, and a cohort that behaves like the abstract's."""

from __future__ import annotations

import io
import statistics

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.access import scope_for
from registry.models import AuditEvent, FormInstance, Record, Site, SiteCounter
from registry.services.audit import chain_of, verify_chain
from registry.services.records import record_create

pytestmark = pytest.mark.django_db


def _baseline(project, instrument, name, event="baseline_arm_1"):
    rows = FormInstance.objects.filter(record__project=project, event=event, instrument=instrument, instance=1)
    return {f.record.record_id: f.data.get(name, "") for f in rows.select_related("record")}


def test_demo_loads_the_study_sites_users_and_cohort(demo, client):
    assert demo.current_version is not None and demo.current_version.note.startswith("study import")
    sites = {s.code: (s.name, s.record_prefix) for s in Site.objects.filter(project=demo)}
    assert sites == {
        "site_01": ("Northfield Children's Hospital", "NCH"),
        "site_02": ("Riverside University Medical Centre", "RUM"),
        "site_03": ("Lakeside Paediatric Rheumatology Centre", "LPR"),
    }
    cohorts = _baseline(demo, "enrollment", "cohort")
    assert list(cohorts.values()).count("1") >= 5 and list(cohorts.values()).count("2") >= 30
    for name in ("datamanager", "monitor", "statistician", "pi", "coordinator_a", "coordinator_b", "coordinator_c"):
        assert client.login(username=name, password=f"demo-{name}")
    # Every record's enrolment names its own hospital (rule F10) except the one planted error.
    site_ids = _baseline(demo, "enrollment", "site_id")
    wrong = [
        r.record_id
        for r in Record.objects.filter(project=demo).select_related("site")
        if f"site_{site_ids[r.record_id]}" != r.site.code
    ]
    assert wrong == ["NCH-0003"]


def test_running_load_demo_again_changes_nothing(demo):
    before = (
        Record.objects.count(),
        FormInstance.objects.count(),
        AuditEvent.objects.count(),
        demo.versions.count(),
        get_user_model().objects.count(),
    )
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    after = (
        Record.objects.count(),
        FormInstance.objects.count(),
        AuditEvent.objects.count(),
        demo.versions.count(),
        get_user_model().objects.count(),
    )
    assert after == before
    assert "already current" in out.getvalue() and "already loaded (40 records)" in out.getvalue()
    assert "statistician   demo-statistician" in out.getvalue()


def test_new_enrolment_after_the_bulk_load_gets_the_next_free_id(demo):
    site = Site.objects.get(project=demo, code="site_02")
    assert SiteCounter.objects.get(site=site).next_number == 14  # 40 records over 3 sites: 13 at site_02
    manager = get_user_model().objects.get(username="datamanager")
    record = record_create(scope=scope_for(manager, demo), site=site)
    assert record.record_id == "RUM-0014"


def test_names_are_obviously_synthetic(demo):
    last_names = _baseline(demo, "enrollment", "name_last").values()
    assert all(name.startswith("Test") for name in last_names)
    assert all(mrn.startswith("SYN") for mrn in _baseline(demo, "enrollment", "mrn").values())


def test_inflammation_falls_and_nk_function_recovers_after_anakinra(demo):
    def median(instrument, name, event):
        values = [float(v) for v in _baseline(demo, instrument, name, event).values() if v not in ("", "4O")]
        return statistics.median(values)

    # CRP falls within days, ferritin within a week or two, ESR more slowly.
    for marker, factor in (("crp_mgl", 5), ("ferritin", 3), ("esr", 2)):
        before = median("disease_activity", marker, "baseline_arm_1")
        assert median("disease_activity", marker, "month_1_arm_1") < before / factor
    assert median("biomarker_sample", "il18", "baseline_arm_1") > 5000  # IL-18 very high at onset
    assert median("biomarker_sample", "nk_lysis_25", "month_6_arm_1") > 1.5 * median(
        "biomarker_sample", "nk_lysis_25", "baseline_arm_1"
    )
    # Fever on every baseline visit, and gone by month 1 for most patients.
    assert set(_baseline(demo, "disease_activity", "fever_days_7d").values()) == {"7"}
    month1 = list(_baseline(demo, "disease_activity", "fever_days_7d", "month_1_arm_1").values())
    assert month1.count("0") > 0.8 * len(month1)


def test_cohort_has_mas_adverse_events_and_late_arthritis(demo):
    categories = FormInstance.objects.filter(record__project=demo, instrument="adverse_event").values_list(
        "data__ae_category", flat=True
    )
    assert "3" in categories and "1" in categories  # MAS episodes and infections
    new_arthritis = FormInstance.objects.filter(
        record__project=demo, instrument="followup_status", data__arthritis_new="1"
    )
    assert new_arthritis.exists()


def test_each_record_has_one_bulk_load_audit_row_sealing_its_data(demo):
    from registry.demo.cohort import record_digest

    rows = AuditEvent.objects.filter(project=demo, action="bulk_load")
    assert rows.count() == Record.objects.filter(project=demo).count() == 40
    row = rows.get(record_id="LPR-0005")
    forms = list(FormInstance.objects.filter(record__record_id="LPR-0005", record__project=demo))
    assert row.details["sha256"] == record_digest(forms) and row.details["form_instances"] == len(forms)
    assert row.source == "import" and row.username == "datamanager"
    assert verify_chain(chain_of(demo)).ok


def test_demo_is_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("load_demo", "--records", "3")
