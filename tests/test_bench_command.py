"""The benchmark command runs end to end and prints every key (figures themselves go to docs/benchmarks.md)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_bench_prints_engine_figures_as_json():
    out = StringIO()
    call_command("bench", "--repeats", "1", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["dictionary_import_fields"] == 2253
    assert figures["logic_expressions"] > 1000
    assert figures["dictionary_import_s"] > 0 and figures["logic_parse_s"] > 0
