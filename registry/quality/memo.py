"""Expressions evaluated once per distinct input: the values the expression reads are the cache key.

A run evaluates the same calcs, branching logic and rules on a million form rows, and most of them
see the same few inputs again and again (a unit code, a 0-10 score, six 0/1 flags). An expression
that only reads field values (no smart variables, no missing-code tests, no date functions, which
may read the clock when a value says `today`) is a pure
function of the values its field references return, so those values - read with the evaluator's own
reference closures, event words and instances included - key a cache of the result. Where inputs are
nearly all distinct (two dates), the cache is switched off after a trial so it costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from forms.logic import EvalContext, Expression
from forms.logic.evaluator import compile_node
from forms.logic.functions import MISSING_CODE_FUNCTIONS
from forms.logic.nodes import FieldRef, Ref, SmartVar, walk
from forms.logic.parser import EVENT_SMART_VARIABLES
from forms.models import checkbox_column
from registry.quality.context import NO_DATA

TRIAL = 4000  # misses before deciding whether the cache pays
MIN_HIT_RATE = 0.3
MAX_ENTRIES = 20_000  # per expression: memory stays bounded on any registry size
# Date functions parse 'today'/'now' (a literal or a stored value) with the context's clock.
CLOCK_FUNCTIONS = frozenset({"datediff", "calcdate", "year", "month", "day"})


def is_pure(expression: Expression) -> bool:
    """Whether the value depends on nothing but the values of the fields it names."""
    if expression.smart_variables or expression.functions & (MISSING_CODE_FUNCTIONS | CLOCK_FUNCTIONS):
        return False
    return not any(isinstance(node, SmartVar) for node in walk(expression.ast))


_ELSEWHERE = object()  # first item of a key read through the evaluator at a row of another instrument
_NO_DATA: dict = {}
_MISS = object()


def _column(ref: FieldRef) -> str:
    return ref.field if ref.code is None else checkbox_column(ref.field, ref.code)


def _plain_row_ref(ref: FieldRef, instrument_of: Mapping[str, str]) -> bool:
    """A reference that names one row by itself: no instance word, no event smart variable, a known field."""
    return ref.instance is None and ref.event not in EVENT_SMART_VARIABLES and ref.field in instrument_of


class SharedKey:
    """The key last built for one set of references, and the row (its data dict) it was built at.

    A row's dict identifies the row (event, instrument and instance) while the record is held, and the
    reference kept here keeps it from being freed, so `is` cannot match another row's dict.
    """

    __slots__ = ("key", "row")

    def __init__(self) -> None:
        self.row: dict | None = None
        self.key: Any = None


class Memoized:
    """`compute(ctx)` through a cache keyed by the expression's field reads, when that is safe and pays.

    With `instrument` (and its `fields`), the references to fields of that instrument at the current
    event and instance are read straight from the current row's dict (one C-level `map` over the
    row instead of one evaluator read each): calcs, branching and rules mostly read their own form.
    """

    __slots__ = ("compute", "entries", "hits", "instrument", "local", "misses", "only_local", "readers", "remote",
                 "rows", "shared", "single")  # fmt: skip

    def __init__(self, expression: Expression, compute: Callable[[EvalContext], Any], *,
                 instrument: str | None = None, fields: frozenset[str] = frozenset(),
                 instrument_of: Mapping[str, str] | None = None,
                 keys: dict[tuple, SharedKey] | None = None) -> None:  # fmt: skip
        self.compute = compute
        refs = {node.ref: node for node in walk(expression.ast) if isinstance(node, Ref)}
        pure = is_pure(expression)
        self.readers = [compile_node(node) for node in refs.values()] if pure else None
        self.instrument = instrument if pure else None
        local = [ref for ref in refs if ref.event is None and ref.instance is None and ref.field in fields]
        # A checkbox reference reads its `field___code` column: the raw text there decides the value.
        self.local = tuple(_column(ref) for ref in local)
        # Other rows named without instance words (a field of another form, [baseline_arm_1][x]): looked up
        # in the record's forms as RecordForms._key does, without going through the evaluator.
        of = instrument_of or {}
        self.rows = [(ref.event, of[ref.field], _column(ref), of[ref.field] == instrument)
                     for ref in refs if ref not in local and _plain_row_ref(ref, of)]  # fmt: skip
        row_refs = {ref for ref in refs if ref not in local and _plain_row_ref(ref, of)}
        remote = [ref for ref in refs if ref not in local and ref not in row_refs]
        self.remote = [compile_node(refs[ref]) for ref in remote]
        self.only_local = not self.rows and not self.remote
        # One field of the row: its value is the key (a text or None never equals another shape's tuple key).
        self.single = self.local[0] if self.only_local and len(self.local) == 1 else None
        # Expressions that read the same references in the same order at the same instrument build the same key
        # at a row, so they share it: a follow-up row's imp30_pga, imp50_pga, ..., imp90_pga all read
        # [phys_global] and its baseline value.
        signature = (self.instrument, self.local, tuple(self.rows), tuple(remote))
        sharing = keys is not None and pure and self.single is None  # one value is as quick to read as a shared key
        self.shared = keys.setdefault(signature, SharedKey()) if sharing else None
        self.entries: dict[tuple, Any] = {}
        self.hits = self.misses = 0

    def _key(self, ctx: Any) -> tuple:
        if ctx._instrument != self.instrument:
            return (_ELSEWHERE, *[read(ctx) for read in self.readers])  # type: ignore[union-attr]
        # A RecordForms at a row of the instrument: read that row, and the other rows, straight from the
        # dicts. Raw texts stand for themselves (RecordForms.value returns a str as it is); a None or a
        # number only makes a separate entry, never a wrong one.
        forms, event, instance = ctx.forms, ctx._event, ctx._instance
        form = forms.get((event, self.instrument, instance))
        key = list(map((form[0] if form is not None else _NO_DATA).get, self.local))
        for at, instrument, column, same in self.rows:
            other_event = at or event
            other = forms.get((other_event, instrument, instance if same and other_event == event else 1))
            key.append(other[0].get(column) if other is not None else None)
        if self.remote:
            key += [read(ctx) for read in self.remote]
        return tuple(key)

    def __call__(self, ctx: EvalContext) -> Any:
        readers = self.readers
        if readers is None:
            return self.compute(ctx)
        if self.instrument is None:
            key: Any = tuple([read(ctx) for read in readers])
        elif ctx._instrument == self.instrument:  # type: ignore[attr-defined]
            row = ctx.row_data  # type: ignore[attr-defined]
            single = self.single
            if single is not None:  # one field of the row (most calcs, branching and rules): the value is the key
                key = row.get(single)
            else:
                shared = self.shared
                if shared is not None and shared.row is row and row is not NO_DATA:
                    key = shared.key  # a sibling expression built it at this row
                else:
                    # The row's own fields alone: one C-level map over the current row.
                    key = tuple(map(row.get, self.local)) if self.only_local else self._key(ctx)
                    if shared is not None:
                        shared.row, shared.key = row, key
        else:
            key = self._key(ctx)
        entries = self.entries
        result = entries.get(key, _MISS)
        if result is not _MISS:
            self.hits += 1
            return result
        result = self.compute(ctx)
        self.misses += 1
        if self.misses == TRIAL and self.hits < MIN_HIT_RATE * (self.misses + self.hits):
            self.readers, self.instrument, self.entries = None, None, {}  # inputs nearly all distinct
        elif len(entries) < MAX_ENTRIES:
            entries[key] = result
        return result
