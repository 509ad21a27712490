"""The SoJIA study with patients at two sites, entered through the real services."""

from __future__ import annotations

import pytest

from tests.exports.helpers import build_sojia_world, make_patients


@pytest.fixture
def sojia(db):
    world = build_sojia_world()
    make_patients(world, 6)
    return world
