"""The SoJIA study with two sites and a few records, for the import tool tests."""

from __future__ import annotations

import pytest

from registry.models import FormInstance
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.exports.helpers import import_sojia
from tests.registry.factories import build_world


@pytest.fixture
def sojia(db):
    """Records A1, A2 (site a; A2's baseline visit locked) and B1 (site b), each with a baseline visit."""
    world = build_world(project=import_sojia())
    names = {}
    for label, user in (("A1", "coord_a"), ("A2", "coord_a"), ("B1", "coord_b")):
        scope = world.scope(user)
        record = record_create(scope=scope)
        form_save(scope=scope, record=record, event="baseline_arm_1", instrument="disease_activity",
                  values={"ajc": "2", "crp": "12.0"})  # fmt: skip
        names[label] = record.record_id
    FormInstance.objects.filter(record__record_id=names["A2"], instrument="disease_activity").update(locked=True)
    world.names = names
    return world
