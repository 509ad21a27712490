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
from dataclasses import dataclass

from django.db import connection

from forms.dictionary.writer import FPUTCSV_QUOTE_CHARS
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
from registry.exports.formats import RFC4180_QUOTE_CHARS
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


RANGE_MARK = "/* record range */"


@dataclass(frozen=True)
class FlatQuery:
    """The flat CSV's query, with a place for a range of record ids (`copystreams` runs ranges in parallel)."""

    sql: str  # one text column, a CSV line per flat row; RANGE_MARK sits in the records' WHERE clause
    records_from: str  # FROM ... WHERE ... of the scope's records (alias r), for cutting ranges

    def over(self, start: str | None = None, stop: str | None = None) -> str:
        """The query for the records with start <= record id < stop (code-point order, as exported)."""
        bounds = []
        if start is not None:
            bounds.append(f'AND r.record_id COLLATE "C" >= {lit(start)}')
        if stop is not None:
            bounds.append(f'AND r.record_id COLLATE "C" < {lit(stop)}')
        return self.sql.replace(RANGE_MARK, " ".join(bounds))


def ident(name: str) -> str:
    """A quoted SQL identifier (field names are [a-z0-9_], but quote anyway)."""
    return '"' + name.replace('"', '""') + '"'


# Columns of a present instrument's subquery beside its cells: upper case, so no field name (always lower
# case) can collide with them.
PRESENT, STATUS = '"AP"', '"ST"'


def cell_ref(alias: str, key: str) -> str:
    """A cell's stored text, as a column of the instrument's subquery (see `present_sql`)."""
    return f"d{alias}.{ident(key)}"


def present_sql(form: str, alias: str, keys: list[str]) -> str:
    """The FROM item `d<alias>` of a present instrument: its cells' stored text, its status, whether it is
    designated at the row.

    The instrument's JSON (missing codes merged under values, as in the Python engine) is taken out of
    the row's aggregate once; array_agg has de-TOASTed it, so each `->>` is one binary search of its
    keys. Each key is read once, into a column, since a date cell uses its value up to four times.
    OFFSET 0 keeps both subqueries apart: flattened, every cell would redo the `||` and the lookups.
    (jsonb_to_record did the same work behind a FunctionScan, a tuplestore per row and instrument:
    slower.) `->>` on the fi.data column itself would de-TOAST it again per cell.
    """
    f = lit(form)
    cells = "".join(f", x.j ->> {lit(key)} AS {ident(key)}" for key in keys)
    return (
        f"(SELECT x.ap AS {PRESENT}, x.st AS {STATUS}{cells} FROM "  # noqa: S608 - literals and identifiers
        f"(SELECT g.ms[y.k] || g.ds[y.k] AS j, g.ss[y.k] AS st, g.ap ? {f} AS ap "
        f"FROM (SELECT array_position(g.fs, {f}) AS k) y OFFSET 0) x OFFSET 0) d{alias}"
    )


def date_shape_sql(v: str, source: str) -> str:
    """`v ~ DATE_PATTERNS[source]` without a regular expression, which costs three times as much per cell.

    The pattern is digits (`\\d`, ASCII only in PostgreSQL's libc locales) and fixed separators: LIKE fixes
    the length and where the separators are, and removing the ASCII digits must leave only the separators,
    so every other place holds a digit. (With an ICU locale `\\d` also matches other scripts' digits,
    which `::date` then rejects: this test is the stricter one.)
    """
    shape = DATE_PATTERNS[source].strip("^$").replace("\\d{4}", "\\d" * 4).replace("\\d", "#")
    if "\\" in shape or set(shape) & set("%_"):
        raise ValueError(f"not a pattern of digits and separators: {DATE_PATTERNS[source]}")
    like, separators = lit(shape.replace("#", "_")), lit(shape.replace("#", ""))
    return f"({v} LIKE {like} AND translate({v}, '0123456789', '') = {separators})"


def _value_sql(plan: ColumnPlan, design, raw_or_label: str, alias: str) -> str:
    c = plan.column
    # The instrument's missing-data codes are merged under its values (`missing || data`), so `v` is the
    # value, else the missing code, as in the Python engine.
    v = cell_ref(alias, c.field)
    codes = tarr(list(design.missing_codes))
    if plan.action in (SHIFTED, STUDY_DAYS):
        source = plan.source_type
        if plan.action == SHIFTED:
            if source == "date":
                moved = f"({v}::date + rec.off)::text"
            else:
                moved = f"to_char({v}::timestamp + rec.off * interval '1 day', {lit(SQL_DATE_FORMATS[source])})"
        elif source == "date":
            moved = f"({v}::date - rec.anchor)::text"
        else:
            moved = f"round(extract(epoch from ({v}::timestamp - rec.anchor::timestamp)) / 86400, 3)::text"
        return f"CASE WHEN {date_shape_sql(v, source)} THEN {moved} WHEN {v} = ANY({codes}) THEN {v} END"
    f = design.field_map[c.field]
    if raw_or_label == "label" and f.field_type in LABELLED_TYPES:
        cases = " ".join(f"WHEN {lit(code)} THEN {lit(label)}" for code, label in f.choice_list())
        return f"CASE {v} {cases} ELSE {v} END" if cases else v
    return v


def column_sql(plan: ColumnPlan, design, raw_or_label: str, export_checkbox_label: bool, aliases: dict) -> str:
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
    if c.kind == KIND_COMPLETE:
        status = f"COALESCE(d{aliases[c.instrument]}.{STATUS}::text, '0')"
        if label:
            cases = " ".join(f"WHEN {lit(code)} THEN {lit(text)}" for code, text in STATUS_LABELS.items())
            status = f"CASE {status} {cases} END"
        return f"CASE WHEN d{aliases[c.instrument]}.{PRESENT} THEN {status} END"
    if c.kind == KIND_CHECKBOX:
        checked = f"{cell_ref(aliases[c.instrument], c.name)} = '1'"
        if not label:
            # The stored '1'/'0', '0' when absent (as flat.cell_value): no text comparison per cell.
            alias = aliases[c.instrument]
            return f"CASE WHEN d{alias}.{PRESENT} THEN COALESCE({cell_ref(alias, c.name)}, '0') END"
        if export_checkbox_label:
            f = design.field_map[c.field]
            yes, no = lit(f.choice_dict().get(c.code, c.code)), "NULL"
        else:
            yes, no = "'Checked'", "'Unchecked'"
        return f"CASE WHEN NOT d{aliases[c.instrument]}.{PRESENT} THEN NULL WHEN {checked} THEN {yes} ELSE {no} END"
    return _value_sql(plan, design, raw_or_label, aliases[c.instrument])


# The characters that make a cell quoted, as the Python writers quote: RFC 4180's (the releases), or
# PHP fputcsv's, which REDCap's API uses and which also quotes a space or a tab (registry/api).
RFC4180_QUOTE = RFC4180_QUOTE_CHARS
PHP_QUOTE = FPUTCSV_QUOTE_CHARS
DATETIME_TYPES = ("datetime", "datetime_seconds")


def needs_quoting(plan: ColumnPlan, design, raw_or_label: str, chars: str = RFC4180_QUOTE) -> bool:
    """Whether a cell can hold one of `chars`: text, labels and names do; codes, numbers, dates don't
    (a date and time holds a space)."""
    c = plan.column
    spaced = " " in chars and plan.data_type in DATETIME_TYPES
    if c.kind == KIND_RECORD_ID:
        return plan.action != HASHED
    if c.kind in (KIND_EVENT, KIND_REPEAT_INSTRUMENT, KIND_DAG):
        return raw_or_label == "label"
    if c.kind == KIND_REPEAT_INSTANCE:
        return False
    if c.kind in (KIND_COMPLETE, KIND_CHECKBOX):
        return raw_or_label == "label"
    if plan.action in (SHIFTED, STUDY_DAYS):
        return spaced and plan.action == SHIFTED
    if plan.data_type in ("integer", "number", "date", *DATETIME_TYPES, "time"):
        return spaced or (
            bool(design.missing_codes) and any(_needs_quotes(code, chars) for code in design.missing_codes)
        )
    if plan.data_type == "code" and raw_or_label != "label":
        return any(_needs_quotes(code, chars) for code, _ in design.field_map[c.field].choice_list()) or any(
            _needs_quotes(code, chars) for code in design.missing_codes
        )
    return True


def _needs_quotes(text: str, chars: str = RFC4180_QUOTE) -> bool:
    return any(ch in text for ch in chars)


def csv_quoted(expr: str, quote: bool, chars: str = RFC4180_QUOTE) -> str:
    """A cell as CSV text: quoted (quotes doubled) when it holds one of `chars`."""
    if not quote:
        return f"({expr})::text"
    text = f"({expr})::text"
    pattern = lit("[" + chars + "]")
    return f"CASE WHEN {text} ~ {pattern} THEN '\"' || replace({text}, '\"', '\"\"') || '\"' ELSE {text} END"


FORMAT_MAX_VALUES = 99  # a function takes at most 100 arguments; format's first is the format string


def csv_join(cells: list[str], space: str = " ") -> str:
    """The cells joined by commas, NULL as empty: `format('%s,%s,...', ...)`, which costs three quarters of
    `array_to_string(ARRAY[...], ',', '')` (no array is built, and no printf per cell); nested when
    there are more cells than a function takes arguments."""
    if len(cells) > FORMAT_MAX_VALUES:
        size = FORMAT_MAX_VALUES
        cells = [csv_join(cells[k : k + size], space) for k in range(0, len(cells), size)]
        return csv_join(cells, space)
    template = lit(",".join(["%s"] * len(cells)))
    return f"format({template},{space}" + f",{space}".join(cells) + ")"


def absent_default(plan: ColumnPlan, raw_or_label: str, export_checkbox_label: bool) -> str:
    """A cell of an instrument designated at the row's event but not saved there: '0' for form status and
    checkboxes (their labels in label mode), blank for values."""
    kind = plan.column.kind
    label = raw_or_label == "label"
    if kind == KIND_COMPLETE:
        return STATUS_LABELS["0"] if label else "0"
    if kind == KIND_CHECKBOX:
        if not label:
            return "0"
        return "" if export_checkbox_label else "Unchecked"
    return ""


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
    quote_chars: str = RFC4180_QUOTE,
) -> FlatQuery:
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
    # A repeating instrument's row holds that instrument alone: looked up in a constant, which costs a
    # tenth of building the one-element array per row.
    own_sql = jlit({name: [name] for name in instrument_names})
    if design.is_longitudinal:
        designated_sql = f"{jlit(designated)} -> x.event"
        base_sql = f"{jlit(base)} -> x.event"
    else:
        designated_sql = jlit(instrument_names)
        base_sql = jlit(classic_all)

    # The hot loop of the export is the projection, so each row is built as one line of CSV text:
    # an instrument absent from the row costs one test and a constant (its commas, or its '0'
    # defaults); a present instrument's cells are read once from its JSON (`present_sql`) inside a
    # scalar subquery run only for the instruments present in the row (joins would drag every
    # instrument's columns through every row).
    aliases: dict[str, str] = {}
    pieces: list[str] = []
    i = 0
    while i < len(exported):
        c = exported[i].column
        if c.instrument is None or c.kind == KIND_RECORD_ID:
            pieces.append(csv_quoted(column_sql(exported[i], design, raw_or_label, export_checkbox_label, aliases),
                                     needs_quoting(exported[i], design, raw_or_label, quote_chars),
                                     quote_chars))  # fmt: skip
            i += 1
            continue
        form = c.instrument
        j = i
        while j < len(exported) and exported[j].column.instrument == form and exported[j].column.kind != KIND_RECORD_ID:
            j += 1
        block = exported[i:j]
        alias = aliases.setdefault(form, str(len(aliases)))
        keys = [p.column.name if p.column.kind == KIND_CHECKBOX else p.column.field
                for p in block if p.column.kind in (KIND_CHECKBOX, "value")]  # fmt: skip
        source = present_sql(form, alias, list(dict.fromkeys(keys)))
        cells = [
            csv_quoted(
                column_sql(p, design, raw_or_label, export_checkbox_label, aliases),
                needs_quoting(p, design, raw_or_label, quote_chars),
                quote_chars,
            )
            for p in block
        ]
        present = f"(SELECT {csv_join(cells)} FROM {source})"  # noqa: S608
        blank = lit("," * (len(block) - 1))
        defaults = lit(",".join(absent_default(p, raw_or_label, export_checkbox_label) for p in block))
        pieces.append(
            f"CASE WHEN {lit(form)} = ANY(g.fs) THEN {present} WHEN g.ap ? {lit(form)} THEN {defaults} ELSE {blank} END"
        )
        i = j
    select = csv_join(pieces, "\n  ")
    records_from = (
        f"FROM {Record._meta.db_table} r JOIN {Site._meta.db_table} s ON s.id = r.site_id WHERE {' AND '.join(where)}"
    )
    sql = f"""
SELECT {select}
FROM (
  SELECT r.id, r.record_id, s.code AS dag_code, s.name AS dag_name,
         {hid} AS hid, {off} AS off, {anchor_sql} AS anchor
  {records_from} {RANGE_MARK}
  ORDER BY r.record_id COLLATE "C"
) rec
CROSS JOIN LATERAL (
  SELECT x.*,
         CASE WHEN x.ri <> '' THEN {own_sql} -> x.ri
              WHEN x.rn IS NOT NULL THEN {designated_sql}
              ELSE {base_sql} END AS ap
  FROM (
    SELECT fi.event,
           CASE WHEN {is_rep_instrument} THEN fi.instrument ELSE '' END AS ri,
           CASE WHEN {is_rep_instrument} OR fi.event = ANY({rep_events}) THEN fi.instance END AS rn,
           array_agg(fi.instrument::text) AS fs,
           array_agg(fi.data) AS ds,
           array_agg(fi.status) AS ss,
           array_agg(fi.missing) AS ms
    FROM {FormInstance._meta.db_table} fi
    WHERE {" AND ".join(form_where)}
    GROUP BY 1, 2, 3
  ) x
) g
ORDER BY rec.record_id COLLATE "C",
         COALESCE(array_position({ev}, g.event), {UNKNOWN_EVENT}), g.event COLLATE "C",
         COALESCE(array_position({tarr(instrument_names)}, NULLIF(g.ri, '')), 0), g.rn NULLS FIRST
"""  # noqa: S608
    return FlatQuery(sql=sql, records_from=records_from)
