"""Expressions evaluated once per distinct input: the values the expression reads are the cache key.

A run evaluates the same calcs, branching logic and rules on a million form rows, and most of them
see the same few inputs again and again (a unit code, a 0-10 score, six 0/1 flags). An expression
that only reads field values (no smart variables, no missing-code tests, no date functions, which
may read the clock when a value says `today`) is a pure
function of the values its field references return, so those values - read with the evaluator's own
reference closures, event words and instances included - key a cache of the result. Where inputs are
nearly all distinct (two dates), the cache is switched off after a trial so it costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forms.logic import EvalContext, Expression
from forms.logic.evaluator import compile_node
from forms.logic.functions import MISSING_CODE_FUNCTIONS
from forms.logic.nodes import Ref, SmartVar, walk

TRIAL = 4000  # misses before deciding whether the cache pays
MIN_HIT_RATE = 0.3
MAX_ENTRIES = 20_000  # per expression: memory stays bounded on any registry size
# Date functions parse 'today'/'now' (a literal or a stored value) with the context's clock.
CLOCK_FUNCTIONS = frozenset({"datediff", "calcdate", "year", "month", "day"})


def is_pure(expression: Expression) -> bool:
    """Whether the value depends on nothing but the values of the fields it names."""
    if expression.smart_variables or expression.functions & (MISSING_CODE_FUNCTIONS | CLOCK_FUNCTIONS):
        return False
    return not any(isinstance(node, SmartVar) for node in walk(expression.ast))


class Memoized:
    """`compute(ctx)` through a cache keyed by the expression's field reads, when that is safe and pays."""

    __slots__ = ("compute", "entries", "hits", "misses", "readers")

    def __init__(self, expression: Expression, compute: Callable[[EvalContext], Any]) -> None:
        self.compute = compute
        refs = {node.ref: node for node in walk(expression.ast) if isinstance(node, Ref)}
        self.readers = [compile_node(node) for node in refs.values()] if is_pure(expression) else None
        self.entries: dict[tuple, Any] = {}
        self.hits = self.misses = 0

    def __call__(self, ctx: EvalContext) -> Any:
        readers = self.readers
        if readers is None:
            return self.compute(ctx)
        key = tuple([read(ctx) for read in readers])
        entries = self.entries
        if key in entries:
            self.hits += 1
            return entries[key]
        result = self.compute(ctx)
        self.misses += 1
        if self.misses == TRIAL and self.hits < MIN_HIT_RATE * (self.misses + self.hits):
            self.readers, self.entries = None, {}  # inputs nearly all distinct: evaluate directly
        elif len(entries) < MAX_ENTRIES:
            entries[key] = result
        return result
