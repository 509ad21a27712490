"""Expression: a parsed logic text with its AST, dependencies and evaluators."""

from __future__ import annotations

from functools import cached_property

from .context import EvalContext
from .evaluator import Compiled, compile_node
from .nodes import Call, FieldRef, Node, Ref, SmartVar, walk
from .parser import EVENT_SMART_VARIABLES
from .values import Value, truthy


class Expression:
    """One parsed expression; build it with ``forms.logic.parse(source)``."""

    __slots__ = (
        "__dict__",
        "ast",
        "event_names",
        "field_names",
        "functions",
        "references",
        "smart_variables",
        "source",
    )

    def __init__(self, source: str, ast: Node) -> None:
        self.source = source
        self.ast = ast
        nodes = list(walk(ast))
        self.references: frozenset[FieldRef] = frozenset(node.ref for node in nodes if isinstance(node, Ref))
        self.field_names: frozenset[str] = frozenset(ref.field for ref in self.references)
        # Only real event names: [event-name][x] and the like are resolved at evaluation.
        self.event_names: frozenset[str] = frozenset(
            ref.event for ref in self.references if ref.event and ref.event not in EVENT_SMART_VARIABLES
        )
        self.functions: frozenset[str] = frozenset(node.name for node in nodes if isinstance(node, Call))
        self.smart_variables: frozenset[str] = frozenset(node.name for node in nodes if isinstance(node, SmartVar))

    @cached_property
    def compiled(self) -> Compiled:
        return compile_node(self.ast)

    def evaluate(self, ctx: EvalContext) -> Value:
        """The value: '' (blank), text, a float or a bool."""
        return self.compiled(ctx)

    def truthy(self, ctx: EvalContext) -> bool:
        """For branching logic, rules and filters: blank, 0 and false are False."""
        return truthy(self.compiled(ctx))

    @cached_property
    def js(self) -> str:
        from .js import to_js

        return to_js(self)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.ast == self.ast

    def __hash__(self) -> int:
        return hash(self.ast)
