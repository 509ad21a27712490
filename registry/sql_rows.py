"""Model instances from hand-written SQL: the column lists and the row-to-instance step of the ORM.

A few statements run on every request of a hot page (the form save reads and locks a record and a
form, the scope is read on every page). Compiling them with the ORM costs more CPU than PostgreSQL
spends running them, so those statements are written once as SQL; this module gives them what the
ORM would: a select list of a model's concrete columns, and instances built from a row slice the
way `QuerySet` builds them (`Model.from_db`, the fields' own converters, related rows cached as
`select_related` caches them). The lists follow the models, so a new column is never forgotten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connection, models


def enabled() -> bool:
    """Whether the hand-written statements run: on PostgreSQL. SQLite (the embedded demo) keeps the ORM code."""
    return connection.vendor == "postgresql"


# Statements prepared on each database connection (the driver's connection object: a reconnect starts afresh).
_prepared: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()


def prepares() -> bool:
    """Prepared statements on persistent connections only: a connection per request would prepare every time,
    and PgBouncer's transaction pooling (docs/scaling.md: DB_CONN_MAX_AGE=0 behind it) shares server
    connections between clients, where a prepared statement would be missing."""
    return enabled() and bool(connection.settings_dict.get("CONN_MAX_AGE"))


@lru_cache(maxsize=512)
def _statement(sql: str) -> tuple[str, str, str]:
    """(name, PREPARE, EXECUTE template) of a statement written with %s placeholders (no other % in it)."""
    name = "r_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:24]
    parts = sql.split("%s")
    numbered = "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))
    arguments = ", ".join(["%s"] * (len(parts) - 1))
    return name, f"PREPARE {name} AS {numbered}", f"EXECUTE {name}" + (f" ({arguments})" if arguments else "")


def execute(cursor, sql: str, params: Sequence[Any]) -> None:
    """Run a hand-written statement; on a persistent PostgreSQL connection as a prepared statement.

    PostgreSQL parses and plans a statement on every run unless it is prepared; for the save's
    statements planning took longer than running (0.3 ms against 0.16 ms for the lock). A prepared
    statement survives the rollback of the transaction that prepared it, so the set kept here holds.
    """
    if not prepares():
        cursor.execute(sql, params)
        return
    name, prepare, run = _statement(sql)
    done = _prepared.setdefault(connection.connection, set())
    if name not in done:
        cursor.execute(prepare)
        done.add(name)
    cursor.execute(run, params)


def json_value(value: Any, loads: Callable[[str | bytes], Any] = json.loads) -> Any:
    """A JSON or JSONB column's value as Python: Django's backend hands JSONB over as text (the JSONField
    parses it), a bare connection parses it itself. `loads`: a caller's local binding, in a loop."""
    return loads(value) if isinstance(value, str | bytes) else value


@dataclass(frozen=True)
class Columns:
    """One model's concrete columns, in field order, and how to turn a row slice into an instance."""

    model: type[models.Model]
    names: tuple[str, ...]  # database column names
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, converter) of fields that need one

    def select(self, alias: str) -> str:
        return ", ".join(f'{alias}."{name}"' for name in self.names)

    def __len__(self) -> int:
        return len(self.names)

    def build(self, values: Sequence[Any]) -> models.Model:
        values = list(values)
        for position, convert in self.converters:
            if values[position] is not None:
                values[position] = convert(values[position])
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def columns(model: type[models.Model]) -> Columns:
    fields = model._meta.concrete_fields
    converters = []
    for position, field in enumerate(fields):
        # What the compiler applies to a column read from this backend (JSONField parses the text).
        found = field.get_db_converters(connection)
        if found:
            converters.append((position, _chain(found, field)))
    return Columns(
        model=model,
        names=tuple(f.column for f in fields),
        attnames=tuple(f.attname for f in fields),
        converters=tuple(converters),
    )


def _chain(found: list, field: models.Field) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        for converter in found:
            value = converter(value, field, connection)
        return value

    return convert


def attach(instance: models.Model, related: str, value: models.Model | None) -> None:
    """Cache a related row on an instance, as select_related does (no query when it is read)."""
    instance._meta.get_field(related).set_cached_value(instance, value)


def split(row: Sequence[Any], *parts: Columns) -> list[Sequence[Any]]:
    """A joined row cut into one slice per model, in the order the select list named them."""
    slices, start = [], 0
    for part in parts:
        slices.append(row[start : start + len(part)])
        start += len(part)
    return slices
