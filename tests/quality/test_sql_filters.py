"""The engine's hand-written SQL filters read the same on both databases (engine.one_of).

PostgreSQL gets one array parameter (`= ANY`); the embedded SQLite demo, which has no arrays, a list
of placeholders. The SQLite form is plain SQL that PostgreSQL runs too, so both are checked here on
the real database by switching only the vendor name the helper reads.
"""

from __future__ import annotations

import pytest
from django.db import connection, connections

from registry.quality.engine import Selection, one_of, selection_filters

ROWS = "SELECT x FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) v(x, e) WHERE true"


def _matching(sql: str, params: list) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(ROWS + sql + " ORDER BY x", params)
        return [x for (x,) in cursor.fetchall()]


@pytest.fixture(params=["postgresql", "sqlite"])
def vendor(request, monkeypatch):
    if request.param != "postgresql":
        monkeypatch.setattr(connections["default"], "vendor", request.param)
    return request.param


@pytest.mark.django_db
def test_one_of_keeps_the_rows_whose_value_is_listed(vendor):
    params: list = []
    assert _matching(" AND " + one_of("x", [3, 1], params), params) == [1, 3]
    params = []
    assert _matching(" AND " + one_of("e", ("b",), params), params) == [2]


@pytest.mark.django_db
def test_one_of_an_empty_list_keeps_nothing(vendor):
    params: list = []
    assert _matching(" AND " + one_of("x", [], params), params) == []


@pytest.mark.django_db
def test_selection_filters_restrict_by_site_record_and_event_in_order(vendor):
    params: list = []
    sql = selection_filters(Selection(site_ids=[1, 2, 3], record_ids=[2, 3], events=["c"]), params, event_column="e")
    assert _matching(sql.replace("r.site_id", "x").replace("r.id", "x"), params) == [3]
