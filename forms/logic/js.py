"""AST -> JavaScript that calls the CrfLogic runtime (forms/static/crf/logic-runtime.js).

The browser never parses logic: the server sends the output of ``to_js`` and the runtime does
the rest. ``if``, ``and`` and ``or`` become JavaScript's own ?:, && and || over
``CrfLogic.truthy`` so that only the branch taken is evaluated, as in Python.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from .functions import MISSING_CODE_FUNCTIONS
from .nodes import Binary, Boolean, Call, FieldRef, Node, Number, Ref, SmartVar, String, Unary

if TYPE_CHECKING:
    from .expression import Expression


def _literal(value: str | None) -> str:
    # json.dumps escapes U+2028/U+2029 and every non-ASCII character, so the text is a valid JS literal.
    return "null" if value is None else json.dumps(value)


def _number(value: float) -> str:
    if math.isinf(value):
        return "Infinity"
    return repr(value)


def _ref_args(ref: FieldRef) -> str:
    return f"{_literal(ref.field)}, {_literal(ref.event)}, {_literal(ref.code)}, {_literal(ref.instance)}"


def js_node(node: Node) -> str:
    """JavaScript expression for one node; ``ctx`` and ``R`` (the runtime) are in scope."""
    if isinstance(node, Number):
        return _number(node.value)
    if isinstance(node, String):
        return _literal(node.value)
    if isinstance(node, Boolean):
        return "true" if node.value else "false"
    if isinstance(node, Ref):
        return f"R.ref(ctx, {_ref_args(node.ref)})"
    if isinstance(node, SmartVar):
        return f"R.smart(ctx, {_literal(node.name)}, {_literal(node.param)})"
    if isinstance(node, Unary):
        operand = js_node(node.operand)
        if node.op == "not":
            return f"!R.truthy({operand})"
        return f"R.{'neg' if node.op == '-' else 'pos'}({operand})"
    if isinstance(node, Binary):
        left, right = js_node(node.left), js_node(node.right)
        if node.op == "and":
            return f"(R.truthy({left}) && R.truthy({right}))"
        if node.op == "or":
            return f"(R.truthy({left}) || R.truthy({right}))"
        if node.op in ("+", "-", "*", "/", "^"):
            return f"R.arith({_literal(node.op)}, {left}, {right})"
        return f"R.cmp({_literal(node.op)}, {left}, {right})"
    if isinstance(node, Call):
        if node.name == "if":
            condition, when_true, when_false = (js_node(arg) for arg in node.args)
            return f"(R.truthy({condition}) ? {when_true} : {when_false})"
        if node.name in MISSING_CODE_FUNCTIONS:
            (arg,) = node.args
            if isinstance(arg, Ref) and arg.ref.code is None:
                ref = arg.ref
                return (
                    f"R.missingRef(ctx, {_literal(node.name)}, {_literal(ref.field)}, "
                    f"{_literal(ref.event)}, {_literal(ref.instance)})"
                )
            return f"R.missingValue(ctx, {_literal(node.name)}, {js_node(arg)})"
        args = "".join(", " + js_node(arg) for arg in node.args)
        return f"R.fn.{node.name}(ctx{args})"
    raise TypeError(f"not a logic node: {node!r}")


def to_js(expr: Expression) -> str:
    """Source of a JavaScript function ``(ctx) => value`` (an arrow-function expression).

    It looks the runtime up as the global ``CrfLogic`` when called, so load logic-runtime.js first.
    """
    return f"(ctx) => {{ const R = CrfLogic; return {js_node(expr.ast)}; }}"
