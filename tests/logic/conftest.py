"""Shared helpers for the logic tests: result encoding and one long-lived node process."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from forms.logic import Value

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
RUNTIME = ROOT / "forms" / "static" / "crf" / "logic-runtime.js"
HARNESS = Path(__file__).with_name("js_harness.js")
CONFORMANCE = Path(__file__).with_name("conformance.json")

Encoded = list[Any]


def encode(value: Value) -> Encoded:
    """The conformance table's encoding: ['blank'], ['number', n], ['string', s], ['bool', b]."""
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int | float):
        return ["number", value]
    if value == "":
        return ["blank"]
    return ["string", value]


def same(got: Encoded, expected: Encoded) -> bool:
    """Equal results; numbers within a relative 1e-9 (log, exp and pow may differ in the last bit)."""
    if got[0] != expected[0]:
        return False
    if got[0] == "number":
        return math.isclose(got[1], expected[1], rel_tol=1e-9, abs_tol=1e-12)
    return got == expected


def load_conformance() -> dict[str, Any]:
    return json.loads(CONFORMANCE.read_text(encoding="utf-8"))


def case_inputs(doc: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    return {**doc["defaults"], **case["inputs"]}


@pytest.fixture(scope="session")
def run_js() -> Iterator[Callable[[list[dict[str, Any]]], list[Encoded]]]:
    """run_js([{'js': to_js(expr), 'inputs': spec}, ...]) -> encoded results, all in one node process.

    The process lives for the whole session: each call is one JSON line in and one line out.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed: the browser evaluator is tested under node (Debian: apt-get install nodejs)")
    process = subprocess.Popen(
        [node, str(HARNESS), str(RUNTIME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stdin is not None and process.stdout is not None

    def run(batch: list[dict[str, Any]]) -> list[Encoded]:
        process.stdin.write(json.dumps(batch) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"node exited with {process.wait()}")
        return json.loads(line)

    yield run
    process.stdin.close()
    process.wait(timeout=10)
