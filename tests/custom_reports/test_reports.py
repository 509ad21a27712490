"""Custom reports: filter against the evaluator, site scoping, built-ins, roles, pages, statistics, downloads."""

from __future__ import annotations

import statistics

import pytest
from django.urls import reverse

from registry.custom_reports.models import Report
from registry.custom_reports.services import (
    ReportError,
    ReportNotFound,
    ReportSpec,
    builtin_report,
    report_get,
    report_save,
    report_table,
)
from registry.exports.models import Release
from registry.models import AuditEvent, FormInstance
from tests.custom_reports.helpers import expected_rows, table_keys

FILTER = "[crp] >= 11 and [ferritin] > 450"


def _report(world, **extra) -> Report:
    spec = ReportSpec(title="High CRP visits", instruments=["disease_activity"], filter_logic=FILTER,
                      roles=["monitor", "coordinator", "statistician"], **extra)  # fmt: skip
    return report_save(scope=world.scope("dm"), spec=spec)


def test_filtered_report_rows_are_exactly_what_the_logic_selects(sojia):
    report = _report(sojia)
    table = report_table(sojia.scope("dm"), report)
    expected = expected_rows(sojia.scope("dm"), FILTER, "disease_activity")
    assert expected and table_keys(table.rows) == expected
    everything = report_table(sojia.scope("dm"), builtin_report(sojia.scope("dm"), "all"))
    assert len(everything.rows) > len(table.rows)  # the filter really drops rows
    assert AuditEvent.objects.filter(action="report_created", details__report=report.pk).exists()


def test_coordinator_sees_her_sites_rows_only(sojia):
    report = _report(sojia)
    mine = report_table(sojia.scope("coord_a"), report)
    expected = expected_rows(sojia.scope("coord_a"), FILTER, "disease_activity")
    assert table_keys(mine.rows) == expected
    site_a = set(sojia.project.records.filter(site=sojia.site_a).values_list("record_id", flat=True))
    assert {r["record_id"] for r in mine.rows} <= site_a
    everyone = report_table(sojia.scope("dm"), report)
    assert table_keys(mine.rows) < table_keys(everyone.rows)
    with pytest.raises(ReportError):
        report_table(sojia.scope("coord_a"), report, site="b")


def test_sort_order_event_filter_and_roles(sojia):
    report = _report(sojia, sort=[("ferritin", True)], fields=["crp"])
    rows = report_table(sojia.scope("dm"), report).rows
    ferritin = [float(r["ferritin"]) for r in rows]
    assert ferritin == sorted(ferritin, reverse=True)
    day3 = report_table(sojia.scope("dm"), report, event="day_3_arm_1").rows
    assert day3 and {r["redcap_event_name"] for r in day3} == {"day_3_arm_1"}
    private = report_save(scope=sojia.scope("dm"), spec=ReportSpec(title="DM only", roles=[]))
    with pytest.raises(ReportNotFound):
        report_get(sojia.scope("monitor"), str(private.pk))
    assert report_get(sojia.scope("monitor"), str(report.pk)) == report
    with pytest.raises(ReportError, match="not a field"):
        report_save(scope=sojia.scope("dm"), spec=ReportSpec(title="x", fields=["nope"]))
    with pytest.raises(ReportError, match="filter"):
        report_save(scope=sojia.scope("dm"), spec=ReportSpec(title="x", filter_logic="[crp] >>> 2"))


def test_statistician_sees_no_identifiers(sojia):
    table = report_table(sojia.scope("stat"), builtin_report(sojia.scope("stat"), "all"))
    names = {c.name for c in table.columns}
    assert "name_first" not in names and "dob" not in names and "crp" in names
    real_ids = set(sojia.project.records.values_list("record_id", flat=True))
    assert not {r["record_id"] for r in table.rows} & real_ids  # hashed, as in the de-identified exports


def test_pages_list_open_filter_statistics_and_download(client, sojia):
    report = _report(sojia)
    code = sojia.project.code
    client.force_login(sojia.users["dm"])
    listing = client.get(reverse("custom-reports", args=[code])).content.decode()
    assert "All data" in listing and "Selected instruments and events" in listing and report.title in listing
    page = client.get(reverse("custom-report", args=[code, report.pk]))
    expected = expected_rows(sojia.scope("dm"), FILTER, "disease_activity")
    assert f"{len(expected)} row" in page.content.decode()
    site_b = client.get(reverse("custom-report", args=[code, report.pk]), {"site": "b"}).content.decode()
    expected_b = {k for k in expected if sojia.project.records.get(record_id=k[0]).site == sojia.site_b}
    assert f"{len(expected_b)} row" in site_b
    selected = client.get(reverse("custom-report", args=[code, "selected"]),
                          {"instruments": "enrollment", "events": "baseline_arm_1"})  # fmt: skip
    assert selected.status_code == 200 and b"sex" in selected.content and b"ferritin" not in selected.content

    stats = client.get(reverse("custom-report-stats", args=[code, report.pk])).content.decode()
    ferritin = [float(FormInstance.objects.get(record__record_id=r, event=e, instrument="disease_activity",
                                               instance=i or 1).data["ferritin"]) for r, e, i in expected]  # fmt: skip
    assert f"{statistics.median(ferritin):.2f}" in stats and "<svg" in stats and "<script>" not in stats

    response = client.post(reverse("custom-report-download", args=[code, report.pk]),
                           {"profile": "deidentified", "format": "csv"})  # fmt: skip
    assert response.status_code == 302
    release = Release.objects.get()
    assert release.options["filter_logic"] == FILTER and release.options["instruments"] == ["disease_activity"]


def test_monitor_cannot_download_and_pi_cannot_define(client, sojia):
    report = _report(sojia)
    code = sojia.project.code
    client.force_login(sojia.users["monitor"])
    assert client.get(reverse("custom-report", args=[code, report.pk])).status_code == 200
    assert client.post(reverse("custom-report-download", args=[code, report.pk]),
                       {"profile": "full", "format": "csv"}).status_code == 404  # fmt: skip
    client.force_login(sojia.users["pi"])
    assert client.get(reverse("custom-report-new", args=[code])).status_code == 404
    assert client.get(reverse("custom-report", args=[code, report.pk])).status_code == 404  # not granted to PIs


def test_define_report_through_the_form(client, sojia):
    client.force_login(sojia.users["stat"])
    code = sojia.project.code
    response = client.post(reverse("custom-report-new", args=[code]), {
        "title": "Baseline sex", "instruments": ["enrollment"], "events": ["baseline_arm_1"],
        "filter_logic": "[sex] = '2'", "roles": ["statistician"], "sort_1": "sex",
    })  # fmt: skip
    report = Report.objects.get(title="Baseline sex")
    assert response.status_code == 302 and report.created_by == sojia.users["stat"]
    assert report.sort == [{"field": "sex", "desc": False}]
    rows = report_table(sojia.scope("stat"), report).rows
    assert rows and all(r["sex"] == "2" for r in rows)
