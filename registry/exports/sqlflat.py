"""The flat CSV built by PostgreSQL: one `COPY (SELECT ...) TO STDOUT WITH CSV`.

PostgreSQL pivots the JSONB form rows into flat rows, applies the profile (pgcrypto's `hmac` for
hashed ids and date offsets, `date + offset` for shifted dates, `date - enrolment` for study days)
and formats the CSV; Python only copies bytes to the file. The output is byte for byte what the
Python engine (`flat.py` + `profiles.py` + `writers.write_csv_rows`) writes, which the tests check.

Shape of the query:

    SELECT <one expression per exported column>
    FROM (records of the scope, with hashed id, offset and enrolment day) rec
    CROSS JOIN LATERAL (the record's form rows grouped into flat rows: event, repeat instrument,
                        instance, and per instrument its data, status and missing codes) g
    ORDER BY record id, event order, repeat instrument order, instance

Records are visited in record-id order and each record's few rows are grouped and sorted on
their own, so PostgreSQL never sorts or holds the whole project either.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import connection, transaction

from registry.exports.flat import (
    KIND_CHECKBOX,
    KIND_COMPLETE,
    KIND_DAG,
    KIND_EVENT,
    KIND_RECORD_ID,
    KIND_REPEAT_INSTANCE,
    KIND_REPEAT_INSTRUMENT,
    LABELLED_TYPES,
    STATUS_LABELS,
)
from registry.exports.profiles import (
    DATE_PATTERNS,
    HASH_HEX_CHARS,
    HASHED,
    SHIFTED,
    SQL_DATE_FORMATS,
    STUDY_DAYS,
    ColumnPlan,
)
from registry.models import FormInstance, Record, Site

UNKNOWN_EVENT = 1_000_000
KIND_VALUE_KINDS = ("value", KIND_CHECKBOX, KIND_COMPLETE)


def supported() -> bool:
    return connection.vendor == "postgresql"


def lit(text: str) -> str:
    """A SQL string literal (standard_conforming_strings is on: only quotes need doubling)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return "'" + text.replace("'", "''") + "'"


def jlit(value) -> str:
    return f"{lit(json.dumps(value, separators=(',', ':')))}::jsonb"


def tarr(values) -> str:
    return "ARRAY[" + ",".join(lit(v) for v in values) + "]::text[]" if values else "ARRAY[]::text[]"


def _value_sql(plan: ColumnPlan, design, raw_or_label: str) -> str:
    c = plan.column
    form, name = lit(c.instrument), lit(c.field)
    v = f"NULLIF(g.d->{form}->>{name}, '')"
    missing = f"g.m->{form}->>{name}"
    codes = tarr(list(design.missing_codes))
    if plan.action in (SHIFTED, STUDY_DAYS):
        source = plan.source_type
        pattern = lit(DATE_PATTERNS[source])
        if plan.action == SHIFTED:
            if source == "date":
                moved = f"({v}::date + rec.off)::text"
            else:
                moved = f"to_char({v}::timestamp + rec.off * interval '1 day', {lit(SQL_DATE_FORMATS[source])})"
        elif source == "date":
            moved = f"({v}::date - rec.anchor)::text"
        else:
            moved = f"round(extract(epoch from ({v}::timestamp - rec.anchor::timestamp)) / 86400, 3)::text"
        return f"COALESCE(CASE WHEN {v} ~ {pattern} THEN {moved} WHEN {v} = ANY({codes}) THEN {v} END, {missing})"
    f = design.field_map[c.field]
    if raw_or_label == "label" and f.field_type in LABELLED_TYPES:
        cases = " ".join(f"WHEN {lit(code)} THEN {lit(label)}" for code, label in f.choice_list())
        return f"COALESCE(CASE {v} {cases} ELSE {v} END, {missing})" if cases else f"COALESCE({v}, {missing})"
    return f"COALESCE({v}, {missing})"


def column_sql(plan: ColumnPlan, design, raw_or_label: str, export_checkbox_label: bool) -> str:
    c = plan.column
    label = raw_or_label == "label"
    if c.kind == KIND_RECORD_ID:
        return "rec.hid" if plan.action == HASHED else "rec.record_id"
    if c.kind == KIND_EVENT:
        return f"COALESCE({jlit(dict(design.events))} ->> g.event, g.event)" if label else "g.event"
    if c.kind == KIND_REPEAT_INSTRUMENT:
        if label:
            return f"({jlit(dict(design.instruments))} ->> NULLIF(g.ri, ''))"
        return "NULLIF(g.ri, '')"
    if c.kind == KIND_REPEAT_INSTANCE:
        return "g.rn"
    if c.kind == KIND_DAG:
        return "rec.dag_name" if label else "rec.dag_code"
    form = lit(c.instrument)
    if c.kind == KIND_COMPLETE:
        status = f"COALESCE(g.s->>{form}, '0')"
        if label:
            cases = " ".join(f"WHEN {lit(code)} THEN {lit(text)}" for code, text in STATUS_LABELS.items())
            status = f"CASE {status} {cases} END"
        return f"CASE WHEN g.ap ? {form} THEN {status} END"
    if c.kind == KIND_CHECKBOX:
        checked = f"(g.d->{form}->>{lit(c.name)}) = '1'"
        if not label:
            yes, no = "'1'", "'0'"
        elif export_checkbox_label:
            f = design.field_map[c.field]
            yes, no = lit(f.choice_dict().get(c.code, c.code)), "NULL"
        else:
            yes, no = "'Checked'", "'Unchecked'"
        return f"CASE WHEN g.ap ? {form} THEN CASE WHEN {checked} THEN {yes} ELSE {no} END END"
    return _value_sql(plan, design, raw_or_label)


def build_query(
    scope,
    design,
    plans: list[ColumnPlan],
    *,
    secret: str,
    sites=None,
    events=None,
    anchor: tuple[str, str] | None = None,
    raw_or_label: str = "raw",
    export_checkbox_label: bool = False,
) -> str:
    exported = [p for p in plans if p.exported]
    needs_hash = any(p.action == HASHED for p in exported)
    needs_offset = any(p.action == SHIFTED for p in exported)
    needs_anchor = any(p.action == STUDY_DAYS for p in exported)
    event_names = [name for name, _ in design.events]
    instrument_names = [name for name, _ in design.instruments]
    ev = tarr(event_names)
    key = lit(secret)

    hid = f"substr(encode(hmac(r.record_id, {key}, 'sha256'), 'hex'), 1, {HASH_HEX_CHARS})" if needs_hash else "NULL"
    off = (
        f"(('x' || substr(encode(hmac('dateshift:' || r.record_id, {key}, 'sha256'), 'hex'), 1, 8))::bit(32)::bigint"
        " % 365)::int"
        if needs_offset
        else "0"
    )
    created_day = "(r.created_at AT TIME ZONE 'UTC')::date"
    if needs_anchor and anchor is not None:
        a_form, a_field = lit(anchor[0]), lit(anchor[1])
        date_pattern = lit(DATE_PATTERNS["date"])
        anchor_sql = (  # every piece is a literal from lit() or a number: no injection
            f"COALESCE((SELECT (a.data->>{a_field})::date FROM {FormInstance._meta.db_table} a "  # noqa: S608
            f"WHERE a.record_id = r.id AND a.instrument = {a_form} AND a.data->>{a_field} ~ {date_pattern} "
            f"ORDER BY COALESCE(array_position({ev}, a.event), {UNKNOWN_EVENT}), a.instance LIMIT 1), {created_day})"
        )
    else:
        anchor_sql = created_day if needs_anchor else "NULL::date"

    where = [f"r.project_id = {int(scope.project.pk)}"]
    if scope.site is not None:
        where.append(f"r.site_id = {int(scope.site.pk)}")
    if sites is not None:
        where.append(f"s.code = ANY({tarr(list(sites))})")
    form_where = ["fi.record_id = rec.id"]
    if events is not None:
        form_where.append(f"fi.event = ANY({tarr(list(events))})")

    exported_forms = sorted({p.column.instrument for p in exported if p.column.kind in KIND_VALUE_KINDS})
    if design.is_longitudinal:
        rep_keys = sorted(f"{e}/{i}" for e, i in design.repeating_instruments)
        is_rep_instrument = f"(fi.event || '/' || fi.instrument) = ANY({tarr(rep_keys)})"
    else:
        rep_forms = sorted(i for _e, i in design.repeating_instruments)
        is_rep_instrument = f"fi.instrument = ANY({tarr(rep_forms)})"
    # A repeating instrument with no column in the export has no rows either.
    form_where.append(f"(NOT ({is_rep_instrument}) OR fi.instrument = ANY({tarr(exported_forms)}))")
    rep_events = tarr(sorted(design.repeating_events))
    designated = {e: design.instruments_for_event(e) for e in event_names}
    base = {e: [i for i in forms if not design.is_repeating(e, i)] for e, forms in designated.items()}
    classic_all = [i for i in instrument_names if not design.is_repeating("", i)]
    if design.is_longitudinal:
        designated_sql = f"{jlit(designated)} -> x.event"
        base_sql = f"{jlit(base)} -> x.event"
    else:
        designated_sql = jlit(instrument_names)
        base_sql = jlit(classic_all)

    select = ",\n  ".join(column_sql(p, design, raw_or_label, export_checkbox_label) for p in exported)
    # Every name, label and code in the query is quoted by lit()/tarr()/jlit(); ids are ints.
    return f"""
SELECT
  {select}
FROM (
  SELECT r.id, r.record_id, s.code AS dag_code, s.name AS dag_name,
         {hid} AS hid, {off} AS off, {anchor_sql} AS anchor
  FROM {Record._meta.db_table} r JOIN {Site._meta.db_table} s ON s.id = r.site_id
  WHERE {" AND ".join(where)}
  ORDER BY r.record_id COLLATE "C"
) rec
CROSS JOIN LATERAL (
  SELECT x.*,
         CASE WHEN x.ri <> '' THEN jsonb_build_array(x.ri)
              WHEN x.rn IS NOT NULL THEN {designated_sql}
              ELSE {base_sql} END AS ap
  FROM (
    SELECT fi.event,
           CASE WHEN {is_rep_instrument} THEN fi.instrument ELSE '' END AS ri,
           CASE WHEN {is_rep_instrument} OR fi.event = ANY({rep_events}) THEN fi.instance END AS rn,
           jsonb_object_agg(fi.instrument, fi.data) AS d,
           jsonb_object_agg(fi.instrument, fi.status) AS s,
           jsonb_object_agg(fi.instrument, fi.missing) FILTER (WHERE fi.missing <> '{{}}'::jsonb) AS m
    FROM {FormInstance._meta.db_table} fi
    WHERE {" AND ".join(form_where)}
    GROUP BY 1, 2, 3
  ) x
) g
ORDER BY rec.record_id COLLATE "C",
         COALESCE(array_position({ev}, g.event), {UNKNOWN_EVENT}), g.event COLLATE "C",
         COALESCE(array_position({tarr(instrument_names)}, NULLIF(g.ri, '')), 0), g.rn NULLS FIRST
"""  # noqa: S608


class _CountingWriter:
    """Passes COPY output to the file and counts records as their first cell changes (for progress)."""

    def __init__(self, out, on_record: Callable[[int], None] | None, every: int = 200):
        self.out = out
        self.rows = 0
        self.records = 0
        self._last = None
        self._on_record = on_record
        self._every = every

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode()
        self.rows += 1
        head = data[: data.find(b",")]
        if head != self._last:
            self._last = head
            self.records += 1
            if self._on_record is not None and self.records % self._every == 0:
                self._on_record(self.records)
        return self.out.write(data)


def copy_flat_csv(query: str, out, *, on_record: Callable[[int], None] | None = None) -> int:
    """Run the query as COPY ... TO STDOUT WITH CSV into the binary file `out`; return the row count."""
    writer = _CountingWriter(out, on_record)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL datestyle = 'ISO, YMD'")
        cursor.execute("SET LOCAL extra_float_digits = 0")
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", writer, size=1 << 16)
    return writer.rows
