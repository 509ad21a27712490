"""Custom rules compiled to one SQL query each over the JSONB form rows.

The query returns the anchor rows where the rule is true, with the reported value and its hash,
built exactly as python_eval.reported_value builds them. Values follow REDCap's string semantics
through the dq_* SQL functions (sql_functions.py). Anything the compiler does not know (instance
words, aggregate functions, most smart variables) raises NotCompilable and the rule runs in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forms.logic.functions import DATEDIFF_UNITS, LEGACY_DATE_FORMATS
from forms.logic.nodes import Binary, Boolean, Call, FieldRef, Node, Number, Ref, SmartVar, String, Unary
from forms.models import checkbox_column
from registry.quality.rules import MASK, RulePlan
from registry.services.design import Design

TEXT, NUM, BOOL = "text", "num", "bool"


class NotCompilable(Exception):
    pass


@dataclass
class Sql:
    kind: str
    sql: str


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def as_text(v: Sql) -> str:
    if v.kind == TEXT:
        return v.sql
    if v.kind == NUM:
        return f"dq_txt({v.sql})"
    return f"(CASE WHEN {v.sql} THEN '1' ELSE '0' END)"


def as_num(v: Sql) -> str:
    if v.kind == NUM:
        return v.sql
    if v.kind == BOOL:
        return f"(CASE WHEN {v.sql} THEN 1.0::float8 ELSE 0.0::float8 END)"
    return f"dq_num({v.sql})"


def as_bool(v: Sql) -> str:
    if v.kind == BOOL:
        return v.sql
    if v.kind == NUM:
        return f"coalesce({v.sql} <> 0, false)"
    return f"dq_truthy({v.sql})"


@dataclass
class RuleCompiler:
    design: Design
    anchor_instrument: str
    joins: dict[tuple[str, str, str], str] = field(default_factory=dict)

    # -- references ------------------------------------------------------------------------

    def _event_sql(self, event: str | None) -> str:
        if event is None or event == "event-name":
            return "a.event"
        if event.endswith("event-name"):
            if not self.design.is_longitudinal:
                raise NotCompilable(event)
            order = [name for name, _ in self.design.events]
            pairs = []
            for i, name in enumerate(order):
                target = {"previous-event-name": i - 1, "next-event-name": i + 1,
                          "first-event-name": 0, "last-event-name": len(order) - 1}[event]  # fmt: skip
                if 0 <= target < len(order):
                    pairs.append(f"WHEN {lit(name)} THEN {lit(order[target])}")
            return f"(CASE a.event {' '.join(pairs)} END)" if pairs else "NULL"
        return lit(event)

    def alias_for(self, ref: FieldRef) -> str:
        instrument = self.design.instrument_of.get(ref.field)
        if instrument is None:
            raise NotCompilable(ref.field)
        if ref.instance is not None and not ref.instance.isdigit():
            raise NotCompilable(ref.instance)
        event_sql = self._event_sql(ref.event)
        if ref.instance is None and event_sql == "a.event" and instrument == self.anchor_instrument:
            return "a"
        if ref.instance is not None:
            instance_sql = ref.instance
        elif instrument == self.anchor_instrument:
            instance_sql = f"(CASE WHEN {event_sql} = a.event THEN a.instance ELSE 1 END)"
        else:
            instance_sql = "1"
        key = (event_sql, instrument, instance_sql)
        if key not in self.joins:
            self.joins[key] = f"j{len(self.joins) + 1}"
        return self.joins[key]

    def ref(self, ref: FieldRef) -> Sql:
        alias = self.alias_for(ref)
        if ref.code is not None:
            column = checkbox_column(ref.field, ref.code)
            return Sql(TEXT, f"(CASE WHEN {alias}.data->>{lit(column)} = '1' THEN '1' ELSE '0' END)")
        return Sql(TEXT, f"coalesce({alias}.data->>{lit(ref.field)}, '')")

    def join_sql(self) -> str:
        return " ".join(
            f"LEFT JOIN registry_forminstance {alias} ON {alias}.record_id = a.record_id AND {alias}.event = {ev}"
            f" AND {alias}.instrument = {lit(instrument)} AND {alias}.instance = {inst}"
            for (ev, instrument, inst), alias in self.joins.items()
        )

    # -- expressions -----------------------------------------------------------------------

    def node(self, node: Node) -> Sql:
        if isinstance(node, Number):
            return Sql(NUM, f"({float(node.value)!r})::float8")
        if isinstance(node, String):
            return Sql(TEXT, lit(node.value))
        if isinstance(node, Boolean):
            return Sql(BOOL, "true" if node.value else "false")
        if isinstance(node, Ref):
            return self.ref(node.ref)
        if isinstance(node, SmartVar):
            if node.name == "event-name" and node.param is None:
                return Sql(TEXT, "a.event" if self.design.is_longitudinal else "''")
            if node.name == "record-name":
                return Sql(TEXT, "r.record_id")
            raise NotCompilable(node.name)
        if isinstance(node, Unary):
            inner = self.node(node.operand)
            if node.op == "not":
                return Sql(BOOL, f"(NOT {as_bool(inner)})")
            return Sql(NUM, f"(-{as_num(inner)})" if node.op == "-" else as_num(inner))
        if isinstance(node, Binary):
            left, right = self.node(node.left), self.node(node.right)
            if node.op in ("and", "or"):
                return Sql(BOOL, f"({as_bool(left)} {node.op.upper()} {as_bool(right)})")
            if node.op in ("+", "-", "*"):
                return Sql(NUM, f"({as_num(left)} {node.op} {as_num(right)})")
            if node.op == "/":
                return Sql(NUM, f"({as_num(left)} / nullif({as_num(right)}, 0))")
            if node.op == "^":
                raise NotCompilable("^")
            if left.kind == NUM and right.kind == NUM:
                # Both numbers: numeric compare; a blank (NULL) side compares as text ''.
                cmp = f"dq_cmp({lit(node.op)}, dq_txt({left.sql}), dq_txt({right.sql}))"
                return Sql(BOOL, f"coalesce({left.sql} {sql_op(node.op)} {right.sql}, {cmp})")
            return Sql(BOOL, f"dq_cmp({lit(node.op)}, {as_text(left)}, {as_text(right)})")
        if isinstance(node, Call):
            return self.call(node)
        raise NotCompilable(type(node).__name__)

    def call(self, node: Call) -> Sql:
        name, args = node.name, node.args
        if name == "if":
            cond, yes, no = (self.node(a) for a in args)
            if yes.kind == NUM and no.kind == NUM:
                return Sql(NUM, f"(CASE WHEN {as_bool(cond)} THEN {yes.sql} ELSE {no.sql} END)")
            return Sql(TEXT, f"(CASE WHEN {as_bool(cond)} THEN {as_text(yes)} ELSE {as_text(no)} END)")
        if name == "isnumber":
            value = self.node(args[0])
            if value.kind == NUM:
                return Sql(BOOL, f"({value.sql} IS NOT NULL)")
            if value.kind == BOOL:
                return Sql(BOOL, "false")
            return Sql(BOOL, f"({value.sql} ~ '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$')")
        if name == "abs":
            return Sql(NUM, f"abs({as_num(self.node(args[0]))})")
        if name == "round":
            places = args[1] if len(args) > 1 else Number(0.0)
            if not isinstance(places, Number):
                raise NotCompilable("round places")
            return Sql(NUM, f"dq_round({as_num(self.node(args[0]))}, {int(places.value)})")
        if name == "datediff":
            return self.datediff(args)
        if name == "concat":
            return Sql(TEXT, "(" + " || ".join(as_text(self.node(a)) for a in args) + ")")
        if name in ("ismissingcode", "isblankormissingcode", "isblanknotmissingcode"):
            if not isinstance(args[0], Ref) or args[0].ref.code is not None:
                raise NotCompilable(name)
            alias = self.alias_for(args[0].ref)
            value = f"coalesce({alias}.data->>{lit(args[0].ref.field)}, '')"
            code = f"coalesce({alias}.missing->>{lit(args[0].ref.field)}, '')"
            return Sql(BOOL, {
                "ismissingcode": f"({code} <> '')",
                "isblankormissingcode": f"({value} = '' OR {code} <> '')",
                "isblanknotmissingcode": f"({value} = '' AND {code} = '')",
            }[name])  # fmt: skip
        raise NotCompilable(name)

    def datediff(self, args: tuple[Node, ...]) -> Sql:
        if len(args) < 3 or not isinstance(args[2], String) or args[2].value.strip() not in DATEDIFF_UNITS:
            raise NotCompilable("datediff unit")
        options = list(args[3:])
        if options and isinstance(options[0], String) and options[0].value.strip().lower() in LEGACY_DATE_FORMATS:
            options.pop(0)
        if not options:
            signed = False
        elif isinstance(options[0], Boolean):
            signed = options[0].value
        elif isinstance(options[0], String) and options[0].value.strip().lower() in ("true", "false"):
            signed = options[0].value.strip().lower() == "true"
        else:
            raise NotCompilable("datediff flag")
        ends = []
        for arg in args[:2]:
            if isinstance(arg, String) and arg.value.strip().lower() in ("today", "now"):
                raise NotCompilable("today")  # the run's clock belongs to Python, keep one notion of today
            ends.append(f"dq_ts({as_text(self.node(arg))})")
        seconds = DATEDIFF_UNITS[args[2].value.strip()]
        diff = f"(extract(epoch from ({ends[1]} - {ends[0]}))::float8 / {seconds!r})"
        return Sql(NUM, diff if signed else f"abs({diff})")


def sql_op(op: str) -> str:
    return "<>" if op == "<>" else op


def compile_rule(plan: RulePlan, design: Design) -> str:
    """The SELECT of the anchor rows where the rule is true: (record pk, event, instrument, instance, value, hash).

    Filters of the run are appended by the caller as `AND ...` on `r` (record) and `a` (anchor row).
    """
    compiler = RuleCompiler(design, plan.anchor_instrument)
    predicate = as_bool(compiler.node(plan.expression.ast))
    raw_parts, shown_parts = [], []
    for ref in plan.shown:
        text = as_text(compiler.ref(ref) if ref.instance is None or ref.instance.isdigit() else _raise(ref))
        label = lit(f"{ref}=")
        raw_parts.append(f"{label} || {text}")
        masked = f"(CASE WHEN {text} = '' THEN '' ELSE {lit(MASK)} END)"
        shown_parts.append(f"{label} || {masked if design.field_map[ref.field].identifier else text}")
    raw = " || '; ' || ".join(raw_parts)
    shown = " || '; ' || ".join(shown_parts)
    where = f"a.instrument = {lit(plan.anchor_instrument)}"
    if plan.anchor_event:
        where += f" AND a.event = {lit(plan.anchor_event)}"
    return (
        # Every literal went through lit() (quotes doubled); the values of the run come as %s parameters.
        f"SELECT a.record_id, a.event, a.instrument, a.instance, {shown}, md5({raw}) "  # noqa: S608
        f"FROM registry_forminstance a JOIN registry_record r ON r.id = a.record_id {compiler.join_sql()} "
        f"WHERE r.project_id = %s AND {where} AND ({predicate})"
    )


def _raise(ref: FieldRef):
    raise NotCompilable(str(ref))
