"""The conformance table, run through the Python evaluator and through to_js + the JS runtime."""

from __future__ import annotations

import pytest

from forms.logic import DictContext, evaluate, parse, to_js

from .conftest import case_inputs, encode, load_conformance, same

DOC = load_conformance()
CASES = DOC["cases"]


def test_table_is_large_and_well_formed() -> None:
    assert len(CASES) >= 220
    assert len({case["id"] for case in CASES}) == len(CASES)
    kinds = {case["expect"][0] for case in CASES}
    assert kinds == {"blank", "number", "string", "bool"}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_python_evaluator(case: dict) -> None:
    result = evaluate(parse(case["expr"]), DictContext.from_spec(case_inputs(DOC, case)))
    assert same(encode(result), case["expect"]), f"{case['expr']!r}: got {result!r}, expected {case['expect']}"


def test_javascript_runtime(run_js) -> None:
    batch = [{"js": to_js(parse(case["expr"])), "inputs": case_inputs(DOC, case)} for case in CASES]
    results = run_js(batch)
    failures = [
        f"{case['id']} {case['expr']!r}: got {got}, expected {case['expect']}"
        for case, got in zip(CASES, results, strict=True)
        if not same(got, case["expect"])
    ]
    assert not failures, "\n".join(failures)
