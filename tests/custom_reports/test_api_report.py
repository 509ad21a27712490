"""`content=report` through the real PyCap client against a live server."""

from __future__ import annotations

import pytest
from redcap import Project, RedcapError

from registry.api.services.tokens import token_create
from registry.custom_reports.services import ReportSpec, report_save, report_table
from tests.exports.helpers import build_sojia_world, make_patients

FILTER = "[crp] >= 11 and [ferritin] > 450"


@pytest.fixture
def api(live_server, transactional_db):
    world = build_sojia_world()
    make_patients(world, 6)
    spec = ReportSpec(title="High CRP", instruments=["disease_activity"], fields=["sex"], filter_logic=FILTER,
                      roles=["coordinator", "statistician"])  # fmt: skip
    report = report_save(scope=world.scope("dm"), spec=spec)
    tokens = {name: token_create(user=world.users[name], project=world.project) for name in ("dm", "coord_a")}
    return world, report, live_server.url + "/api/", tokens


def test_pycap_export_report_returns_the_reports_rows(api):
    world, report, url, tokens = api
    dm = Project(url, tokens["dm"])
    rows = dm.export_report(report_id=str(report.pk))
    expected = report_table(world.scope("dm"), report, include_dag=False).rows
    assert rows and [(r["record_id"], r["redcap_event_name"]) for r in rows] == [
        (r["record_id"], r["redcap_event_name"]) for r in expected
    ]
    assert {"record_id", "redcap_event_name", "crp", "ferritin", "sex"} <= set(rows[0])
    assert "name_first" not in rows[0]
    df = dm.export_report(report_id=str(report.pk), format_type="df")
    assert list(df.index.names) == ["record_id", "redcap_event_name"] and len(df) == len(rows)
    labelled = dm.export_report(report_id=str(report.pk), raw_or_label="label")
    assert {r["redcap_event_name"] for r in labelled} <= {label for _n, label in _events(world)}

    coord = Project(url, tokens["coord_a"])
    mine = coord.export_report(report_id=str(report.pk))
    site_a = set(world.project.records.filter(site=world.site_a).values_list("record_id", flat=True))
    assert mine and {r["record_id"] for r in mine} <= site_a and len(mine) < len(rows)


def test_foreign_report_id_is_refused_like_redcap(api):
    _world, report, url, tokens = api
    with pytest.raises(RedcapError, match=f"report_id={report.pk + 1000} does not belong to this project"):
        Project(url, tokens["dm"]).export_report(report_id=str(report.pk + 1000))


def _events(world):
    from registry.services.design import design_of

    return list(design_of(world.project).events)
