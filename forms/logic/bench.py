"""Micro benchmark: parse every logic expression of the shared corpus, cold (no parse cache).

.venv/bin/python -m forms.logic.bench
"""

from __future__ import annotations

import time
from pathlib import Path

from .corpus import corpus_expressions
from .parser import parse_ast


def bench_corpus_parse(directory: Path | None = None) -> dict[str, float | int]:
    """{'expressions': n, 'seconds': parse time of all of them, 'per_expression_ms': ...}.

    The corpus is read first and not timed; the parse cache of forms.logic.parse is bypassed.
    """
    sources = [item.source for item in corpus_expressions(directory)]
    started = time.perf_counter()
    for source in sources:
        parse_ast(source)
    seconds = time.perf_counter() - started
    return {
        "expressions": len(sources),
        "characters": sum(map(len, sources)),
        "seconds": round(seconds, 4),
        "per_expression_ms": round(1000 * seconds / max(len(sources), 1), 4),
    }


if __name__ == "__main__":
    print(bench_corpus_parse())
