"""The eCRF engine's benchmarks: the largest dictionary import and parsing all corpus logic."""

from __future__ import annotations

import statistics

from forms.dictionary.bench import bench_largest_import
from forms.logic.bench import bench_corpus_parse


def bench_engine(repeats: int = 3) -> dict:
    imports = [bench_largest_import() for _ in range(repeats)]
    parses = [bench_corpus_parse() for _ in range(repeats)]
    return {
        "dictionary_import_s": round(statistics.median(r["seconds"] for r in imports), 3),
        "dictionary_import_fields": imports[0]["fields"],
        "logic_parse_s": round(statistics.median(p["seconds"] for p in parses), 4),
        "logic_expressions": parses[0]["expressions"],
    }
