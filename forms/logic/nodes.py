"""The AST of a logic expression: small immutable dataclasses built by the parser.

Every node keeps ``pos``, the 0-based offset of its first character in the source, so that callers
(the dictionary importer, for instance) can point at an unknown field. ``pos`` is left out of
equality so that two parses of equivalent text compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A reference to a stored value: ``[event][field(code)][instance]``.

    ``event`` is None for the current event, ``code`` is the raw checkbox code (``-99``, ``Aa``),
    ``instance`` is None (current instance) or the text in brackets: ``2``, ``previous-instance``,
    ``last-instance``, ``first-instance``, ``next-instance`` or ``current-instance``.
    """

    field: str
    event: str | None = None
    code: str | None = None
    instance: str | None = None

    def __str__(self) -> str:
        text = f"[{self.event}]" if self.event else ""
        text += f"[{self.field}({self.code})]" if self.code is not None else f"[{self.field}]"
        return text + (f"[{self.instance}]" if self.instance else "")


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class String:
    value: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Ref:
    ref: FieldRef
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class SmartVar:
    """A smart variable such as ``[record-name]`` or ``[aggregate-mean:weight]`` (name, param)."""

    name: str
    param: str | None = None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "not"
    operand: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    # "+", "-", "*", "/", "^", "=", "<>", "<", "<=", ">", ">=", "and", "or"
    op: str
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # lower case, whitelisted
    args: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


Node = Number | String | Boolean | Ref | SmartVar | Unary | Binary | Call

ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "^"})
COMPARISON_OPS = frozenset({"=", "<>", "<", "<=", ">", ">="})
LOGICAL_OPS = frozenset({"and", "or"})


def walk(node: Node):
    """Yield the node and all its descendants, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Unary):
            stack.append(current.operand)
        elif isinstance(current, Binary):
            stack.extend((current.right, current.left))
        elif isinstance(current, Call):
            stack.extend(reversed(current.args))
