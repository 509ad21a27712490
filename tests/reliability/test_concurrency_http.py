"""Concurrent users over real HTTP: gunicorn (separate processes, several threads) on the test database.

Each scenario releases its requests together with a barrier; the assertions do not depend on which request
wins, only on what every user is told and what is stored and audited afterwards.
"""

from __future__ import annotations

import json

import pytest

from registry.api.services.tokens import token_create
from registry.models import AuditEvent, FormInstance, Record
from registry.services.audit import verify_chain
from registry.services.entry import form_save
from registry.services.records import format_record_id, record_create
from tests.registry.designs import import_classic
from tests.registry.factories import build_world
from tests.reliability.web import ROW_VERSION, all_at_once, clone, csrf_of, gunicorn_on_test_db, login

CODE = "conc"
FORM = f"/projects/{CODE}/records/{{record}}/event_1_arm_1/demographics/1/"


@pytest.fixture
def world(transactional_db):
    return build_world(project=import_classic(CODE))


@pytest.fixture
def base(world):
    with gunicorn_on_test_db() as url:
        yield url


def password(who: str) -> str:
    return "pw-" + who * 3  # tests/registry/factories.py


def open_form(session, base: str, record: str) -> dict[str, str]:
    """GET the form as a user's browser does: the CSRF token and the row_version the page was rendered with."""
    page = session.get(base + FORM.format(record=record), timeout=60)
    assert page.status_code == 200
    return {"csrfmiddlewaretoken": csrf_of(session, base), "row_version": ROW_VERSION.search(page.text).group(1)}


def save(session, base: str, record: str, opened: dict[str, str], weight: str):
    data = {**opened, "age": "9", "consent": "0", "weight": weight, "status": "0"}
    return session.post(base + FORM.format(record=record), data=data, allow_redirects=False, timeout=60)


@pytest.mark.parametrize("existing", [True, False], ids=["saved-form", "blank-form"])
def test_two_users_saving_one_form_one_conflict_nothing_lost(world, base, existing):
    record = record_create(scope=world.scope("coord_a"), site=world.site_a)
    if existing:
        form_save(scope=world.scope("coord_a"), record=record, event="event_1_arm_1", instrument="demographics",
                  values={"age": "9", "consent": "0", "weight": "30"})  # fmt: skip
    coord = login(base, f"{CODE}_coord_a", password("coord_a"))
    dm = login(base, f"{CODE}_dm", password("dm"))
    opened = [open_form(coord, base, record.record_id), open_form(dm, base, record.record_id)]  # same version

    answers = all_at_once([lambda: save(coord, base, record.record_id, opened[0], "41"),
                           lambda: save(dm, base, record.record_id, opened[1], "42")])  # fmt: skip

    assert sorted(a.status_code for a in answers) == [302, 409]  # one saved, one told of the conflict
    winner, loser = (0, 1) if answers[0].status_code == 302 else (1, 0)
    kept, refused = ("41", "42")[winner], ("41", "42")[loser]
    form = FormInstance.objects.get(record=record, event="event_1_arm_1", instrument="demographics", instance=1)
    assert form.data["weight"] == kept
    # Nothing is lost: the refused user's page shows their own value beside the one now stored.
    conflict_page = answers[loser].text
    assert "Someone else saved this form while you were editing it" in conflict_page
    assert f"<tr><td>weight</td><td>{kept}</td><td>{refused}</td></tr>" in conflict_page
    weights = AuditEvent.objects.filter(record_id=record.record_id, field="weight").order_by("sequence")
    assert [w.new_value for w in weights] == (["30", kept] if existing else [kept])  # the refused save wrote nothing


def test_fifty_concurrent_enrolments_at_one_site_get_unique_gapless_ids(world, base):
    coord = login(base, f"{CODE}_coord_a", password("coord_a"))
    csrf = csrf_of(coord, base)
    sessions = [clone(coord) for _ in range(50)]

    def enrol(session):
        return session.post(f"{base}/projects/{CODE}/records/new/", data={"csrfmiddlewaretoken": csrf},
                            headers={"Referer": base + "/"}, allow_redirects=False, timeout=120)  # fmt: skip

    answers = all_at_once([lambda s=s: enrol(s) for s in sessions])

    assert [a.status_code for a in answers] == [302] * 50
    told = sorted(a.headers["Location"].split("/records/")[1].split("/")[0] for a in answers)
    expected = [format_record_id(world.site_a, n) for n in range(1, 51)]
    assert told == expected  # every user was given a different id, and none was skipped
    assert sorted(Record.objects.filter(project=world.project).values_list("record_id", flat=True)) == expected
    created = AuditEvent.objects.filter(chain=f"project:{CODE}", action="record_created")
    assert sorted(created.values_list("record_id", flat=True)) == expected
    assert verify_chain(f"project:{CODE}").ok
    # The next enrolment continues the sequence.
    assert record_create(scope=world.scope("coord_a"), site=world.site_a).record_id == format_record_id(
        world.site_a, 51
    )


def api_import(base: str, token: str, rows: list[dict[str, str]]):
    import requests

    data = {"token": token, "content": "record", "format": "json", "type": "flat", "data": json.dumps(rows),
            "returnFormat": "json"}  # fmt: skip
    return requests.post(f"{base}/api/", data=data, timeout=120)


@pytest.mark.parametrize("record_exists", [True, False], ids=["existing-record", "new-record"])
def test_concurrent_api_imports_to_one_record_are_serialized_and_all_audited(world, base, record_exists):
    scope = world.scope("coord_a")
    name = record_create(scope=scope, site=world.site_a).record_id if record_exists else "AAA-0900"
    token = token_create(user=world.users["coord_a"], project=world.project)
    ages = [str(10 + i) for i in range(8)]
    rows = [[{"record_id": name, "age": age, "weight": str(20 + i)}] for i, age in enumerate(ages)]

    answers = all_at_once([lambda r=r: api_import(base, token, r) for r in rows])

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"count": 1})] * 8
    assert Record.objects.filter(project=world.project, record_id=name).count() == 1
    history = list(AuditEvent.objects.filter(record_id=name, field="age").order_by("sequence"))
    assert sorted(h.new_value for h in history) == ages  # every import was applied and audited
    # Serialized: each import saw the value the one before it wrote (no import overwrote another unseen).
    assert [h.old_value for h in history] == [None, *[h.new_value for h in history[:-1]]]
    form = FormInstance.objects.get(record__record_id=name, instrument="demographics")
    assert form.data["age"] == history[-1].new_value
    assert form.row_version == 8  # one version per import
    assert AuditEvent.objects.filter(chain=f"project:{CODE}", action="api_record_import").count() == 8
    assert verify_chain(f"project:{CODE}").ok


def test_concurrent_api_imports_naming_records_in_opposite_orders_all_succeed(world, base):
    """Each import locks its records up front in one order, so crossing imports wait instead of deadlocking."""
    scope = world.scope("coord_a")
    first, second = (record_create(scope=scope, site=world.site_a).record_id for _ in range(2))
    token = token_create(user=world.users["coord_a"], project=world.project)
    batches = []
    for i in range(8):
        names = [first, second] if i % 2 == 0 else [second, first]
        batches.append([{"record_id": name, "age": str(20 + i), "weight": str(30 + i)} for name in names])

    answers = all_at_once([lambda b=b: api_import(base, token, b) for b in batches])

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"count": 2})] * 8
    for name in (first, second):
        form = FormInstance.objects.get(record__record_id=name, instrument="demographics")
        assert form.row_version == 8  # one version per import
    assert AuditEvent.objects.filter(chain=f"project:{CODE}", action="api_record_import").count() == 8
    assert verify_chain(f"project:{CODE}").ok
