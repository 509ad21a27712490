"""The audit trail: append hash-chained rows in the caller's transaction, verify, replay.

Every change of clinical data writes one row per changed field in the same transaction as
the change. Rows of a chain ('project:<code>' or 'system') are numbered and each row's hash
covers the previous row's hash, so an edited, removed or reordered row is detectable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from forms.models import Project
from registry import sql_rows
from registry.models import AuditChainHead, AuditEvent, AuditSource
from registry.request_context import current_request_id

GENESIS = "0" * 64
# A save appends a handful of rows; an import's larger appends go a hundred rows a statement.
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


def _canonical_parts(row: AuditEvent) -> tuple[str, str]:
    """The canonical JSON of a row's hashed fields in two parts, cut where the sequence goes: on
    PostgreSQL the database puts the sequence in when it appends the row (the chain's head is read
    there, locked). Keys sorted, no spaces: the parts joined around the sequence are the JSON of the
    whole payload."""
    before, after = {}, {}
    for name in HASHED_FIELDS:
        if name == "sequence":
            continue
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        (before if name < "sequence" else after)[name] = value
    dump = partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return dump(before)[:-1] + ',"sequence":', "," + dump(after)[1:]


def _canonical(row: AuditEvent) -> bytes:
    before, after = _canonical_parts(row)
    return f"{before}{row.sequence}{after}".encode()


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
    write_first: tuple[str, list] | None = None,
) -> list[AuditEvent]:
    """Append rows to the project's chain. Must run inside the transaction that makes the change.

    `write_first`: the change's own statement (SQL, params), sent with the append in one round trip
    on PostgreSQL (the form save's UPDATE); it runs even when there are no changes.
    """
    changes = list(changes)
    if not changes:
        if write_first is not None:
            with connection.cursor() as cursor:
                cursor.execute(*write_first)
        return []
    chain = chain_of(project)
    at = at or timezone.now()
    request_id = current_request_id() if request_id is None else request_id
    username = getattr(user, "username", "") if user is not None else ""
    rows = [
        AuditEvent(
            project=project,
            chain=chain,
            at=at,
            user=user if getattr(user, "pk", None) else None,
            username=username,
            action=action,
            record_id=change.record_id,
            event=change.event,
            instrument=change.instrument,
            instance=change.instance,
            field=change.field,
            old_value=change.old,
            new_value=change.new,
            reason=reason,
            source=source,
            request_id=request_id,
            details=change.details,
        )
        for change in changes
    ]
    # savepoint=False: the caller's transaction is the unit (a failed append fails the change with it),
    # and a savepoint would cost two round trips on every save.
    with transaction.atomic(savepoint=False):
        if sql_rows.enabled():
            _append_in_database(chain, rows, write_first)
        else:
            _append_in_python(chain, rows, write_first)
    return rows


def _append_in_database(chain: str, rows: list[AuditEvent], write_first: tuple[str, list] | None) -> None:
    """PostgreSQL locks the chain's head, chains the rows' hashes, inserts them and moves the head, in one
    statement per hundred rows: the head (and with it every other append to the project's chain) is
    held from that statement to the commit, not across round trips and Python's hashing as well."""
    for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
        part = rows[start : start + MAX_ROWS_PER_STATEMENT]
        appended = _append_statement(chain, part, write_first if start == 0 else None)
        if not appended:  # the chain's first row: there was no head to lock (the change itself was written)
            AuditChainHead.objects.get_or_create(chain=chain)
            appended = _append_statement(chain, part, None)
        # RETURNING gives no order: the sequence does.
        for row, (pk, sequence, prev_hash, hashed) in zip(part, sorted(appended, key=lambda a: a[1]), strict=True):
            row.pk, row.sequence, row.prev_hash, row.row_hash = pk, sequence, prev_hash, hashed
            row._state.adding, row._state.db = False, connection.alias


def _append_statement(chain: str, rows: list[AuditEvent], write_first: tuple[str, list] | None) -> list[tuple]:
    """Run the append of `rows` (with `write_first` ahead of it); [] when the chain has no head yet."""
    sql = _append_sql(len(rows), write_first[0] if write_first is not None else None)
    params: list = [*(write_first[1] if write_first is not None else ()), chain]
    fields = _given_fields()
    for row in rows:
        params.extend(f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields)
        params.extend(_canonical_parts(row))
    params.extend([chain, len(rows)])
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, sql, params)
        return cursor.fetchall()


@cache
def _given_fields() -> tuple:
    """The columns Python gives an appended row; the database gives sequence, prev_hash and row_hash."""
    chained = {"sequence", "prev_hash", "row_hash"}
    return tuple(f for f in AuditEvent._meta.concrete_fields if not f.primary_key and f.name not in chained)


@cache
def _append_sql(count: int, write_first: str | None) -> str:
    """The append as one statement. The recursive step is row_hash(): sha256 of the previous hash, a
    newline and the canonical JSON (Python's two parts around the sequence), so verify_chain() checks
    rows appended here and rows appended by Python alike."""
    fields = _given_fields()
    # Strings as text: a cast to varchar(n) would cut a long value short, where the INSERT refuses it.
    casts = ["text" if f.get_internal_type() in ("CharField", "TextField") else f.db_type(connection) for f in fields]
    one = ", ".join(f"%s::{cast}" for cast in casts)
    values = ", ".join(f"({n}, {one}, %s::text, %s::text)" for n in range(1, count + 1))
    names = [f.column for f in fields]
    given = ", ".join(f'"{name}"' for name in names)
    written = f"written AS ({write_first}), " if write_first is not None else ""
    return (
        f"WITH RECURSIVE {written}"  # noqa: S608 - model columns, placeholders
        "head AS (SELECT sequence, last_hash FROM registry_auditchainhead WHERE chain = %s FOR UPDATE), "
        f"given (n, {given}, hash_before, hash_after) AS (VALUES {values}), "
        "chained (n, sequence, prev_hash, row_hash) AS ("
        "SELECT 0, sequence, ''::text, last_hash::text FROM head "
        "UNION ALL SELECT g.n, c.sequence + 1, c.row_hash, encode(sha256(convert_to("
        "c.row_hash || chr(10) || g.hash_before || (c.sequence + 1)::text || g.hash_after, 'UTF8')), 'hex') "
        "FROM chained c JOIN given g ON g.n = c.n + 1), "
        f"inserted AS (INSERT INTO registry_auditevent ({given}, sequence, prev_hash, row_hash) "
        f"SELECT {', '.join(f'g.{name}' for name in names)}, c.sequence, c.prev_hash, c.row_hash "
        "FROM given g JOIN chained c ON c.n = g.n RETURNING id, sequence, prev_hash, row_hash), "
        "moved AS (UPDATE registry_auditchainhead h SET sequence = c.sequence, last_hash = c.row_hash "
        "FROM chained c WHERE h.chain = %s AND c.n = %s) "
        "SELECT id, sequence, prev_hash, row_hash FROM inserted"
    )


def _append_in_python(chain: str, rows: list[AuditEvent], write_first: tuple[str, list] | None) -> None:
    """SQLite (the embedded demo): the head locked and read, the hashes chained here, the rows bulk-inserted."""
    if write_first is not None:
        with connection.cursor() as cursor:
            cursor.execute(*write_first)
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:  # the chain's first row
        AuditChainHead.objects.get_or_create(chain=chain)
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    prev_hash, sequence = head.last_hash, head.sequence
    for row in rows:
        sequence += 1
        row.sequence, row.prev_hash = sequence, prev_hash
        row.row_hash = prev_hash = row_hash(prev_hash, row)
    AuditEvent.objects.bulk_create(rows)
    head.sequence, head.last_hash = sequence, prev_hash
    head.save(update_fields=["sequence", "last_hash"])


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
