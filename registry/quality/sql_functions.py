"""PostgreSQL helpers the rule compiler emits: REDCap value semantics written once in SQL.

Each mirrors a rule of forms/logic/values.py (the Python evaluator stays the reference; the
compiled-vs-Python agreement test in tests/quality checks them against each other). They are
plain IMMUTABLE SQL functions so the planner can inline them into the rule queries.
"""

# Numbers with exponents of three digits or more are treated as text here (Python would parse
# 1e200): a cast of 1e400 would raise in the middle of a run, and no clinical value looks like that.
CREATE = r"""
CREATE OR REPLACE FUNCTION dq_num(t text) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?[ \t\n\r]*$'
              AND length(t) < 300 THEN t::float8 END
$$;

CREATE OR REPLACE FUNCTION dq_txt(n float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN n IS NULL THEN '' WHEN n = 0 THEN '0' ELSE n::text END
$$;

CREATE OR REPLACE FUNCTION dq_truthy(t text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT t <> '' AND coalesce(dq_num(t) <> 0, true)
$$;

CREATE OR REPLACE FUNCTION dq_cmp(op text, a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN dq_num(a) IS NOT NULL AND dq_num(b) IS NOT NULL THEN CASE op
      WHEN '=' THEN dq_num(a) = dq_num(b) WHEN '<>' THEN dq_num(a) <> dq_num(b)
      WHEN '<' THEN dq_num(a) < dq_num(b) WHEN '<=' THEN dq_num(a) <= dq_num(b)
      WHEN '>' THEN dq_num(a) > dq_num(b) ELSE dq_num(a) >= dq_num(b) END
    WHEN op NOT IN ('=', '<>') AND ((dq_num(a) IS NOT NULL AND b = '') OR (dq_num(b) IS NOT NULL AND a = ''))
      THEN false
    ELSE CASE op
      WHEN '=' THEN a = b WHEN '<>' THEN a <> b
      WHEN '<' THEN a COLLATE "C" < b WHEN '<=' THEN a COLLATE "C" <= b
      WHEN '>' THEN a COLLATE "C" > b ELSE a COLLATE "C" >= b END
  END
$$;

CREATE OR REPLACE FUNCTION dq_ts(raw text) RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$'
      AND substr(t, 1, 4)::int >= 1
      AND substr(t, 6, 2)::int BETWEEN 1 AND 12
      AND substr(t, 9, 2)::int BETWEEN 1 AND extract(day from
            make_date(substr(t, 1, 4)::int, substr(t, 6, 2)::int, 1) + interval '1 month' - interval '1 day')
      AND (length(t) = 10 OR (substr(t, 12, 2)::int < 24 AND substr(t, 15, 2)::int < 60))
      AND (length(t) <= 16 OR substr(t, 18, 2)::int < 60)
    THEN t::timestamp END
  FROM (SELECT btrim(raw, E' \t\n\r') AS t) s
$$;

CREATE OR REPLACE FUNCTION dq_round(n float8, places int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN n IS NULL THEN NULL
    ELSE sign(n) * floor(abs(n) * 10 ^ places + 0.5) / 10 ^ places END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS dq_round(float8, int);
DROP FUNCTION IF EXISTS dq_ts(text);
DROP FUNCTION IF EXISTS dq_cmp(text, text, text);
DROP FUNCTION IF EXISTS dq_truthy(text);
DROP FUNCTION IF EXISTS dq_txt(float8);
DROP FUNCTION IF EXISTS dq_num(text);
"""
