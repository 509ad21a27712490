"""The save floor's page: the least a save can do, answering only on the benchmark's own server.

It writes what a browser posts into a scratch row without any audit, so the checks here are that it
stays shut everywhere else, stays behind login and CSRF like every page, and writes the post it got.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from registry.bench.views import FLOOR_SLOTS
from registry.models import AuditEvent, SaveFloorRow

BODY = {"bw_kg": "21.5", "fever_days": "9", "csrfmiddlewaretoken": "x", "row_version": "3", "reason": "r",
        "save_stay": ""}  # fmt: skip


@pytest.fixture
def signed_in(make_user):
    client = Client()
    client.force_login(make_user())
    return client


def floor(slot: int = 0) -> str:
    return reverse("bench-save-floor", args=[slot])


@pytest.mark.django_db
def test_the_floor_is_a_404_where_the_benchmark_did_not_turn_it_on(signed_in, settings):
    settings.BENCH_SAVE_FLOOR = False  # every deployment's default
    answer = signed_in.post(floor(), BODY)
    assert answer.status_code == 404
    assert not SaveFloorRow.objects.exists()


@pytest.mark.django_db
def test_the_floor_writes_the_posted_values_as_one_row_and_answers_as_a_save_does(signed_in, settings):
    settings.BENCH_SAVE_FLOOR = True
    audited = AuditEvent.objects.count()  # signing in is audited; the floor's writes are not
    answer = signed_in.post(floor(3), BODY)
    assert answer.status_code == 302 and answer["Location"] == floor(3)  # back to itself, like "Save and stay"
    row = SaveFloorRow.objects.get(slot=3)
    assert row.data == {"bw_kg": "21.5", "fever_days": "9"}  # the values, not the page's own fields
    assert row.row_version == 1

    signed_in.post(floor(3), {**BODY, "bw_kg": "22.0"})
    row.refresh_from_db()
    assert (row.data["bw_kg"], row.row_version) == ("22.0", 2)  # rewritten in place: one row per slot
    assert SaveFloorRow.objects.count() == 1
    assert AuditEvent.objects.count() == audited  # scratch data: no record, no audit row


@pytest.mark.django_db
def test_the_floor_keeps_login_csrf_post_only_and_a_bounded_number_of_rows(make_user, settings):
    settings.BENCH_SAVE_FLOOR = True
    anonymous = Client()
    answer = anonymous.post(floor(), BODY)
    assert answer.status_code == 302 and reverse("login") in answer["Location"]

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user())
    assert strict.post(floor(), BODY).status_code == 403  # a made-up token, as on every form page

    signed_in = Client()
    signed_in.force_login(make_user("bob"))
    assert signed_in.get(floor()).status_code == 405
    assert signed_in.post(floor(FLOOR_SLOTS), BODY).status_code == 404
    assert not SaveFloorRow.objects.exists()
