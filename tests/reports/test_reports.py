"""The study's reports on the demo cohort: right numbers, charts rendered, scoped by site, no identifiers."""

from __future__ import annotations

import csv
import io
import statistics
import xml.etree.ElementTree as ET

import pytest
from scipy.stats import mannwhitneyu

from registry.access import scope_for
from registry.models import FormInstance, Record
from registry.reports.response import inactive_svg, response, response_svg
from registry.reports.timeline import timeline, timeline_svg
from registry.services.design import design_of

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


def _login(client, username):
    assert client.login(username=username, password=f"demo-{username}")


def _rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _baseline_numbers(project, instrument, name, cohort):
    cohorts = {
        f.record_id: f.data.get("cohort")
        for f in FormInstance.objects.filter(record__project=project, instrument="enrollment")
    }
    out = []
    for f in FormInstance.objects.filter(record__project=project, event="baseline_arm_1", instrument=instrument):
        if cohorts[f.record_id] == cohort and f.data.get(name):
            out.append(float(f.data[name]))
    return out


def test_table1_compares_the_cohorts_with_medians_and_mann_whitney(demo, client):
    _login(client, "statistician")
    page = client.get("/projects/sojia/reports/table1/")
    assert page.status_code == 200
    assert "Suspected sJIA (N=8)" in page.content.decode() and "Established sJIA (N=32)" in page.content.decode()
    rows = _rows(client.get("/projects/sojia/reports/table1/?format=csv"))
    crp = {r["cohort"]: r for r in rows if r["variable"] == "CRP"}
    suspected = _baseline_numbers(demo, "disease_activity", "crp_mgl", "1")
    established = _baseline_numbers(demo, "disease_activity", "crp_mgl", "2")
    assert float(crp["Suspected sJIA"]["median"]) == pytest.approx(statistics.median(suspected), abs=0.001)
    assert int(crp["Established sJIA"]["n"]) == len(established) == 32
    expected_p = mannwhitneyu(suspected, established, alternative="two-sided").pvalue
    assert float(crp["Suspected sJIA"]["p"]) == pytest.approx(expected_p, abs=1e-4)
    # IL-18 comes from the baseline sample: patients without biobank consent count as missing.
    il18 = {r["cohort"]: r for r in rows if r["variable"] == "IL-18"}
    assert int(il18["Established sJIA"]["n"]) + int(il18["Established sJIA"]["missing"]) == 32
    arthritis = {r["cohort"]: r for r in rows if r["variable"] == "Arthritis at enrolment"}
    assert arthritis["Suspected sJIA"]["yes"] == "0" and arthritis["Established sJIA"]["share"] == "1"


def test_a_coordinator_sees_and_downloads_only_her_sites_patients(demo, client):
    _login(client, "coordinator_a")
    page = client.get("/projects/sojia/reports/table1/").content.decode()
    cohorts = list(
        FormInstance.objects.filter(record__site__code="site_01", instrument="enrollment").values_list(
            "data__cohort", flat=True
        )
    )
    assert "Patients of Northfield Children&#x27;s Hospital only." in page
    assert f"Suspected sJIA (N={cohorts.count('1')})" in page
    assert f"Established sJIA (N={cohorts.count('2')})" in page
    assert cohorts.count("1") + cohorts.count("2") == 14 < 40
    assert client.get("/projects/sojia/reports/timeline/NCH-0001/").status_code == 200
    assert client.get("/projects/sojia/reports/timeline/RUM-0001/").status_code == 404
    rows = _rows(client.get("/projects/sojia/reports/table1/?format=csv"))
    age = {r["cohort"]: int(r["n"]) + int(r["missing"]) for r in rows if r["variable"] == "Age at enrolment"}
    assert age == {"Suspected sJIA": cohorts.count("1"), "Established sJIA": cohorts.count("2")}


def test_no_report_shows_a_statistician_any_identifier(demo, client):
    _login(client, "statistician")
    identifiers = set()
    for f in FormInstance.objects.filter(record__project=demo, instrument="enrollment"):
        identifiers |= {f.data[k] for k in ("name_first", "name_last", "dob", "mrn") if f.data.get(k)}
    pages = ["/projects/sojia/reports/", "/projects/sojia/reports/table1/", "/projects/sojia/reports/response/"]
    for record_id in ("NCH-0001", "RUM-0004", "LPR-0006"):
        pages += [
            f"/projects/sojia/reports/timeline/{record_id}/",
            f"/projects/sojia/reports/timeline/{record_id}/?format=csv",
        ]
    pages += ["/projects/sojia/reports/table1/?format=csv", "/projects/sojia/reports/response/?format=csv"]
    for url in pages:
        body = client.get(url).content.decode()
        leaked = [value for value in identifiers if value in body]
        assert leaked == [], url


def test_every_demo_patients_timeline_renders_with_dosing_and_fever(demo):
    manager = demo.memberships.get(user__username="datamanager").user
    scope, design = scope_for(manager, demo), design_of(demo)
    for record in Record.objects.filter(project=demo):
        t = timeline(scope, design, record.record_id)
        svg = ET.fromstring(timeline_svg(t))  # noqa: S314 - SVG this project generated
        assert svg.tag == f"{SVG}svg"
        assert (
            len(svg.findall(f".//{SVG}rect[@class='dosing']"))
            == FormInstance.objects.filter(record=record, instrument="anakinra_period").count()
        )
        assert svg.findall(f".//{SVG}rect[@class='fever']"), record.record_id  # fever before the first dose
        assert {p.get("data-series") for p in svg.findall(f".//{SVG}path")} >= {"CRP", "Ferritin"}


def test_timeline_shows_the_values_on_study_days(demo, client):
    _login(client, "datamanager")
    rows = _rows(client.get("/projects/sojia/reports/timeline/NCH-0009/?format=csv"))
    day3 = next(r for r in rows if r["event"] == "day_3_arm_1")
    assert day3["ferritin"] == "15400" and day3["study_day"] == "3"  # the planted R03 error, as stored
    assert rows[0]["event"] == "baseline_arm_1" and rows[0]["study_day"] == "0" and rows[0]["fever_days_7d"] == "7"
    page = client.get("/projects/sojia/reports/timeline/NCH-0009/?until=30").content.decode()
    assert 'data-testid="timeline-chart"' in page and "<script" not in page.split("<main")[1].split("</main>")[0]


def test_cohort_response_medians_fall_and_inactive_disease_rises(demo, client):
    manager = demo.memberships.get(user__username="datamanager").user
    result = response(scope_for(manager, demo), design_of(demo))
    for cohort in ("1", "2"):
        weeks = {w.event: w for w in result.weeks if w.cohort == cohort}
        assert weeks["baseline_arm_1"].week == 0 and weeks["month_3_arm_1"].week == pytest.approx(13, abs=1)
        assert weeks["month_1_arm_1"].crp.median < weeks["baseline_arm_1"].crp.median / 5
        assert weeks["month_1_arm_1"].crp.q1 <= weeks["month_1_arm_1"].crp.median <= weeks["month_1_arm_1"].crp.q3
        shares = [i.share for i in result.inactive if i.cohort == cohort]
        assert shares[0] < shares[-1]
    for svg in (response_svg(result), inactive_svg(result)):
        root = ET.fromstring(svg)  # noqa: S314
        assert root.findall(f".//{SVG}polygon[@class='iqr-band']") or root.findall(
            f".//{SVG}rect[@class='inactive-bar']"
        )
    _login(client, "pi")
    page = client.get("/projects/sojia/reports/response/").content.decode()
    assert 'data-testid="response-chart"' in page and 'data-testid="inactive-chart"' in page
    assert client.get("/projects/sojia/reports/response/?format=csv").status_code == 404  # a PI has no export right
    _login(client, "statistician")
    rows = _rows(client.get("/projects/sojia/reports/response/?format=csv"))
    month12 = [r for r in rows if r["table"] == "inactive_disease" and r["event"] == "Month 12"]
    assert [r["cohort"] for r in month12] == ["Suspected sJIA", "Established sJIA"]


@pytest.mark.parametrize("username", ["datamanager", "monitor", "statistician", "pi", "coordinator_b"])
def test_every_demo_role_can_open_the_dashboard_and_reports(demo, client, username):
    _login(client, username)
    for url in (
        "/projects/sojia/records/",
        "/projects/sojia/reports/",
        "/projects/sojia/reports/table1/",
        "/projects/sojia/reports/response/",
    ):
        assert client.get(url).status_code == 200, url
