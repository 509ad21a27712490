"""The authoritative evaluator: the AST turned into Python source once, compiled, then run per record.

A data-quality run evaluates the same calcs, branching logic and rules on a million form rows, so
what one evaluation costs is what a run costs. Generated code spends it on the work itself: a
reference is one ``ctx.value('f')`` call, a field read twice is read once, an operator calls the
function of that operator (no dispatch on its name), and a comparison with a constant is
specialised to that constant (``[x] = '1'`` is a string test first, the number only when the
text differs). Each specialisation is the general rule of ``values.compare`` worked out for a
known operand, so the results are the same as ``compare`` gives; the conformance table and the
Python/JavaScript agreement properties in tests/logic hold the two together.

Subtrees deeper than ``MAX_DEPTH`` become functions of their own, so any expression the parser
accepts compiles (CPython refuses source nested about 200 deep), and every subtree is evaluated
exactly when the tree-walking definition would evaluate it (``if`` and and/or stay lazy).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from .context import EvalContext, resolve_instance
from .functions import IMPLEMENTATIONS, MISSING_CODE_FUNCTIONS
from .nodes import Binary, Boolean, Call, FieldRef, Node, Number, Ref, SmartVar, String, Unary
from .parser import EVENT_SMART_VARIABLES
from .values import BLANK, Value, compare, is_blank, number_result, to_number, to_str, truthy

Compiled = Callable[[EvalContext], Value]

MAX_DEPTH = 40  # nesting of generated calls and parentheses before a subtree gets its own function

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


def _addressed_read(ref: FieldRef) -> Compiled:
    """A reference with an event or instance word: resolved against the context on every read."""
    field, code = ref.field, ref.code
    if code is None:

        def read(ctx: EvalContext) -> Value:
            where = _locate(ctx, ref)
            return BLANK if where is _UNRESOLVED else ctx.value(field, *where)  # type: ignore[misc]

        return read

    def read_checkbox(ctx: EvalContext) -> Value:
        where = _locate(ctx, ref)
        return "0" if where is _UNRESOLVED else ctx.checkbox(field, code, *where)  # type: ignore[misc]

    return read_checkbox


# --- operators: one function each, the rules of values.py --------------------------------------------


def _add(left: Value, right: Value) -> Value:
    a, b = to_number(left), to_number(right)
    return BLANK if a is None or b is None else number_result(a + b)


def _sub(left: Value, right: Value) -> Value:
    a, b = to_number(left), to_number(right)
    return BLANK if a is None or b is None else number_result(a - b)


def _mul(left: Value, right: Value) -> Value:
    a, b = to_number(left), to_number(right)
    return BLANK if a is None or b is None else number_result(a * b)


def _div(left: Value, right: Value) -> Value:
    a, b = to_number(left), to_number(right)
    return BLANK if a is None or b is None or b == 0 else number_result(a / b)


def _pow(left: Value, right: Value) -> Value:
    a, b = to_number(left), to_number(right)
    if a is None or b is None:  # a blank (or text) operand makes the result blank
        return BLANK
    try:
        return number_result(math.pow(a, b))
    except (ValueError, OverflowError, ZeroDivisionError):  # (-8)^(1/3), 10^400, 0^-1
        return BLANK


def _sign(operand: Value, negate: bool) -> Value:
    number = to_number(operand)
    if number is None:
        return BLANK
    return -number if negate else number


def _text_op(op: str) -> Callable[[Any, Any], bool]:
    return {
        "=": lambda x, y: x == y,
        "<>": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
    }[op]


def _eq_number(value: Value, number: float, text: str) -> bool:
    """compare('=', value, c) for a constant c that is a number: equal text is equal, else numbers decide.

    Text that is not a number never equals a number's text, so the text branch of compare is False here.
    """
    return value == text or to_number(value) == number


def _ordered_with_number(op: str) -> Callable[[Value, float, str], bool]:
    """compare(op, value, c) for an order operator and a constant c that is a number."""
    test = _text_op(op)

    def ordered(value: Value, number: float, text: str) -> bool:
        a = to_number(value)
        if a is not None:
            return test(a, number)
        if value == "":  # a blank meets a number: false either way
            return False
        return test(to_str(value), text)

    return ordered


def _ordered_with_text(op: str) -> Callable[[Value, str], bool]:
    """compare(op, value, c) for an order operator and a constant c that is text (not a number)."""
    test = _text_op(op)
    blank = ""

    def ordered(value: Value, text: str) -> bool:
        if text == blank and to_number(value) is not None:  # a number meets a blank: false either way
            return False
        return test(to_str(value), text)

    return ordered


def _generic_compare(op: str) -> Callable[[Value, Value], bool]:
    return lambda left, right: compare(op, left, right)


_FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITHMETIC = {"+": _add, "-": _sub, "*": _mul, "/": _div, "^": _pow}


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


# --- code generation -----------------------------------------------------------------------------------

_BOOL, _TEXT, _ANY = "bool", "text", "any"  # what a generated expression is known to give


def _simple(ref: FieldRef) -> bool:
    return ref.event is None and ref.instance is None


class _Generator:
    """Python source for one function ``def name(ctx)``, with the objects it refers to in ``namespace``."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.locals: dict[FieldRef, str] = {}  # simple references read once at the top of the function

    def bind(self, value: object, prefix: str = "k") -> str:
        name = f"_{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def function(self, node: Node) -> str:
        """The source of a function computing ``node``; returns its name (bound in the namespace)."""
        counts = Counter(n.ref for n in _refs_outside_functions(node) if _simple(n.ref))
        lines = []
        for ref, count in counts.items():
            if count > 1:  # read once: [visit_day] appears 26 times in one SoJIA rule
                name = f"v{len(self.locals)}"
                self.locals[ref] = name
                lines.append(f"    {name} = {self.read(ref)}")
        body = self.expr(node, 0)[0]
        name = self.bind(None, "f")
        source = f"def {name}(ctx):\n" + "".join(line + "\n" for line in lines) + f"    return {body}\n"
        exec(compile(source, f"<logic {name}>", "exec"), self.namespace)  # noqa: S102 - source built from the AST above
        return name

    def read(self, ref: FieldRef) -> str:
        if ref.code is None:
            return f"ctx.value({ref.field!r})"
        return f"ctx.checkbox({ref.field!r}, {ref.code!r})"

    def truth(self, node: Node, depth: int) -> str:
        code, kind = self.expr(node, depth)
        return code if kind == _BOOL else f"_truthy({code})"

    def expr(self, node: Node, depth: int) -> tuple[str, str]:
        """(Python expression, kind) for ``node``; deep subtrees are called as functions of their own."""
        if depth > MAX_DEPTH and isinstance(node, Unary | Binary | Call):
            sub = _Generator(self.namespace)
            return f"{sub.function(node)}(ctx)", _ANY
        if isinstance(node, Number | String | Boolean):
            value = node.value
            if isinstance(value, bool):
                return repr(value), _BOOL
            return self.bind(value), (_TEXT if isinstance(value, str) else _ANY)
        if isinstance(node, Ref):
            ref = node.ref
            if _simple(ref):
                return self.locals.get(ref) or self.read(ref), _TEXT
            return f"{self.bind(_addressed_read(ref), 'r')}(ctx)", _ANY
        if isinstance(node, SmartVar):
            return f"ctx.smart_variable({node.name!r}, {node.param!r})", _ANY
        if isinstance(node, Unary):
            if node.op == "not":
                return f"(not {self.truth(node.operand, depth + 1)})", _BOOL
            return f"_sign({self.expr(node.operand, depth + 1)[0]}, {node.op == '-'})", _ANY
        if isinstance(node, Binary):
            return self.binary(node, depth)
        if isinstance(node, Call):
            return self.call(node, depth)
        raise TypeError(f"not a logic node: {node!r}")

    def binary(self, node: Binary, depth: int) -> tuple[str, str]:
        op = node.op
        if op in ("and", "or"):  # truthy() gives bools, so Python's and/or give the same bool
            return f"({self.truth(node.left, depth + 1)} {op} {self.truth(node.right, depth + 1)})", _BOOL
        if op in _ARITHMETIC:
            left, right = self.expr(node.left, depth + 1)[0], self.expr(node.right, depth + 1)[0]
            return f"{self.bind(_ARITHMETIC[op], 'o')}({left}, {right})", _ANY
        constant, other = _constant_side(node)
        if constant is None:
            left, right = self.expr(node.left, depth + 1)[0], self.expr(node.right, depth + 1)[0]
            return f"{self.bind(_generic_compare(op), 'c')}({left}, {right})", _BOOL
        if constant is node.left:
            op = _FLIPPED[op]  # c < x is x > c: the same test on numbers and on text
        value, kind = self.expr(other, depth + 1)
        text, number = to_str(constant.value), to_number(constant.value)
        if number is None:  # text that is not a number: compare() compares texts (but see the blank rule)
            if op in ("=", "<>"):
                subject = value if kind == _TEXT else f"_to_str({value})"
                return f"({subject} {'==' if op == '=' else '!='} {self.bind(text)})", _BOOL
            return f"{self.bind(_ordered_with_text(op), 'c')}({value}, {self.bind(text)})", _BOOL
        if op in ("=", "<>"):
            test = f"_eq_number({value}, {self.bind(number)}, {self.bind(text)})"
            return (test if op == "=" else f"(not {test})"), _BOOL
        return f"{self.bind(_ordered_with_number(op), 'c')}({value}, {self.bind(number)}, {self.bind(text)})", _BOOL

    def call(self, node: Call, depth: int) -> tuple[str, str]:
        if node.name == "if":
            condition, when_true, when_false = node.args
            true_code, true_kind = self.expr(when_true, depth + 1)
            false_code, false_kind = self.expr(when_false, depth + 1)
            kind = true_kind if true_kind == false_kind else _ANY
            return f"({true_code} if {self.truth(condition, depth + 1)} else {false_code})", kind
        if node.name in MISSING_CODE_FUNCTIONS:
            return f"{self.bind(_missing_code_test(node.name, node.args[0]), 'm')}(ctx)", _ANY
        implementation = self.bind(IMPLEMENTATIONS[node.name], "i")
        args = "".join(f", {self.expr(arg, depth + 1)[0]}" for arg in node.args)
        return f"{implementation}(ctx{args})", _ANY


def _constant_side(node: Binary) -> tuple[Number | String | None, Node]:
    """The literal operand of a comparison (numbers and texts; booleans go the general way), and the other."""
    for constant, other in ((node.right, node.left), (node.left, node.right)):
        if isinstance(constant, Number | String):
            return constant, other
    return None, node.left


def _refs_outside_functions(node: Node) -> list[Ref]:
    """The references of the tree that the generated function reads itself (not through a helper closure)."""
    found: list[Ref] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Ref):
            found.append(current)
        elif isinstance(current, Unary):
            stack.append(current.operand)
        elif isinstance(current, Binary):
            stack.extend((current.left, current.right))
        elif isinstance(current, Call) and current.name not in MISSING_CODE_FUNCTIONS:
            stack.extend(current.args)
    return found


_BASE_NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "_truthy": truthy,
    "_to_str": to_str,
    "_sign": _sign,
    "_eq_number": _eq_number,
}


def compile_node(node: Node) -> Compiled:
    """The function that evaluates ``node`` against a context."""
    if isinstance(node, Number | String | Boolean):
        constant: Value = node.value
        return lambda ctx: constant
    namespace = dict(_BASE_NAMESPACE)
    return namespace[_Generator(namespace).function(node)]
