"""The floor every export is measured against: a bare `COPY` of the project's form rows.

No pivoting, no formatting, no profile: PostgreSQL reads the rows and sends them as text, which
no export of the same rows can beat (docs/benchmarks.md, design §8).
"""

from __future__ import annotations

import time

from django.db import connection

from registry.models import FormInstance, Record


class _CountingSink:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data) -> int:
        self.bytes += len(data)
        return len(data)


def copy_form_rows(project) -> tuple[float, int]:
    """(seconds, bytes) of `COPY (the project's form rows) TO STDOUT`, discarded as they arrive."""
    forms, records = FormInstance._meta.db_table, Record._meta.db_table
    query = (
        f"SELECT fi.* FROM {forms} fi JOIN {records} r ON r.id = fi.record_id "  # noqa: S608 - table names only
        f"WHERE r.project_id = {int(project.pk)}"
    )
    sink = _CountingSink()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT", sink, size=1 << 16)
    return time.perf_counter() - started, sink.bytes
