"""The public interface other modules code against: parse, Expression, FieldRef, contexts, to_js."""

from __future__ import annotations

import json
import subprocess
from datetime import date

import pytest

from forms.logic import (
    DictContext,
    EvalContext,
    Expression,
    FieldRef,
    LogicSyntaxError,
    evaluate,
    format_value,
    parse,
    parse_uncached,
    to_js,
)
from forms.logic.action_tags import calc_tag_expressions
from forms.logic.nodes import Binary, Call, Number, Ref, SmartVar, Unary

from .conftest import HARNESS, RUNTIME


def test_parse_is_cached_and_returns_an_expression() -> None:
    expr = parse("[a] = 1")
    assert isinstance(expr, Expression)
    assert parse("[a] = 1") is expr
    assert parse_uncached("[a] = 1") is not expr
    assert parse_uncached("[a] = 1") == expr
    assert expr.source == "[a] = 1"


def test_dependencies() -> None:
    expr = parse(
        "[visit_2][weight] > [weight] and [cb(-99)] = 1 or [vitals][hr][last-instance] > 0 "
        "or datediff([dob], 'today', 'y') >= 18 or [record-name] = '1' or [event-name][x] = 1"
    )
    assert expr.references == frozenset(
        {
            FieldRef("weight", "visit_2"),
            FieldRef("weight"),
            FieldRef("cb", code="-99"),
            FieldRef("hr", "vitals", instance="last-instance"),
            FieldRef("dob"),
            FieldRef("x", "event-name"),
        }
    )
    assert expr.field_names == frozenset({"weight", "cb", "hr", "dob", "x"})
    assert expr.event_names == frozenset({"visit_2", "vitals"})
    assert expr.functions == frozenset({"datediff"})
    assert expr.smart_variables == frozenset({"record-name"})


def test_field_ref_is_hashable_and_printable() -> None:
    ref = FieldRef("cb", "ev", "2", "3")
    assert {ref: 1}[FieldRef("cb", "ev", "2", "3")] == 1
    assert str(ref) == "[ev][cb(2)][3]"
    assert str(FieldRef("x")) == "[x]"


def test_ast_shape_precedence_and_positions() -> None:
    ast = parse("-2^3^2 + [a] * 4").ast
    assert isinstance(ast, Binary) and ast.op == "+"
    negation = ast.left
    assert isinstance(negation, Unary) and negation.op == "-"
    power = negation.operand
    assert isinstance(power, Binary) and power.op == "^"
    assert isinstance(power.right, Binary) and power.right.op == "^"  # right-associative
    product = ast.right
    assert isinstance(product, Binary) and product.op == "*"
    assert isinstance(product.left, Ref) and product.left.pos == 9
    assert product.right == Number(4.0)
    call = parse("SUM(1, [record-name])").ast
    assert isinstance(call, Call) and call.name == "sum"
    assert call.args[1] == SmartVar("record-name")
    assert parse("[a] <> 1").ast == parse("[a] != 1").ast == parse("[a] !== 1").ast


def test_truthy_for_branching_logic() -> None:
    expr = parse("[age] >= 18 and [consent(1)] = '1'")
    assert expr.truthy(DictContext({"age": "20", "consent": ["1"]})) is True
    assert expr.truthy(DictContext({"age": "", "consent": ["1"]})) is False
    assert parse("[a]").truthy(DictContext({"a": ""})) is False
    assert parse("[a]").truthy(DictContext({"a": "0"})) is False
    assert parse("[a]").truthy(DictContext({"a": "yes"})) is True


def test_evaluate_and_format_value() -> None:
    ctx = DictContext({"weight": "70", "height": "175"})
    value = evaluate(parse("round(([weight]*10000)/(([height])^(2)),1)"), ctx)
    assert value == 22.9
    assert format_value(value) == "22.9"
    assert format_value(evaluate(parse("3+4"), ctx)) == "7"
    assert format_value(evaluate(parse("[missing] + 1"), ctx)) == ""
    assert format_value(evaluate(parse("1 = 1"), ctx)) == "1"


class RowContext(EvalContext):
    """A caller's own context: only value() and checkbox() are required."""

    def __init__(self, row: dict[str, str]) -> None:
        self.row = row

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        return self.row.get(field, "")

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        return self.row.get(f"{field}___{code}", "0")


def test_custom_context_subclass() -> None:
    ctx = RowContext({"a": "4", "cb___2": "1", "d": "2024-01-01"})
    assert evaluate(parse("[a] * 2 + [cb(2)] + [cb(3)]"), ctx) == 9.0
    assert evaluate(parse("[a][previous-instance]"), ctx) == ""  # not in a repeating context
    assert evaluate(parse("[record-name]"), ctx) == ""
    assert isinstance(evaluate(parse("datediff([d], 'today', 'd')"), ctx), float)


def test_today_is_injectable() -> None:
    ctx = DictContext({"dob": "2000-03-15"}, today=date(2024, 3, 15))
    assert evaluate(parse("rounddown(datediff([dob], 'today', 'y'))"), ctx) == 24


def test_to_js_is_a_function_of_ctx() -> None:
    js = to_js(parse("if([a] = 1, 'yes', 'no')"))
    assert js.startswith("(ctx) => {")
    assert "CrfLogic" in js and "R.truthy" in js
    assert parse("[a]").js == to_js(parse("[a]"))


def test_runtime_works_as_a_browser_global_and_a_node_module() -> None:
    script = f"""
        const lib = require({json.dumps(str(RUNTIME))});
        if (globalThis.CrfLogic !== lib) throw new Error("no global");
        const run = lib.compile({json.dumps(to_js(parse("[a] + 1")))});
        process.stdout.write(JSON.stringify(run(lib.dictContext({{values: {{a: "41"}}}}))));
    """
    output = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
    assert output == "42"
    assert HARNESS.exists()


def test_calc_tags_in_annotations() -> None:
    annotation = "@HIDDEN @CALCTEXT(if([a] = ')', 'x', concat('(', [b]))) @CALCDATE([d], 7, 'd') @READONLY"
    assert calc_tag_expressions(annotation) == [
        ("CALCTEXT", "if([a] = ')', 'x', concat('(', [b]))"),
        ("CALCDATE", "calcdate([d], 7, 'd')"),
    ]
    for _, source in calc_tag_expressions(annotation):
        parse(source)
    (unclosed,) = calc_tag_expressions("@CALCTEXT(if([a]=1, 'x', 'y'")
    with pytest.raises(LogicSyntaxError, match="missing '\\)'"):
        parse(unclosed[1])
