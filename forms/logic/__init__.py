"""The REDCap logic language: one grammar for branching logic, calculations, rules and filters.

    expr = parse("[age] >= 18 and [consent(1)] = '1'")
    expr.field_names            # frozenset({'age', 'consent'})
    expr.truthy(DictContext({"age": "20", "consent": ["1"]}))   # True
    to_js(expr)                 # "(ctx) => { ... }" for the CrfLogic runtime in the browser

Pure Python, no Django imports: usable from the importer, the form engine, Celery tasks, scripts.
See docs/logic-language.md for the grammar and the semantics.
"""

from __future__ import annotations

from functools import lru_cache

from .context import DictContext, EvalContext
from .errors import LogicSyntaxError
from .expression import Expression
from .js import to_js
from .nodes import FieldRef
from .parser import parse_ast
from .values import BLANK, Value, format_number, to_str, truthy

__all__ = [
    "BLANK",
    "DictContext",
    "EvalContext",
    "Expression",
    "FieldRef",
    "LogicSyntaxError",
    "Value",
    "evaluate",
    "format_number",
    "format_value",
    "parse",
    "parse_uncached",
    "to_js",
    "truthy",
]


def parse_uncached(source: str) -> Expression:
    """Parse logic text; raises LogicSyntaxError with the position of the first problem."""
    return Expression(source, parse_ast(source))


@lru_cache(maxsize=8192)
def parse(source: str) -> Expression:
    """Parse logic text, cached per source string (an Expression is immutable, so sharing is safe)."""
    return parse_uncached(source)


def evaluate(expr: Expression, ctx: EvalContext) -> Value:
    """The value of a parsed expression: '' (blank), text, a float or a bool."""
    return expr.evaluate(ctx)


def format_value(value: Value) -> str:
    """A result as REDCap would store it in a calc field: '' for blank, '7' for 7.0, '1'/'0' for booleans."""
    return to_str(value)
