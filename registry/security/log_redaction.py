"""Keeps patient values out of SQL log lines.

With DEBUG (or a debug cursor) on, django.db.backends logs every statement at DEBUG as PostgreSQL ran
it, with the parameters spliced in: identifiers, dates of birth, any saved value. Production keeps
that logger at INFO; this filter, attached to the SQL loggers themselves (so it acts before any
handler, including a test's log capture), replaces every literal by `?` and drops the parameters,
whatever level someone turns logging up to.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# Single-quoted literals (with '' escapes, and E'' strings' backslash escapes), then bare numbers.
_STRING = re.compile(r"'(?:[^'\\]|''|\\.)*'", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w.\"])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\"])")


def redact_sql(sql: str) -> str:
    return _NUMBER.sub("?", _STRING.sub("'?'", sql))


class RedactSqlFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sql, params = getattr(record, "sql", None), getattr(record, "params", None)
        if isinstance(record.args, tuple):
            record.args = tuple(self._replace(arg, sql, params) for arg in record.args)
        if isinstance(sql, str):
            record.sql = redact_sql(sql)
        if params is not None:
            record.params = REDACTED
        if isinstance(record.msg, str) and not record.args:
            record.msg = redact_sql(record.msg)
        return True

    @staticmethod
    def _replace(arg, sql, params):
        if params is not None and arg is params:
            return REDACTED
        if isinstance(arg, str) and (arg is sql or sql is None):
            return redact_sql(arg)
        return arg


class DropTracebackFilter(logging.Filter):
    """For django.template: at DEBUG it logs every unresolved variable with an exception whose text
    is the whole template context, form values included. The message (variable and template names)
    stays; the exception goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
