"""Source text -> AST, with lark's LALR(1) parser and the grammar in grammar.lark.

The tree is built while parsing (a lark Transformer given to the parser), so no intermediate
parse tree is kept. Everything that is checked at parse time raises LogicSyntaxError with the
position: unknown functions, wrong argument counts, malformed references, unknown smart
variables, bare words, literal datediff units.
"""

from __future__ import annotations

import re
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import LogicSyntaxError
from .functions import ARITY, DATEDIFF_UNITS, LEGACY_DATE_FORMATS
from .nodes import Binary, Boolean, Call, FieldRef, Node, Number, Ref, SmartVar, String, Unary

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

COMPARISON_SPELLINGS = {
    "=": "=",
    "==": "=",
    "===": "=",
    "<>": "<>",
    "!=": "<>",
    "!==": "<>",
    "<": "<",
    "<=": "<=",
    "<==": "<=",
    ">": ">",
    ">=": ">=",
    ">==": ">=",
}

# REDCap's smart variables (reference §6.4). Any of them parses; the evaluator answers the usual
# ones itself and asks EvalContext.smart_variable() for the rest.
SMART_VARIABLES = frozenset(
    {
        "record-name", "event-name", "event-label", "event-id", "event-number", "arm-number", "arm-label",
        "current-instance", "previous-instance", "next-instance", "first-instance", "last-instance",
        "new-instance", "previous-event-name", "next-event-name", "first-event-name", "last-event-name",
        "previous-event-label", "next-event-label", "first-event-label", "last-event-label",
        "user-name", "user-fullname", "user-email", "user-dag-name", "user-dag-id", "user-dag-label",
        "user-role-id", "user-role-name", "user-role-label", "record-dag-name", "record-dag-id",
        "record-dag-label", "project-id", "redcap-version", "redcap-version-url", "redcap-base-url",
        "instrument-name", "instrument-label", "is-form", "is-survey", "is-download", "is-api",
        "survey-url", "survey-link", "survey-queue-url", "survey-queue-link", "survey-access-code",
        "survey-return-code", "survey-date-completed", "survey-time-completed", "survey-date-started",
        "survey-time-started", "survey-duration", "survey-duration-completed", "survey-title",
        "form-url", "form-link", "calendar-url", "calendar-link", "record-id", "event-date",
        "aggregate-min", "aggregate-max", "aggregate-mean", "aggregate-median", "aggregate-sum",
        "aggregate-count", "aggregate-stdev", "aggregate-unique", "rand-number", "rand-time",
        "rand-utc-time", "missing-code",
    }
)  # fmt: skip
EVENT_SMART_VARIABLES = frozenset(
    {"event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
)
INSTANCE_RE = re.compile(r"(?:[0-9]+|previous-instance|current-instance|next-instance|first-instance|last-instance)\Z")
FIELD_RE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\(([^()]*)\))?\Z")
CODE_RE = re.compile(r"-?[A-Za-z0-9._-]+\Z")
EVENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*\Z")
SMART_RE = re.compile(r"([a-z][a-z0-9]*(?:-[a-z0-9]+)+|pid)(?::(.*))?\Z")
REF_PART_RE = re.compile(r"\[([^\[\]]*)\]")

WORD_VALUES: dict[str, Node] = {
    "true": Boolean(True),
    "false": Boolean(False),
    # Unquoted today/now are accepted wherever a date is (datediff(today, [d], 'd')).
    "today": String("today"),
    "now": String("now"),
}

TOKEN_NAMES = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "COMPARE": "a comparison (=, <>, <, >...)",
    "OR": "'or'",
    "AND": "'and'",
    "NOT": "'not'",
    "ADD": "'+'",
    "SUB": "'-'",
    "MUL": "'*'",
    "DIV": "'/'",
    "POW": "'^'",
    "NUMBER": "a number",
    "STRING": "a quoted text",
    "REF": "a [field]",
    "FUNC": "a function",
    "WORD": "a value",
}
VALUE_TOKENS = frozenset({"NUMBER", "STRING", "REF", "FUNC", "WORD", "LPAR"})


class PositionedError(Exception):
    """Raised while building the tree (the builder does not see the source); parse_ast adds line and column."""

    def __init__(self, position: int, what: str) -> None:
        super().__init__(what)
        self.position = position
        self.what = what


class AstBuilder(Transformer):
    """Builds nodes.* from the grammar's rules; runs inside the LALR parser, one rule at a time."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)

    @staticmethod
    def _error(position: int, what: str) -> PositionedError:
        return PositionedError(position, what)

    def number(self, children: list[Token]) -> Node:
        (token,) = children
        return Number(float(token), token.start_pos or 0)

    def string(self, children: list[Token]) -> Node:
        (token,) = children
        return String(str(token)[1:-1], token.start_pos or 0)

    def word(self, children: list[Token]) -> Node:
        (token,) = children
        node = WORD_VALUES.get(str(token).lower())
        if node is None:
            raise self._error(
                token.start_pos or 0,
                f"unknown name '{token}': put text in quotes ('{token}') and field names in brackets ([{token}])",
            )
        return type(node)(node.value, token.start_pos or 0)  # type: ignore[call-arg, union-attr]

    def reference(self, children: list[Token]) -> Node:
        (token,) = children
        return parse_reference(str(token), token.start_pos or 0)

    def group(self, children: list[Node | Token]) -> Node:
        return children[1]  # type: ignore[return-value]

    def _binary(self, children: list, op: str) -> Node:
        left, token, right = children
        return Binary(op, left, right, token.start_pos or 0)

    def or_op(self, children: list) -> Node:
        return self._binary(children, "or")

    def and_op(self, children: list) -> Node:
        return self._binary(children, "and")

    def compare(self, children: list) -> Node:
        return self._binary(children, COMPARISON_SPELLINGS[str(children[1])])

    def arith(self, children: list) -> Node:
        return self._binary(children, str(children[1]))

    def power(self, children: list) -> Node:
        return self._binary(children, "^")

    def not_op(self, children: list) -> Node:
        token, operand = children
        return Unary("not", operand, token.start_pos or 0)

    def negate(self, children: list) -> Node:
        token, operand = children
        return Unary("-", operand, token.start_pos or 0)

    def plus(self, children: list) -> Node:
        token, operand = children
        return Unary("+", operand, token.start_pos or 0)

    def arguments(self, children: list) -> list[Node]:
        return [child for child in children if not isinstance(child, Token)]

    def call(self, children: list) -> Node:
        name_token = children[0]
        args: list[Node] = children[2] if len(children) == 4 else []
        position = name_token.start_pos or 0
        name = str(name_token).lower()
        arity = ARITY.get(name)
        if arity is None:
            raise self._error(position, f"unknown function '{name_token}'")
        if not arity.minimum <= len(args) <= arity.maximum:
            raise self._error(position, f"{name}() takes {arity.describe()}, {len(args)} given")
        if name == "datediff":
            check_datediff_literals(args, self._error)
        return Call(name, tuple(args), position)


def check_datediff_literals(args: list[Node], error) -> None:
    """A literal unit or format that REDCap would not understand is a mistake worth reporting now."""
    unit = args[2]
    if isinstance(unit, String) and unit.value.strip() not in DATEDIFF_UNITS:
        raise error(unit.pos, f"datediff() unit must be one of 'y', 'M', 'd', 'h', 'm', 's', not '{unit.value}'")
    if len(args) >= 4:
        option = args[3]
        words = LEGACY_DATE_FORMATS | {"true", "false"}
        if isinstance(option, String) and option.value.strip().lower() not in words:
            raise error(
                option.pos, f"datediff() 4th argument must be 'ymd', 'mdy', 'dmy' or true/false, not '{option.value}'"
            )
        if len(args) == 5 and not (isinstance(option, String) and option.value.strip().lower() in LEGACY_DATE_FORMATS):
            raise error(
                option.pos, "datediff() takes the date format ('ymd', 'mdy', 'dmy') as 4th argument when a 5th is given"
            )


def parse_reference(text: str, position: int) -> Node:
    """Split a reference token ``[event][field(code)][instance]`` into a Ref or SmartVar node."""
    parts = [part.strip() for part in REF_PART_RE.findall(text)]

    def error(what: str) -> PositionedError:
        return PositionedError(position, what)

    instance: str | None = None
    if len(parts) > 1 and INSTANCE_RE.match(parts[-1]):
        instance = parts.pop()
    if len(parts) > 2:
        raise error(f"invalid reference '{text}': expected [event][field][instance] at most")
    name = parts[-1]
    event = parts[0] if len(parts) == 2 else None

    smart = SMART_RE.match(name)
    if smart and name not in ("pid",):
        base = smart.group(1)
        if base not in SMART_VARIABLES:
            raise error(f"unknown smart variable '[{base}]'")
        if event is not None or instance is not None:
            raise error(f"smart variable '[{base}]' cannot take an event or an instance")
        return SmartVar(base, smart.group(2), position)

    field_match = FIELD_RE.match(name)
    if not field_match:
        if not name:
            raise error("empty reference '[]'")
        if INSTANCE_RE.match(name):
            raise error(f"invalid reference '{text}': an instance needs a field before it")
        raise error(f"'[{name}]' is not a valid field name (letters, digits and _, starting with a letter)")
    field, code = field_match.groups()
    if code is not None:
        code = code.strip()
        if not CODE_RE.match(code):
            raise error(f"invalid checkbox code '({code})' in '{text}'")
    if event is not None and not (EVENT_RE.match(event) or event in EVENT_SMART_VARIABLES):
        raise error(f"'[{event}]' is not a valid event name")
    return Ref(FieldRef(field, event, code, instance), position)


_PARSER = Lark(
    GRAMMAR_PATH.read_text(encoding="utf-8"),
    parser="lalr",
    lexer="contextual",
    maybe_placeholders=False,
    transformer=AstBuilder(),
)


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of logic"
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"'{text}'"


OPERATOR_TOKENS = frozenset({"OR", "AND", "COMPARE", "ADD", "SUB", "MUL", "DIV", "POW"})


def _expected(expected: set[str]) -> str:
    """A short hint from lark's expected terminals: 'a value', or 'an operator, ',' or ')''."""
    if expected & VALUE_TOKENS:
        return "expected a value, a [field] or a function"
    names = []
    if expected & OPERATOR_TOKENS:
        names.append("an operator")
    names += [TOKEN_NAMES[name] for name in ("COMMA", "RPAR") if name in expected]
    if not names:
        return ""
    return "expected " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1])


def _translate(source: str, exc: UnexpectedInput) -> LogicSyntaxError:
    """lark's errors -> messages a data manager understands."""
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream
        char = source[position]
        if char in "\"'":
            return LogicSyntaxError.at(source, position, f"unclosed string (no closing {char})")
        if char == "[":
            return LogicSyntaxError.at(
                source, position, "unclosed or invalid '[' (a reference ends with ']' on the same line)"
            )
        if char == "#":
            return LogicSyntaxError.at(source, position, "unexpected '#' (a comment must start its own line)")
        return LogicSyntaxError.at(source, position, f"unexpected character '{char}'")
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            position = len(source.rstrip())
            hint = "missing ')'" if "RPAR" in exc.expected else _expected(set(exc.expected))
            if not source.strip() or all(
                line.strip().startswith(("#", "//")) for line in source.splitlines() if line.strip()
            ):
                return LogicSyntaxError("empty logic", 0, 1, 1)
            return LogicSyntaxError.at(
                source, position, f"unexpected end of logic ({hint})" if hint else "unexpected end of logic"
            )
        position = token.start_pos or 0
        hint = _expected(set(exc.expected))
        if token.type == "RPAR" and "RPAR" not in exc.expected:
            hint = "no matching '('"
        where = LogicSyntaxError.at(source, position, f"unexpected {_describe_token(token)}")
        if hint:
            where.message += f"; {hint}"
            where.args = (where.message,)
        return where
    if isinstance(exc, UnexpectedEOF):
        return LogicSyntaxError.at(source, len(source), "unexpected end of logic")
    return LogicSyntaxError.at(source, 0, str(exc))


def parse_ast(source: str) -> Node:
    """Parse logic text into its AST (no caching; see forms.logic.parse for the cached entry point)."""
    try:
        return _PARSER.parse(source)  # type: ignore[return-value]
    except PositionedError as exc:
        raise LogicSyntaxError.at(source, exc.position, exc.what) from None
    except UnexpectedInput as exc:
        raise _translate(source, exc) from None
