"""Every branching logic, calculation and @CALCTEXT/@CALCDATE of the 15 real dictionaries parses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from forms.logic import DictContext, LogicSyntaxError, evaluate, parse_uncached, to_js
from forms.logic.bench import bench_corpus_parse
from forms.logic.corpus import corpus_dictionaries, corpus_expressions

from .conftest import encode, same

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus" / "data-dictionaries"

# (file, field, kind) -> why the expression is not valid REDCap. Empty: the whole corpus is valid.
KNOWN_INVALID: dict[tuple[str, str, str], str] = {}


def test_corpus_has_fifteen_dictionaries() -> None:
    assert len(corpus_dictionaries(CORPUS)) == 15


def test_every_corpus_expression_parses() -> None:
    items = corpus_expressions(CORPUS)
    failures = []
    for item in items:
        try:
            parse_uncached(item.source)
        except LogicSyntaxError as error:
            if (item.file, item.field, item.kind) not in KNOWN_INVALID:
                failures.append(f"{item.file} {item.field} ({item.kind}): {error}\n    {item.source[:200]!r}")
    kinds = Counter(item.kind for item in items)
    print(f"\nparsed {len(items)} corpus expressions: {dict(kinds)}")
    assert len(items) > 0
    assert kinds["branching"] > 0 and kinds["calc"] > 0 and kinds["CALCTEXT"] > 0
    assert not failures, "\n".join(failures)


def test_corpus_expressions_agree_between_python_and_javascript_on_an_empty_record(run_js) -> None:
    """A smoke test over real logic: blank everywhere, both evaluators must still agree."""
    sources = sorted({item.source for item in corpus_expressions(CORPUS)})
    inputs = {"today": "2024-03-15", "now": "2024-03-15 10:30:00"}
    expressions = [parse_uncached(source) for source in sources]
    python = [encode(evaluate(expr, DictContext.from_spec(inputs))) for expr in expressions]
    javascript = run_js([{"js": to_js(expr), "inputs": inputs} for expr in expressions])
    mismatches = [s for s, p, j in zip(sources, python, javascript, strict=True) if not same(j, p)]
    assert not mismatches, mismatches[:5]


def test_parse_benchmark_under_one_second() -> None:
    result = bench_corpus_parse(CORPUS)
    print(f"\ncorpus parse benchmark: {result}")
    assert result["expressions"] > 1000
    assert result["seconds"] < 1.0
