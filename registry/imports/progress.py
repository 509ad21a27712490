"""Job progress written on a database connection of its own.

An import runs in one transaction, so progress saved through the import's connection would stay
invisible to the status page until the very end (and would lock the job row). A second,
autocommitting connection makes each update visible at once.
"""

from __future__ import annotations

import time

from django.db import connections

from registry.models import Job


class SideProgress:
    def __init__(self, job_id: int, every_seconds: float = 0.5):
        self.job_id = job_id
        self.every = every_seconds
        self.last = 0.0
        self.connection = connections.create_connection("default")

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET progress = %s, total = %s WHERE id = %s",  # noqa: S608
                [done, total, self.job_id],
            )

    def close(self) -> None:
        self.connection.close()
