"""The evaluator writes Python source per expression: its shortcuts must give what the general rules give."""

from __future__ import annotations

import itertools

import pytest

from forms.logic import DictContext, evaluate, parse
from forms.logic.evaluator import MAX_DEPTH
from forms.logic.values import compare, to_number

VALUES = ["", "0", "1", "1.0", "01", "2.5", "-3", "10", " 7", "1e2", "abc", "ABC", "2024-01-31", "NaN", "inf", "1_0"]
CONSTANTS = ["''", "'0'", "'1'", "'10'", "'abc'", "'a'", "'2024-01-31'", "'NaN'", "0", "1", "2.5", "-3", "0.5", "true"]
OPERATORS = ["=", "<>", "<", "<=", ">", ">="]


@pytest.mark.parametrize("op", OPERATORS)
def test_a_comparison_with_a_constant_is_compare_on_either_side(op: str) -> None:
    """`[x] op c` and `c op [x]` are specialised to the constant; compare() is the rule they must keep."""
    for value, constant in itertools.product(VALUES, CONSTANTS):
        literal = evaluate(parse(constant), DictContext())
        ctx = DictContext({"x": value})
        assert evaluate(parse(f"[x] {op} {constant}"), ctx) == compare(op, value, literal), (value, op, constant)
        assert evaluate(parse(f"{constant} {op} [x]"), ctx) == compare(op, literal, value), (constant, op, value)


@pytest.mark.parametrize("op", OPERATORS)
def test_a_computed_operand_meets_a_constant_as_compare_says(op: str) -> None:
    """Numbers and booleans (not only stored texts) on the other side of a specialised comparison."""
    for value, constant in itertools.product(VALUES, CONSTANTS):
        ctx = DictContext({"x": value})
        for computed in ("([x] + 0)", "([x] = '1')", "concat([x], '')"):
            operand = evaluate(parse(computed), ctx)
            literal = evaluate(parse(constant), DictContext())
            got = evaluate(parse(f"{computed} {op} {constant}"), ctx)
            assert got == compare(op, operand, literal), (computed, value, op, constant)


def test_a_field_read_many_times_gives_the_same_answer_each_time() -> None:
    """Fields named more than once are read once per evaluation (and never kept between evaluations)."""
    expr = parse("if([a] > 5, [a] * 2, if([a] = '', 'blank', [a] - [b]))")
    assert evaluate(expr, DictContext({"a": "7", "b": "1"})) == 14.0
    assert evaluate(expr, DictContext({"a": "", "b": "1"})) == "blank"
    assert evaluate(expr, DictContext({"a": "3", "b": "1"})) == 2.0


def test_expressions_deeper_than_python_allows_in_one_function_still_evaluate() -> None:
    """A 400-term sum nests 400 deep, past CPython's limit for one expression: it is split into functions."""
    terms = " + ".join(f"[f{i}]" for i in range(400))
    values = {f"f{i}": str(i) for i in range(400)}
    assert evaluate(parse(terms), DictContext(values)) == float(sum(range(400)))
    nested = "1"
    for depth in range(3 * MAX_DEPTH):
        nested = f"if([x] = '{depth}', {depth}, {nested})"
    assert evaluate(parse(nested), DictContext({"x": "7"})) == 7.0
    assert evaluate(parse(nested), DictContext({"x": "none"})) == 1.0
    assert evaluate(parse(f"not ({' or '.join(['[x] = 1'] * 300)})"), DictContext({"x": "1"})) is False


def test_cached_numbers_are_the_numbers_of_the_text() -> None:
    """to_number keeps the texts it has converted: the second answer is the first, for numbers and not."""
    for text in [*VALUES, "9" * 50, "１２"]:  # noqa: RUF001 - full-width digits are not a number here
        first = to_number(text)
        assert to_number(text) == first
    assert to_number("12.50") == 12.5
    assert to_number("1_0") is None and to_number("inf") is None and to_number("１２") is None  # noqa: RUF001
