"""The optional read replica: exports and reports read from it inside `replica_reads()`, nothing else does."""

from __future__ import annotations

import subprocess

from registry import db_router
from registry.db_router import ReplicaRouter, read_alias, replica_reads
from registry.models import FormInstance, Job
from tests.conftest import PYTHON, ROOT, subprocess_env


def test_without_a_replica_everything_stays_on_default():
    router = ReplicaRouter()
    with replica_reads() as alias:
        assert alias == "default"
        assert router.db_for_read(FormInstance) is None
    assert read_alias() == "default"


def test_with_a_replica_only_reads_inside_the_block_go_to_it(monkeypatch):
    # Settings add the alias when DATABASE_REPLICA_URL is set (checked in a fresh process below).
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    router = ReplicaRouter()
    assert router.db_for_read(FormInstance) is None  # a page reading its own write
    with replica_reads() as alias:
        assert alias == "replica" and read_alias() == "replica"
        assert router.db_for_read(FormInstance) == "replica"
        assert router.db_for_write(Job) == "default"  # job progress and results are writes
    assert router.db_for_read(FormInstance) is None
    assert router.allow_migrate("replica", "registry") is False
    assert router.allow_migrate("default", "registry") is True


def settings_of(**overrides: str) -> str:
    """DATABASES aliases and the router as a fresh process reads them from its environment."""
    code = "import json; from django.conf import settings; print(json.dumps(sorted(settings.DATABASES)))"
    env = subprocess_env(DJANGO_SETTINGS_MODULE="registry.settings", **overrides)
    if "DATABASE_REPLICA_URL" not in overrides:
        env.pop("DATABASE_REPLICA_URL", None)
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_database_replica_url_adds_the_replica_alias_and_nothing_else_changes():
    assert settings_of() == '["default"]'
    assert settings_of(DATABASE_REPLICA_URL="postgres://reader@replica-host:5432/registry") == '["default", "replica"]'
