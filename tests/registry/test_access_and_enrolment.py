"""Site scoping and roles decide records and actions; record ids are per-site, unique and gapless."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.http import Http404

from registry.access import Right, project_scope_or_404, record_or_404, scope_for
from registry.models import Record
from registry.services.records import EnrollmentError, record_create
from tests.registry.factories import build_world


@pytest.mark.django_db
def test_coordinator_sees_only_her_site():
    world = build_world()
    a1 = record_create(scope=world.scope("coord_a"))
    b1 = record_create(scope=world.scope("coord_b"))
    assert (a1.record_id, b1.record_id) == ("AAA-0001", "BBB-0001")
    assert list(world.scope("coord_a").records()) == [a1]
    assert set(world.scope("monitor").records()) == {a1, b1}
    with pytest.raises(Http404):
        record_or_404(world.scope("coord_a"), "BBB-0001")


@pytest.mark.django_db
def test_non_member_and_unknown_project_are_404(make_user):
    world = build_world()
    stranger = make_user("stranger")
    assert scope_for(stranger, world.project) is None
    with pytest.raises(Http404):
        project_scope_or_404(stranger, world.project.code)
    with pytest.raises(Http404):
        project_scope_or_404(world.users["dm"], "no-such-project")


@pytest.mark.django_db
def test_roles_rights():
    world = build_world()
    assert world.scope("coord_a").can(Right.ENTER_DATA)
    assert not world.scope("monitor").can(Right.ENTER_DATA)
    assert world.scope("monitor").can(Right.OPEN_QUERY)
    assert world.scope("pi").can(Right.SIGN) and not world.scope("coord_a").can(Right.SIGN)
    stat = world.scope("stat")
    assert not stat.can(Right.VIEW_IDENTIFIERS)
    assert stat.export_profiles() == ("deidentified",)
    assert world.scope("dm").export_profiles() == ("full", "limited", "deidentified")
    with pytest.raises(Http404):
        record_create(scope=world.scope("monitor"))


@pytest.mark.django_db
def test_all_site_user_must_choose_a_site_in_scope():
    world = build_world()
    with pytest.raises(EnrollmentError):
        record_create(scope=world.scope("dm"))
    assert record_create(scope=world.scope("dm"), site=world.site_b).record_id == "BBB-0001"
    with pytest.raises(EnrollmentError):
        record_create(scope=world.scope("coord_a"), site=world.site_b)


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_at_one_site_are_unique_and_gapless():
    world = build_world()
    errors: list[BaseException] = []

    def enrol():
        try:
            record_create(scope=world.scope("coord_a"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = sorted(Record.objects.filter(site=world.site_a).values_list("record_id", flat=True))
    assert ids == [f"AAA-{n:04d}" for n in range(1, 51)]
