"""Fixtures of the export tests: the SoJIA study with the synthetic demo cohort (or a few patients of our own)."""

from __future__ import annotations

import pytest

from tests.exports.helpers import build_sojia_world, cohort_or_patients


@pytest.fixture
def sojia(db):
    world = build_sojia_world()
    world.cohort_source = cohort_or_patients(world)
    return world
