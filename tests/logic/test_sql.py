"""The SQL subset agrees with the Python evaluator, checked on the real PostgreSQL test database."""

from __future__ import annotations

import json

import pytest

from forms.logic import DictContext, parse
from forms.logic.sql import to_sql

from .conftest import case_inputs, load_conformance

DOC = load_conformance()


def _compilable_cases() -> list[tuple[str, dict]]:
    cases = []
    for case in DOC["cases"]:
        inputs = case_inputs(DOC, case)
        values = inputs.get("values", {})
        plain = all(isinstance(value, str) for value in values.values())
        if plain and set(inputs) <= {"values", "today", "now"} and to_sql(parse(case["expr"]).ast) is not None:
            cases.append((case["expr"], values))
    extra_rows = [
        {},
        {"a": ""},
        {"a": "5"},
        {"a": "05"},
        {"a": "abc"},
        {"a": " 7"},
        {"a": "1e1"},
        {"a": "-0"},
        {"a": "0.0"},
    ]
    for source in [
        "[a] = 5",
        "[a] > 4",
        "[a] < 'b'",
        "[a] <> ''",
        "[a]",
        "not [a]",
        "[a] >= [b]",
        "[a] = 10 or [a] = 'abc'",
    ]:
        cases += [(source, row | {"b": "6"}) for row in extra_rows]
    return cases


def test_out_of_subset_gives_none() -> None:
    for source in ["[a] + 1 > 2", "sum([a]) > 1", "[e][a] = 1", "[a][2] = 1", "[cb(1)] = 1", "[record-name] = 1"]:
        assert to_sql(parse(source).ast) is None, source


@pytest.mark.django_db
def test_sql_matches_python() -> None:
    from django.db import connection

    assert connection.vendor == "postgresql"
    cases = _compilable_cases()
    assert len(cases) > 60
    mismatches = []
    with connection.cursor() as cursor:
        for source, values in cases:
            fragment = to_sql(parse(source).ast)
            assert fragment is not None
            cursor.execute(
                f"SELECT {fragment.sql} FROM (SELECT %s::jsonb AS data) AS row",  # noqa: S608 - compiled SQL, values are params
                (*fragment.params, json.dumps(values)),
            )
            (got,) = cursor.fetchone()
            expected = parse(source).truthy(DictContext(values))
            if got is not expected:
                mismatches.append(f"{source!r} {values}: sql {got}, python {expected}")
    assert not mismatches, "\n".join(mismatches)
