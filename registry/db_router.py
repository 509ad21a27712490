"""An optional read replica for the heavy reads of exports and reports (docs/scaling.md).

With DATABASE_REPLICA_URL set, settings add a `replica` alias and this router. Work that reads a
whole project (an export's rows, a report's aggregates) runs inside `replica_reads()`: its ORM
reads go to the replica and raw cursors take `connections[read_alias()]`. Everything else, every
write, and every read outside such a block stays on `default`, so a page never reads its own
write from a replica that lags behind. Without a replica the block changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[str]:
    """Send the reads of this block to the replica when there is one; yields the alias to use."""
    token = _reading_replica.set(True)
    try:
        yield read_alias()
    finally:
        _reading_replica.reset(token)


def read_alias() -> str:
    return REPLICA if _reading_replica.get() and replica_configured() else "default"


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        return REPLICA if _reading_replica.get() and replica_configured() else None

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replica holds the same rows as default

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return db == "default"  # the replica is a copy of default made by PostgreSQL, never migrated itself
