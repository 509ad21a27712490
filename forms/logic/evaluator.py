"""The authoritative evaluator: the AST compiled once into Python closures, then run per record.

Closures instead of walking the tree on every call: a data-quality run evaluates the same
expression over many records, and a closure tree skips the per-node type dispatch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .context import EvalContext, resolve_instance
from .functions import IMPLEMENTATIONS, MISSING_CODE_FUNCTIONS
from .nodes import Binary, Boolean, Call, FieldRef, Node, Number, Ref, SmartVar, String, Unary
from .parser import EVENT_SMART_VARIABLES
from .values import BLANK, Value, compare, is_blank, number_result, to_number, to_str, truthy

Compiled = Callable[[EvalContext], Value]

_UNRESOLVED = object()  # an event or instance word with nothing behind it (previous of instance 1)


def _locate(ctx: EvalContext, ref: FieldRef) -> tuple[str | None, int | None] | object:
    """(event, instance) to ask the context for, or _UNRESOLVED."""
    event = ref.event
    if event in EVENT_SMART_VARIABLES:
        resolved = ctx.resolve_event(event)  # type: ignore[arg-type]
        if resolved is None and event != "event-name":
            return _UNRESOLVED
        event = resolved  # None for [event-name] in a classic project: the current event
    if ref.instance is None:
        return event, None
    instance = resolve_instance(ctx, ref.instance, ref.field, event)
    return _UNRESOLVED if instance is None else (event, instance)


def _compile_ref(ref: FieldRef) -> Compiled:
    field, code = ref.field, ref.code
    simple = ref.event is None and ref.instance is None
    if code is None:
        if simple:
            return lambda ctx: ctx.value(field)

        def read(ctx: EvalContext) -> Value:
            where = _locate(ctx, ref)
            return BLANK if where is _UNRESOLVED else ctx.value(field, *where)  # type: ignore[misc]

        return read
    if simple:
        return lambda ctx: ctx.checkbox(field, code)

    def read_checkbox(ctx: EvalContext) -> Value:
        where = _locate(ctx, ref)
        return "0" if where is _UNRESOLVED else ctx.checkbox(field, code, *where)  # type: ignore[misc]

    return read_checkbox


def _arithmetic(op: str, left: Compiled, right: Compiled) -> Compiled:
    def run(ctx: EvalContext) -> Value:
        a = to_number(left(ctx))
        b = to_number(right(ctx))
        if a is None or b is None:  # a blank (or text) operand makes the result blank
            return BLANK
        if op == "+":
            return number_result(a + b)
        if op == "-":
            return number_result(a - b)
        if op == "*":
            return number_result(a * b)
        if op == "/":
            return BLANK if b == 0 else number_result(a / b)
        try:
            return number_result(math.pow(a, b))
        except (ValueError, OverflowError, ZeroDivisionError):  # (-8)^(1/3), 10^400, 0^-1
            return BLANK

    return run


def _missing_code_test(name: str, arg: Node) -> Compiled:
    """ismissingcode() and friends look at the field's missing code, stored beside or in the value."""
    if isinstance(arg, Ref) and arg.ref.code is None:
        ref = arg.ref

        def value_and_code(ctx: EvalContext) -> tuple[str, str]:
            where = _locate(ctx, ref)
            if where is _UNRESOLVED:
                return BLANK, ""
            return ctx.value(ref.field, *where), ctx.missing_code(ref.field, *where)  # type: ignore[misc]

    else:
        inner = compile_node(arg)

        def value_and_code(ctx: EvalContext) -> tuple[str, str]:
            text = to_str(inner(ctx))
            return text, (text if text in ctx.missing_codes else "")

    if name == "ismissingcode":
        return lambda ctx: value_and_code(ctx)[1] != ""

    def blank_or_missing(ctx: EvalContext) -> Value:
        value, code = value_and_code(ctx)
        if name == "isblankormissingcode":
            return is_blank(value) or code != ""
        return is_blank(value) and code == ""

    return blank_or_missing


def _compile_call(node: Call) -> Compiled:
    if node.name == "if":
        condition, when_true, when_false = (compile_node(arg) for arg in node.args)
        return lambda ctx: when_true(ctx) if truthy(condition(ctx)) else when_false(ctx)
    if node.name in MISSING_CODE_FUNCTIONS:
        return _missing_code_test(node.name, node.args[0])
    implementation = IMPLEMENTATIONS[node.name]
    args = [compile_node(arg) for arg in node.args]
    return lambda ctx: implementation(ctx, *(arg(ctx) for arg in args))


def compile_node(node: Node) -> Compiled:
    """The closure that evaluates ``node`` against a context."""
    if isinstance(node, Number | String | Boolean):
        constant: Value = node.value
        return lambda ctx: constant
    if isinstance(node, Ref):
        return _compile_ref(node.ref)
    if isinstance(node, SmartVar):
        name, param = node.name, node.param
        return lambda ctx: ctx.smart_variable(name, param)
    if isinstance(node, Unary):
        operand = compile_node(node.operand)
        if node.op == "not":
            return lambda ctx: not truthy(operand(ctx))

        def sign(ctx: EvalContext) -> Value:
            number = to_number(operand(ctx))
            if number is None:
                return BLANK
            return -number if node.op == "-" else number

        return sign
    if isinstance(node, Binary):
        left, right = compile_node(node.left), compile_node(node.right)
        if node.op == "and":
            return lambda ctx: truthy(left(ctx)) and truthy(right(ctx))
        if node.op == "or":
            return lambda ctx: truthy(left(ctx)) or truthy(right(ctx))
        if node.op in ("+", "-", "*", "/", "^"):
            return _arithmetic(node.op, left, right)
        op = node.op
        return lambda ctx: compare(op, left(ctx), right(ctx))
    if isinstance(node, Call):
        return _compile_call(node)
    raise TypeError(f"not a logic node: {node!r}")
