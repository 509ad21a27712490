"""The form save's reads and writes as prepared SQL on PostgreSQL, in as few round trips as the ORM code.

A save of the 114-field workup spent about 40 % of its CPU compiling ORM queries (docs/benchmarks.md,
form save). The statements here do exactly what the ORM code in `registry/services/entry.py` and
`registry/views/entry.py` does, with the SQL written once (the column lists follow the models,
`registry/sql_rows.py`), and two pairs of reads collapsed into one statement each:

- the form page reads the record (in the user's site scope) and the form instance in one join;
- the save locks the record and then the form instance in one statement; the record lock comes first,
  as before (a MATERIALIZED CTE is locked before the LATERAL subquery runs for its row), so saves of
  one record still queue on the record and never deadlock on the pair. A form changed by the save it
  waited for is read in its new version (FOR UPDATE follows the row); a form that save created is
  not in the statement's snapshot, so a form found missing is looked for again (only a form's first
  save pays for it).

Only PostgreSQL takes this path (`registry.sql_rows.enabled()`); SQLite, the embedded demo, keeps the ORM code.
"""

from __future__ import annotations

import json
from functools import cache

from django.db import connection
from django.utils import timezone

from registry import sql_rows
from registry.models import FormInstance, Record, Site
from registry.sql_rows import attach, columns, json_value, split

FormKey = tuple[str, str, int]  # (event, instrument, instance)


@cache
def _record_and_form_sql(in_scope: str) -> str:
    r, s, f = columns(Record), columns(Site), columns(FormInstance)
    return (
        f"SELECT {r.select('r')}, {s.select('s')}, {f.select('f')} FROM registry_record r "  # noqa: S608 - model columns, placeholders
        "JOIN registry_site s ON s.id = r.site_id "
        "LEFT JOIN registry_forminstance f ON f.record_id = r.id AND f.event = %s AND f.instrument = %s "
        f"AND f.instance = %s WHERE r.record_id = %s AND {in_scope}"
    )


@cache
def _lock_sql(in_scope: str, by: str, also: str) -> str:
    r, s, f = columns(Record), columns(Site), columns(FormInstance)
    # The CTE is MATERIALIZED so its row lock is taken before the form's: the order of the ORM code.
    return (
        f"WITH r AS MATERIALIZED (SELECT {r.select('rr')} FROM registry_record rr "  # noqa: S608 - model columns, placeholders
        f"WHERE rr.{by} = %s AND {in_scope} FOR UPDATE) "
        f"SELECT {r.select('r')}, {s.select('s')}, {f.select('f')}{', ' if also else ''}{also} "
        "FROM r JOIN registry_site s ON s.id = r.site_id "
        f"LEFT JOIN LATERAL (SELECT {f.select('registry_forminstance')} FROM registry_forminstance "
        "WHERE record_id = r.id AND event = %s AND instrument = %s AND instance = %s FOR UPDATE) f ON true"
    )


def _record_and_form(sql: str, params: list) -> tuple[Record | None, FormInstance | None]:
    record, form, _ = _record_form_and_more(sql, params)
    return record, form


def _record_form_and_more(sql: str, params: list) -> tuple[Record | None, FormInstance | None, tuple]:
    """The record, its form and the row's columns after them."""
    with connection.cursor() as cursor:
        sql_rows.execute(cursor, sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None, ()
    r, s, f = columns(Record), columns(Site), columns(FormInstance)
    record_values, site_values, form_values = split(row, r, s, f)  # the columns after them are `more`
    more = tuple(row[len(r) + len(s) + len(f) :])
    record = r.build(record_values)
    attach(record, "site", s.build(site_values))
    form = None
    if form_values[0] is not None:  # the form's id: null when the record has no such form yet
        form = f.build(form_values)
        attach(form, "record", record)
    return record, form, more


def record_and_form(scope, record_id: str, key: FormKey) -> tuple[Record | None, FormInstance | None]:
    """The record (in scope, with its site) and its form instance at `key`, read in one query."""
    in_scope, scope_params = scope.records_sql("r")  # the site rule stays registry.access's
    return _record_and_form(_record_and_form_sql(in_scope), [*key, record_id, *scope_params])


def lock_record_and_form(
    scope, record: Record | str, key: FormKey, also: tuple[str, list] = ("", [])
) -> tuple[Record | None, FormInstance | None, tuple]:
    """Lock the record (in scope; a Record or a record id) and then its form instance at `key`, in one round trip.

    `also`: more columns to read in the same statement, as (SQL over the record `r`, parameters); their
    values come third. They are read with the statement's snapshot, from before any wait for the lock.
    """
    in_scope, scope_params = scope.records_sql("rr")  # the site rule stays registry.access's
    by, value = ("record_id", record) if isinstance(record, str) else ("id", record.pk)
    sql = _lock_sql(in_scope, by, also[0])
    record, form, more = _record_form_and_more(sql, [value, *scope_params, *also[1], *key])
    if record is not None and form is None:
        # The statement's snapshot was taken before it waited for the record: a form that the save
        # it waited for created is invisible to it. A new statement sees it (the ORM code's second query).
        form = FormInstance.objects.select_for_update().filter(record=record, event=key[0], instrument=key[1],
                                                               instance=key[2]).first()  # fmt: skip
    return record, form, more


_RECORD_FORMS = "SELECT event, instrument, instance, data, missing FROM registry_forminstance WHERE record_id = %s"
# The keys as three parallel arrays (`keys_params`): one prepared statement whatever their number.
_AT_KEYS = "(event, instrument, instance) IN (SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::integer[]))"
_RECORD_FORMS_AT = f"{_RECORD_FORMS} AND {_AT_KEYS}"
_RECORD_FORMS_OF = f"{_RECORD_FORMS} AND instrument = ANY(%s::varchar[])"


def record_forms(
    record_pk: int, keys: frozenset[FormKey] | None = None, instruments: frozenset[str] | None = None
) -> dict[FormKey, tuple[dict, dict]]:
    """(data, missing) of every form instance of a record, or of those at `keys`, or of those `instruments`."""
    if (keys is not None and not keys) or (instruments is not None and not instruments):
        return {}
    with connection.cursor() as cursor:
        if keys is not None:
            sql_rows.execute(cursor, _RECORD_FORMS_AT, [record_pk, *keys_params(keys)])
        elif instruments is not None:
            sql_rows.execute(cursor, _RECORD_FORMS_OF, [record_pk, sorted(instruments)])
        else:
            sql_rows.execute(cursor, _RECORD_FORMS, [record_pk])
        rows = cursor.fetchall()
    loads = json.loads
    return {
        (event, instrument, instance): (json_value(data, loads), json_value(missing, loads))
        for event, instrument, instance, data, missing in rows
    }


# Form rows `x` as one JSON column: [[event, instrument, instance, data, missing], ...] (`forms_at` reads it).
_FORMS_JSON = "coalesce(json_agg(json_build_array(x.event, x.instrument, x.instance, x.data, x.missing)), '[]')"

# The forms at some keys as one column of a select over a record (alias `r`), for the save's lock statement.
# FOR SHARE: a locked row is read in its latest version, not the statement's snapshot (which is older than
# any wait for the record lock), so a form changed by the save this one waited for is read as it now is.
# A form that save created is not in the snapshot: a key not found is read again (`RecordValues.preload`).
FORMS_AT_COLUMN = (
    f"(SELECT {_FORMS_JSON} "  # noqa: S608 - constants, placeholders
    "FROM (SELECT event, instrument, instance, data, missing FROM registry_forminstance WHERE record_id = r.id "
    f"AND {_AT_KEYS} FOR SHARE) x)"
)


# The forms of some instruments but one (the form being saved: its caller holds it) as one column, for a
# statement over no particular row (the save's UPDATE and audit-head lock, which runs after the record's lock
# was taken: its snapshot holds every committed form).
FORMS_OF_COLUMN = (
    f"(SELECT {_FORMS_JSON} "  # noqa: S608 - constants, placeholders
    "FROM registry_forminstance x WHERE x.record_id = %s AND x.instrument = ANY(%s::varchar[]) "
    "AND (x.event, x.instrument, x.instance) <> (%s, %s, %s))"
)


def forms_of_params(record_pk: int, instruments: frozenset[str], but: FormKey) -> list:
    return [record_pk, sorted(instruments), *but]


def keys_params(keys: frozenset[FormKey]) -> list:
    """The parameters of FORMS_AT_COLUMN (and of `record_forms` with keys): three parallel arrays."""
    ordered = sorted(keys)
    return [[k[0] for k in ordered], [k[1] for k in ordered], [k[2] for k in ordered]]


def forms_at(value) -> dict[FormKey, tuple[dict, dict]]:
    """FORMS_AT_COLUMN's (or FORMS_OF_COLUMN's) value as (data, missing) by key."""
    rows = json_value(value)
    return {(event, instrument, instance): (data, missing) for event, instrument, instance, data, missing in rows}


def update_form_sql(form: FormInstance) -> tuple[str, list]:
    """The UPDATE of a saved form's changed columns (every one the save sets), to run as part of another statement.

    The form row is locked by this transaction, so writing only these columns leaves the row as
    `form.save()` would. Sets `form.updated_at` as auto_now does.
    """
    form.updated_at = timezone.now()
    sql = (
        "UPDATE registry_forminstance SET data = %s, missing = %s, status = %s, row_version = %s, "
        "metadata_version = %s, updated_by_id = %s, updated_at = %s WHERE id = %s"
    )
    params = [
        json.dumps(form.data), json.dumps(form.missing), form.status, form.row_version,
        form.metadata_version, form.updated_by_id, form.updated_at, form.pk,
    ]  # fmt: skip
    return sql, params
