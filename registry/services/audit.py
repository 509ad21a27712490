"""The audit trail: append hash-chained rows in the caller's transaction, verify, replay.

Every change of clinical data writes one row per changed field in the same transaction as
the change. Rows of a chain ('project:<code>' or 'system') are numbered and each row's hash
covers the previous row's hash, so an edited, removed or reordered row is detectable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from django.db import connection, connections, models, transaction
from django.utils import timezone

from forms.models import Project
from registry import sql_rows
from registry.models import AuditChainHead, AuditEvent, AuditSource
from registry.request_context import current_request_id

GENESIS = "0" * 64
# Larger appends (an import's) go through bulk_create; a save writes a handful of rows.
MAX_ROWS_PER_STATEMENT = 100
HASHED_FIELDS = (
    "chain", "sequence", "at", "username", "action", "record_id", "event", "instrument", "instance",
    "field", "old_value", "new_value", "reason", "source", "request_id", "details",
)  # fmt: skip


@dataclass
class Change:
    """One field's change (or one non-data action when field is empty)."""

    field: str = ""
    old: str | None = None
    new: str | None = None
    record_id: str = ""
    event: str = ""
    instrument: str = ""
    instance: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def chain_of(project: Project | None) -> str:
    return f"project:{project.code}" if project is not None else "system"


def _payload(row: AuditEvent) -> dict[str, Any]:
    payload = {}
    for name in HASHED_FIELDS:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        payload[name] = value
    return payload


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(row: AuditEvent) -> bytes:
    return _dumps(_payload(row)).encode()


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(row)).hexdigest()


def audit_append(
    *,
    project: Project | None,
    action: str,
    changes: Iterable[Change],
    user=None,
    source: str = AuditSource.WEB,
    reason: str = "",
    request_id: str | None = None,
    at: datetime | None = None,
    head: AuditChainHead | None = None,
) -> list[AuditEvent]:
    """Append rows to the project's chain. Must run inside the transaction that makes the change.

    `head`: the chain's head as `lock_head` locked it in this transaction, with the change's own statement
    (the form save's UPDATE) in the same round trip.
    """
    changes = list(changes)
    if not changes:
        return []
    chain = chain_of(project)
    rows = _new_rows(project, chain, action, changes, user, source, reason, request_id, at)
    # savepoint=False: the caller's transaction is the unit (a failed append fails the change with it),
    # and a savepoint would cost two round trips on every save.
    with transaction.atomic(savepoint=False):
        # The row lock serialises appends to one chain until the caller's transaction ends.
        if head is None:
            head = _locked_head(chain)
        elif head.chain != chain:
            raise ValueError(f"the head of {head.chain} was locked for an append to {chain}")
        prev_hash, sequence = head.last_hash, head.sequence
        for row in rows:
            sequence += 1
            row.sequence, row.prev_hash = sequence, prev_hash
            row.row_hash = prev_hash = row_hash(prev_hash, row)
        head.sequence, head.last_hash = sequence, prev_hash
        if sql_rows.enabled() and len(rows) <= MAX_ROWS_PER_STATEMENT:
            _write_rows_and_head(rows, head)
        else:
            AuditEvent.objects.bulk_create(rows)
            head.save(update_fields=["sequence", "last_hash"])
    return rows


def _new_rows(
    project,
    chain: str,
    action: str,
    changes: list[Change],
    user,
    source: str,
    reason: str,
    request_id: str | None,
    at: datetime | None,
) -> list[AuditEvent]:
    """The rows of an append, without their place in the chain (sequence and hashes)."""
    at = at or timezone.now()
    request_id = current_request_id() if request_id is None else request_id
    username = getattr(user, "username", "") if user is not None else ""
    user = user if getattr(user, "pk", None) else None
    return [
        AuditEvent(
            project=project, chain=chain, at=at, user=user, username=username, action=action,
            record_id=change.record_id, event=change.event, instrument=change.instrument, instance=change.instance,
            field=change.field, old_value=change.old, new_value=change.new, reason=reason, source=source,
            request_id=request_id, details=change.details,
        )
        for change in changes
    ]  # fmt: skip


def write_and_append(
    project: Project | None,
    write_first: tuple[str, list],
    *,
    action: str,
    changes: Iterable[Change],
    user=None,
    source: str = AuditSource.WEB,
    reason: str = "",
    also: tuple[str, list] | None = None,
) -> tuple[list[AuditEvent], tuple]:
    """The change's own statement, its audit rows and the chain head's move: one round trip on PostgreSQL.

    Must run inside the transaction that makes the change. The statement locks the chain's head itself
    (its newest version, after any wait), so the rows' places and hashes are worked out in the statement:
    PostgreSQL hashes each row as `row_hash` does, from the canonical JSON that Python wrote around the
    sequence number (`_canonical_around_sequence`). Holding the head for the statement alone keeps the
    saves of a project queueing on it as briefly as before, one round trip fewer (docs/benchmarks.md).
    `also`: more columns (SQL, params) read in that statement, returned second, as `lock_head` gives them.
    """
    changes = list(changes)
    append = partial(audit_append, project=project, action=action, changes=changes, user=user, source=source,
                     reason=reason)  # fmt: skip
    if not changes or not sql_rows.enabled() or len(changes) > MAX_ROWS_PER_STATEMENT:
        head, more = lock_head(project, write_first, also)
        return append(head=head), more
    chain = chain_of(project)
    rows = _new_rows(project, chain, action, changes, user, source, reason, None, None)
    db = connections[connection.alias]
    params: list = [*write_first[1], chain]
    prefixes, suffixes = [], []
    for row in rows:
        prefix, suffix = _canonical_around_sequence(row)
        prefixes.append(prefix)
        suffixes.append(suffix)
    params += [prefixes, suffixes, len(rows)]
    for n, row in enumerate(rows, start=1):
        params.append(n)
        params.extend(_row_params(row, db, _appended_columns()))
    params += [chain, len(rows), *(also[1] if also else ())]
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, _write_and_append_sql(write_first[0], len(rows), also[0] if also else ""), params)
        written, *more = cursor.fetchone()
    placed = sql_rows.json_value(written)
    if not placed:  # the chain has no head yet: the change's statement ran, the usual append creates the head
        return append(), tuple(more)
    for row, (pk, sequence, prev_hash, row_hash_) in zip(rows, sorted(placed, key=lambda p: p[1]), strict=True):
        row.pk, row.sequence, row.prev_hash, row.row_hash = pk, sequence, prev_hash, row_hash_
        row._state.adding, row._state.db = False, connection.alias
    return rows, tuple(more)


def _canonical_around_sequence(row: AuditEvent) -> tuple[bytes, bytes]:
    """`_canonical(row)` split where the sequence number goes: prefix + str(sequence) + suffix is the same bytes.

    The payload's keys are sorted, so the number sits between the keys before "sequence" and those after.
    """
    payload = _payload(row)
    del payload["sequence"]
    before = {k: v for k, v in payload.items() if k < "sequence"}
    after = {k: v for k, v in payload.items() if k > "sequence"}
    prefix = _dumps(before)[:-1] + ',"sequence":'
    suffix = "," + _dumps(after)[1:]
    return prefix.encode(), suffix.encode()


_CHAIN_COLUMNS = ("sequence", "prev_hash", "row_hash")  # what the append statement works out itself


@cache
def _appended_columns() -> tuple[tuple[str, type | None, models.Field], ...]:
    return tuple(c for c in _insert_columns() if c[2].column not in _CHAIN_COLUMNS)


@cache
def _write_and_append_sql(write_first: str, count: int, also: str) -> str:
    fields = [f for _, _, f in _appended_columns()]
    # VALUES outside an INSERT's own list take no type from the columns: each parameter says its type (without
    # a length: an explicit cast to varchar(n) would cut a value that the column must refuse).
    one = "(%s::integer, " + ", ".join(f"%s::{_base_type(f)}" for f in fields) + ")"
    names = ", ".join(f'"{f.column}"' for f in fields)
    aliases = [f"v{i}" for i in range(len(fields))]
    return (
        f"WITH RECURSIVE written AS ({write_first}), "  # noqa: S608 - callers' constant SQL, model columns, placeholders
        "head AS (SELECT sequence, last_hash FROM registry_auditchainhead WHERE chain = %s FOR UPDATE), "
        # Row n's hash: sha256 of the previous hash, a newline and the canonical JSON with its sequence, as row_hash.
        "chained (n, sequence, prev_hash, row_hash) AS (SELECT 0, sequence, ''::text, last_hash::text FROM head "
        "UNION ALL SELECT c.n + 1, c.sequence + 1, c.row_hash, encode(sha256(convert_to(c.row_hash || E'\\n', 'UTF8') "
        "|| (%s::bytea[])[c.n + 1] || convert_to((c.sequence + 1)::text, 'UTF8') || (%s::bytea[])[c.n + 1]), 'hex') "
        "FROM chained c WHERE c.n < %s), "
        f"inserted AS (INSERT INTO registry_auditevent ({names}, sequence, prev_hash, row_hash) "
        f"SELECT {', '.join(f'v.{a}' for a in aliases)}, c.sequence, c.prev_hash, c.row_hash "
        f"FROM (VALUES {', '.join([one] * count)}) AS v (n, {', '.join(aliases)}) JOIN chained c ON c.n = v.n "
        "RETURNING id, sequence, prev_hash, row_hash), "
        "moved AS (UPDATE registry_auditchainhead h SET sequence = c.sequence, last_hash = c.row_hash "
        "FROM chained c WHERE h.chain = %s AND c.n = %s) "
        "SELECT (SELECT coalesce(json_agg(json_build_array(id, sequence, prev_hash, row_hash)), '[]') FROM inserted)"
        f"{', ' if also else ''}{also}"
    )


def _base_type(field: models.Field) -> str:
    return re.sub(r"\(.*\)", "", field.db_type(connection))


def lock_head(
    project: Project | None, write_first: tuple[str, list], also: tuple[str, list] | None = None
) -> tuple[AuditChainHead | None, tuple]:
    """The change's own statement and the chain's head locked, in one round trip on PostgreSQL; pass the head
    to `audit_append`. `also`: more columns (SQL, params) read in that statement, whose values come second: the
    statement runs after the change's own row locks were taken, so it sees every row committed before it.
    (None, ()) when the chain has no head yet or off PostgreSQL: the change's statement has run, and
    `audit_append` locks (or creates) the head itself.
    """
    if not sql_rows.enabled():
        with connection.cursor() as cursor:
            cursor.execute(*write_first)
        return None, ()
    chain = chain_of(project)
    found = _head_statement(chain, write_first, also)
    if found is None:
        return None, ()
    return AuditChainHead(chain=chain, sequence=found[0], last_hash=found[1]), tuple(found[2:])


def _head_statement(chain: str, write_first: tuple[str, list] | None, also: tuple[str, list] | None = None):
    """One round trip: the change's own write, then the head locked and read (a save holds the head, and
    with it every other save of the project, for as few round trips as possible)."""
    columns = f", {also[0]}" if also else ""
    sql = f"SELECT sequence, last_hash{columns} FROM registry_auditchainhead WHERE chain = %s FOR UPDATE"  # noqa: S608 - callers' constant SQL, placeholders
    params = [*(also[1] if also else ()), chain]
    if write_first is not None:
        sql, params = f"WITH written AS ({write_first[0]}) {sql}", [*write_first[1], *params]
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, sql, params)
        return cursor.fetchone()


def _locked_head(chain: str) -> AuditChainHead:
    if sql_rows.enabled():
        found = _head_statement(chain, None)
        if found is not None:
            return AuditChainHead(chain=chain, sequence=found[0], last_hash=found[1])
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:  # the chain's first row
        AuditChainHead.objects.get_or_create(chain=chain)
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head


@cache
def _insert_sql(count: int) -> str:
    fields = _insert_fields()
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    names = ", ".join(f'"{f.column}"' for f in fields)
    return (
        f"WITH inserted AS (INSERT INTO registry_auditevent ({names}) VALUES {', '.join([one] * count)} RETURNING id), "  # noqa: S608 - model columns, placeholders
        "head AS (UPDATE registry_auditchainhead SET sequence = %s, last_hash = %s WHERE chain = %s) "
        "SELECT id FROM inserted"
    )


@cache
def _insert_fields() -> tuple:
    return tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key)


# Columns whose database value is the attribute itself when it holds exactly this type (or None): for them a
# row skips get_db_prep_save, three calls through the field and the connection proxy per column, which were a
# third of an audit append's CPU. Any other value (an enum member, a datetime, JSON) still goes through the field.
_PLAIN_TYPES: tuple[tuple[type[models.Field], type], ...] = (
    (models.ForeignKey, int), (models.CharField, str), (models.TextField, str),
    (models.PositiveBigIntegerField, int), (models.PositiveIntegerField, int),
)  # fmt: skip


def _plain_type(field: models.Field) -> type | None:
    return next((plain for kind, plain in _PLAIN_TYPES if type(field) is kind), None)


@cache
def _insert_columns() -> tuple[tuple[str, type | None, models.Field], ...]:
    """(attribute, plain type or None, field) of each inserted column, in `_insert_fields` order."""
    return tuple((f.attname, _plain_type(f), f) for f in _insert_fields())


def _row_params(row: AuditEvent, db, columns: tuple | None = None) -> list:
    """The row's INSERT parameters: what `f.get_db_prep_save(f.pre_save(row, True), db)` gives for each column
    (of `columns`, by default every inserted one)."""
    values = row.__dict__
    params = []
    for attname, plain, f in columns or _insert_columns():
        value = values[attname]
        params.append(value if value is None or type(value) is plain else f.get_db_prep_save(f.pre_save(row, True), db))
    return params


def _write_rows_and_head(rows: list[AuditEvent], head: AuditChainHead) -> None:
    """The rows and the head's new position in one statement (bulk_create and head.save() were two)."""
    params: list = []
    db = connections[connection.alias]  # the wrapper itself: each use of the `connection` proxy is a lookup
    for row in rows:
        params.extend(_row_params(row, db))
    params.extend([head.sequence, head.last_hash, head.chain])
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, _insert_sql(len(rows)), params)
        ids = [found[0] for found in cursor.fetchall()]
    # As bulk_create leaves them: saved, with their ids (RETURNING gives them in VALUES order).
    for row, pk in zip(rows, sorted(ids), strict=True):
        row.pk = pk
        row._state.adding, row._state.db = False, connection.alias


@dataclass
class ChainReport:
    chain: str
    checked: int
    ok: bool
    problem: str = ""


def verify_chain(chain: str) -> ChainReport:
    """Recompute every hash of a chain in order; name the first row that does not fit."""
    prev_hash, expected_sequence, checked = GENESIS, 1, 0
    rows = AuditEvent.objects.filter(chain=chain).order_by("sequence")
    for row in rows.iterator(chunk_size=2000):
        if row.sequence != expected_sequence:
            return ChainReport(chain, checked, False, f"row {expected_sequence} is missing (found {row.sequence})")
        if row.prev_hash != prev_hash:
            return ChainReport(chain, checked, False, f"row {row.sequence} does not follow row {row.sequence - 1}")
        if row_hash(prev_hash, row) != row.row_hash:
            return ChainReport(chain, checked, False, f"row {row.sequence} was altered")
        prev_hash, expected_sequence, checked = row.row_hash, expected_sequence + 1, checked + 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.sequence != checked or head.last_hash != prev_hash):
        return ChainReport(chain, checked, False, f"the chain ends at row {checked} but its head says {head.sequence}")
    return ChainReport(chain, checked, True)


FormKey = tuple[str, str, int]  # (event, instrument, instance)


def replay_record(project: Project, record_id: str, as_of: datetime | None = None) -> dict[FormKey, dict[str, str]]:
    """Rebuild a record's values from its audit rows, as they stood at `as_of` (default: now)."""
    rows = AuditEvent.objects.filter(chain=chain_of(project), record_id=record_id, action="data_change").exclude(
        details__has_key="missing_code"
    )
    if as_of is not None:
        rows = rows.filter(at__lte=as_of)
    state: dict[FormKey, dict[str, str]] = {}
    for row in rows.order_by("sequence").iterator(chunk_size=2000):
        values = state.setdefault((row.event, row.instrument, row.instance or 1), {})
        if row.new_value is None or row.new_value == "":
            values.pop(row.field, None)
        else:
            values[row.field] = row.new_value
    return {key: values for key, values in state.items() if values}
