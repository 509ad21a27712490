"""The data resolution workflow: statuses by the right roles, refusals, site scoping, SDV, auto-close."""

from __future__ import annotations

import pytest
from django.core import mail
from django.http import Http404

from registry.models import AuditEvent, FormInstance
from registry.quality.models import Query, QueryStatus
from registry.quality.services.notifications import send_daily_digests, unread
from registry.quality.services.queries import (
    QueryError,
    query_answer,
    query_close,
    query_open,
    query_reopen,
    query_send_back,
    visible_queries,
)
from registry.quality.services.runs import run_sync
from registry.quality.services.verification import verified_points, verify
from registry.services.design import design_of
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world


@pytest.fixture
def world(db):
    project = import_classic("dqq")
    world = build_world(project=project)
    event = design_of(project).default_event()
    world.records = {}
    for site, who in ((world.site_a, "coord_a"), (world.site_b, "coord_b")):
        record = record_create(scope=world.scope(who), site=site)
        form_save(scope=world.scope(who), record=record, event=event, instrument="demographics",
                  values={"age": "40", "consent": "0", "weight": "70", "height": "175"})  # fmt: skip
        world.records[site.code] = record
    world.event = event
    return world


def test_query_goes_through_every_status_by_the_right_roles(world):
    record = world.records["a"]
    monitor, coord = world.scope("monitor"), world.scope("coord_a")
    q = query_open(scope=monitor, record=record, event=world.event, instrument="demographics", field="weight",
                   comment="Weight differs from the source (68 kg)", assignee=world.users["coord_a"],
                   priority="high")  # fmt: skip
    assert q.status == QueryStatus.OPEN
    assert [n.text for n in unread(world.users["coord_a"])] == [
        f"Query #{q.pk} opened on {record.record_id} (demographics/weight)"
    ]

    with pytest.raises(Http404):  # a coordinator cannot close
        query_close(scope=coord, query=q, comment="done")
    q = query_answer(scope=coord, query=q, category="corrected", comment="Typo, corrected from source",
                     values={"weight": "68"})  # fmt: skip
    assert q.status == QueryStatus.ANSWERED
    form = FormInstance.objects.get(record=record, instrument="demographics")
    assert form.data["weight"] == "68"
    change = AuditEvent.objects.filter(project=world.project, field="weight", action="data_change").last()
    assert (change.old_value, change.new_value) == ("70", "68")
    assert f"Query #{q.pk}" in change.reason  # the correction is linked to the query in the audit trail
    assert q.messages.get(kind="answer").correction["fields"] == ["bmi", "weight"]

    with pytest.raises(QueryError):
        query_answer(scope=coord, query=q, category="other", comment="again")  # answered: not open
    q = query_send_back(scope=monitor, query=q, comment="Please attach the lab sheet")
    assert q.status == QueryStatus.OPEN
    q = query_answer(scope=coord, query=q, category="confirmed", comment="Sheet filed")
    q = query_close(scope=monitor, query=q, comment="OK")
    assert q.status == QueryStatus.CLOSED and q.closed_at and not q.closed_by_system
    with pytest.raises(Http404):  # a coordinator cannot re-open
        query_reopen(scope=coord, query=q, comment="why")
    q = query_reopen(scope=monitor, query=q, comment="Source changed")
    assert q.status == QueryStatus.OPEN
    kinds = list(q.messages.values_list("kind", flat=True))
    assert kinds == ["open", "answer", "send_back", "answer", "close", "reopen"]
    actions = set(
        AuditEvent.objects.filter(project=world.project, action__startswith="query_").values_list("action", flat=True)
    )
    assert actions == {"query_open", "query_answer", "query_send_back", "query_close", "query_reopen"}


def test_wrong_roles_are_refused(world):
    record = world.records["a"]
    for who in ("coord_a", "stat", "pi"):
        with pytest.raises(Http404):
            query_open(scope=world.scope(who), record=record, event=world.event, field="age", comment="?")
    q = query_open(scope=world.scope("monitor"), record=record, event=world.event, field="age", comment="Age?")
    for who in ("stat", "pi"):
        with pytest.raises(Http404):
            query_answer(scope=world.scope(who), query=q, category="other", comment="x")
    assert not visible_queries(world.scope("coord_b")).filter(pk=q.pk).exists()
    with pytest.raises(Http404):  # another site's coordinator cannot answer it either
        query_answer(scope=world.scope("coord_b"), query=q, category="other", comment="x")
    with pytest.raises(Http404):
        verify(scope=world.scope("coord_a"), record=record, event=world.event, instrument="demographics")


def test_coordinators_see_only_their_sites_queries(world, client):
    monitor = world.scope("monitor")
    qa = query_open(scope=monitor, record=world.records["a"], comment="Record-level question A")
    qb = query_open(scope=monitor, record=world.records["b"], comment="Record-level question B")
    assert list(visible_queries(world.scope("coord_a"))) == [qa]
    assert set(visible_queries(monitor)) == {qa, qb}
    client.force_login(world.users["coord_a"])
    page = client.get(f"/projects/{world.project.code}/queries/")
    assert page.status_code == 200
    assert world.records["a"].record_id in page.content.decode()
    assert world.records["b"].record_id not in page.content.decode()
    assert client.get(f"/projects/{world.project.code}/queries/{qb.pk}/").status_code == 404
    csv_rows = client.get(f"/projects/{world.project.code}/queries/?format=csv").content.decode().strip().splitlines()
    assert len(csv_rows) == 2 and csv_rows[1].startswith(f"{qa.pk},")


def test_rule_query_closes_itself_after_the_fix(world):
    from registry.quality.services.custom_rules import rule_save

    dm, coord = world.scope("dm"), world.scope("coord_a")
    rule_save(scope=dm, name="W1 Weight over 120 kg", logic="[weight] > 120", real_time=True)
    record = world.records["a"]
    outcome = form_save(scope=coord, record=record, event=world.event, instrument="demographics",
                        values={"weight": "130"}, partial=True)  # fmt: skip
    assert [m.rule for m in outcome.rule_messages] == ["W1"]  # advisory, the value is saved
    assert FormInstance.objects.get(record=record, instrument="demographics").data["weight"] == "130"

    run = run_sync(scope=dm, rules=["W1"])
    from registry.quality.services.runs import execute

    run.params["open_queries"] = True
    execute(run)
    query = Query.objects.get(rule="W1")
    assert (query.record, query.field, query.status) == (record, "weight", QueryStatus.OPEN)
    execute(run)  # the same rule on the same data point never opens a second query
    assert Query.objects.filter(rule="W1").count() == 1

    outcome = form_save(scope=coord, record=record, event=world.event, instrument="demographics",
                        values={"weight": "80"}, partial=True)  # fmt: skip
    assert outcome.rule_messages == []
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by_system
    assert AuditEvent.objects.filter(project=world.project, action="query_system_close").count() == 1


def test_verification_is_cleared_when_the_value_changes(world):
    record, monitor = world.records["a"], world.scope("monitor")
    design = design_of(world.project)
    verify(scope=monitor, record=record, event=world.event, instrument="demographics", field="age")
    verify(scope=monitor, record=record, event=world.event, instrument="demographics", field="weight")
    form = FormInstance.objects.get(record=record, instrument="demographics")
    assert verified_points(design, form) == {"age", "weight"}
    form_save(scope=world.scope("coord_a"), record=record, event=world.event, instrument="demographics",
              values={"weight": "71"}, partial=True)  # fmt: skip
    form.refresh_from_db()
    assert verified_points(design, form) == {"age"}
    assert AuditEvent.objects.filter(project=world.project, action="sdv_cleared", field="weight").exists()


def test_daily_digest_mails_each_user_once(world):
    world.users["coord_a"].email = "coord@example.org"
    world.users["coord_a"].save()
    query_open(scope=world.scope("monitor"), record=world.records["a"], comment="First")
    query_open(scope=world.scope("monitor"), record=world.records["a"], comment="Second")
    assert send_daily_digests() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["coord@example.org"]
    assert "2 update(s)" in mail.outbox[0].subject
    assert send_daily_digests() == 0  # nothing new since
