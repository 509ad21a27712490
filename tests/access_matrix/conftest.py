"""One world for the whole matrix, built once inside a transaction that is rolled back at the end; each
case runs in its own savepoint (the `db` fixture), so a case that writes cannot change the next one."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.access_matrix.world import MatrixWorld, build_matrix_world


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker) -> MatrixWorld:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_matrix_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
