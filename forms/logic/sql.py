"""A subset of logic compiled to a PostgreSQL boolean over one JSONB row: ``data->>'field'``.

Data-quality rules and filters run over 100,000 records in seconds only inside PostgreSQL. This
compiles what maps exactly onto one row of flat REDCap strings: comparisons, and/or/not, field
references in the same event and instance, number/string/boolean literals, blank checks
(``[f] = ''``) and truthiness of a field. Anything else (functions, arithmetic, checkboxes, other
events, instances, smart variables) returns None: the caller falls back to the Python evaluator.

The SQL keeps REDCap's semantics (see docs/logic-language.md): numeric comparison when both
sides are numeric, a blank ordered against a number is false, otherwise text comparison in code
point order (``COLLATE "C"``); an absent key is blank, so the result is never NULL.
"""

from __future__ import annotations

from dataclasses import dataclass

from .nodes import Binary, Boolean, Node, Number, Ref, String, Unary
from .values import NUMERIC_RE, format_number, truthy

# PostgreSQL's regex dialect: same pattern as values.NUMERIC_RE.
SQL_NUMERIC = r"^[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r]*$"
SQL_OPS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Unsupported(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SqlFragment:
    """SQL text with %s placeholders (psycopg style) and its parameters."""

    sql: str
    params: tuple[str | float, ...]


@dataclass(frozen=True, slots=True)
class _Operand:
    """A compiled operand: SQL of its text, and what is known statically (literals)."""

    text_sql: str
    params: tuple[str | float, ...]
    literal: str | None  # the literal's text, None for a field


def _operand(node: Node, column: str) -> _Operand:
    if isinstance(node, Ref) and node.ref.event is None and node.ref.instance is None and node.ref.code is None:
        return _Operand(f"COALESCE({column} ->> %s, '')", (node.ref.field,), None)
    if isinstance(node, Number):
        text = format_number(node.value)
    elif isinstance(node, String):
        text = node.value
    elif isinstance(node, Boolean):
        text = "1" if node.value else "0"
    else:
        raise Unsupported
    return _Operand("%s", (text,), text)


def _is_numeric(operand: _Operand) -> tuple[str, tuple]:
    if operand.literal is not None:
        return ("TRUE" if NUMERIC_RE.match(operand.literal) else "FALSE"), ()
    return f"({operand.text_sql} ~ %s)", (*operand.params, SQL_NUMERIC)


def _is_blank(operand: _Operand) -> tuple[str, tuple]:
    if operand.literal is not None:
        return ("TRUE" if operand.literal == "" else "FALSE"), ()
    return f"({operand.text_sql} = '')", operand.params


def _compare(op: str, left: _Operand, right: _Operand) -> SqlFragment:
    left_num, left_num_params = _is_numeric(left)
    right_num, right_num_params = _is_numeric(right)
    sql_op = SQL_OPS[op]
    parts = ["CASE"]
    params: list[str | float] = []
    # PostgreSQL folds constant casts while planning, even in a branch never taken: a text literal
    # must never reach CAST(... AS double precision), so its numeric branch is left out.
    if "FALSE" not in (left_num, right_num):
        parts.append(
            f"WHEN {left_num} AND {right_num} THEN "
            f"CAST({left.text_sql} AS double precision) {sql_op} CAST({right.text_sql} AS double precision)"
        )
        params += [*left_num_params, *right_num_params, *left.params, *right.params]
    if op not in ("=", "<>"):
        left_blank, left_blank_params = _is_blank(left)
        right_blank, right_blank_params = _is_blank(right)
        parts.append(f"WHEN ({left_num} AND {right_blank}) OR ({right_num} AND {left_blank}) THEN FALSE")
        params += [*left_num_params, *right_blank_params, *right_num_params, *left_blank_params]
    text_comparison = f'({left.text_sql} COLLATE "C") {sql_op} ({right.text_sql} COLLATE "C")'
    params += [*left.params, *right.params]
    if len(parts) == 1:  # no other branch: a plain text comparison
        return SqlFragment(text_comparison, tuple(params))
    parts.append(f"ELSE {text_comparison} END")
    return SqlFragment(" ".join(parts), tuple(params))


def _truthy(node: Node, column: str) -> SqlFragment:
    """SQL boolean for the truth of a node (blank false, numbers by value, other text true)."""
    if isinstance(node, Binary) and node.op in ("and", "or"):
        left, right = _truthy(node.left, column), _truthy(node.right, column)
        return SqlFragment(f"({left.sql} {node.op.upper()} {right.sql})", left.params + right.params)
    if isinstance(node, Unary) and node.op == "not":
        inner = _truthy(node.operand, column)
        return SqlFragment(f"(NOT {inner.sql})", inner.params)
    if isinstance(node, Binary) and node.op in SQL_OPS:
        fragment = _compare(node.op, _operand(node.left, column), _operand(node.right, column))
        return SqlFragment(f"({fragment.sql})", fragment.params)
    if isinstance(node, Boolean):
        return SqlFragment("TRUE" if node.value else "FALSE", ())
    operand = _operand(node, column)
    if operand.literal is not None:  # a constant: its truth is known now (and no constant cast, see above)
        return SqlFragment("TRUE" if truthy(operand.literal) else "FALSE", ())
    numeric, numeric_params = _is_numeric(operand)
    sql = (
        f"(CASE WHEN {operand.text_sql} = '' THEN FALSE "
        f"WHEN {numeric} THEN CAST({operand.text_sql} AS double precision) <> 0 ELSE TRUE END)"
    )
    return SqlFragment(sql, (*operand.params, *numeric_params, *operand.params))


def to_sql(ast: Node, column: str = "data") -> SqlFragment | None:
    """A WHERE-clause boolean equal to ``truthy(evaluate(...))`` on one row, or None if out of the subset.

    ``column`` is trusted SQL (a column name or alias), never user input.
    """
    try:
        return _truthy(ast, column)
    except Unsupported:
        return None
