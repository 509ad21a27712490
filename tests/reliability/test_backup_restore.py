"""Backup and restore exactly as docs/reliability.md says: pg_dump of a populated registry, pg_restore into a fresh
database on another (private, throwaway) cluster, then `manage.py verify_audit` and a comparison with the source.
"""

from __future__ import annotations

import subprocess

import psycopg2
import pytest

from forms.design.services import import_study
from forms.models import Project
from registry.demo.cohort import generate_cohort
from registry.models import Record, Site
from registry.services.entry import form_save
from registry.services.locking import form_lock
from registry.services.records import record_create
from tests.conftest import PYTHON, ROOT, database_url_of_test_db, subprocess_env
from tests.registry.designs import import_classic
from tests.registry.factories import build_world
from tests.reliability.procs import PG_BIN, PrivateCluster
from tests.reliability.web import data_checksum

SOJIA = ROOT / "fixtures" / "sojia"


@pytest.fixture
def cluster():
    c = PrivateCluster()
    c.init()
    try:
        yield c
    finally:
        c.destroy()


def populate() -> None:
    """Two studies: a classic one edited by hand (values, a locked form) and SoJIA with a generated cohort."""
    world = build_world(project=import_classic("bkp"))
    for i, (who, site) in enumerate((("coord_a", world.site_a), ("coord_b", world.site_b)) * 3):
        record = record_create(scope=world.scope(who), site=site)
        where = {"record": record, "event": "event_1_arm_1", "instrument": "demographics"}
        values = {"name": f"Child {i}", "age": str(5 + i), "consent": "0", "weight": "30"}
        outcome = form_save(scope=world.scope(who), **where, values=values)
        form_save(scope=world.scope(who), **where, values={"weight": "31"}, partial=True,
                  expected_row_version=outcome.form.row_version)  # fmt: skip
    form_lock(scope=world.scope("dm"), form=outcome.form)
    assert not import_study(directory=SOJIA, project_code="bkp-sojia").errors
    sojia = Project.objects.get(code="bkp-sojia")
    Site.objects.create(project=sojia, code="x", name="Hospital X", record_prefix="XXX")
    generate_cohort(sojia, n_records=12, seed=7)


def run(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)


def test_pg_dump_and_restore_into_a_fresh_database_verifies_and_matches(transactional_db, cluster, tmp_path):
    populate()
    source_checksum = data_checksum()
    source_counts = {p.code: Record.objects.filter(project=p).count() for p in Project.objects.all()}
    dump = tmp_path / "registry.dump"

    # The documented commands (docs/reliability.md, Backups), run against the live test database.
    dumped = run(str(PG_BIN / "pg_dump"), "--format=custom", "--no-owner", f"--file={dump}",
                 database_url_of_test_db())  # fmt: skip
    assert dumped.returncode == 0, dumped.stderr
    cluster.createdb("registry_restored")
    restored_url = cluster.url("registry_restored")
    restored = run(str(PG_BIN / "pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={restored_url}",
                   str(dump))  # fmt: skip
    assert restored.returncode == 0, restored.stderr

    env = subprocess_env(DATABASE_URL=restored_url, DJANGO_ENV="test")
    env.pop("CELERY_BROKER_URL", None)
    verified = run(PYTHON, "manage.py", "verify_audit", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "project:bkp: ok" in verified.stdout and "BROKEN" not in verified.stdout + verified.stderr

    conn = psycopg2.connect(restored_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT p.code, count(r.id) FROM crf_project p LEFT JOIN registry_record r"
                        " ON r.project_id = p.id GROUP BY p.code")  # fmt: skip
            assert dict(cur.fetchall()) == source_counts
            assert sum(source_counts.values()) == 6 + 12
            assert data_checksum(cur) == source_checksum  # records, forms, versions, audit rows, counters
            # The restored audit trail is still append-only: its trigger came back with the schema.
            with pytest.raises(psycopg2.Error):
                cur.execute("UPDATE registry_auditevent SET new_value = 'x' WHERE field = 'weight'")
        conn.rollback()
        with conn.cursor() as cur:  # and verification is not a formality: a changed row in the copy is found
            cur.execute("ALTER TABLE registry_auditevent DISABLE TRIGGER ALL")
            cur.execute("UPDATE registry_auditevent SET new_value = '99' WHERE id = (SELECT min(id) FROM"
                        " registry_auditevent WHERE field = 'weight')")  # fmt: skip
        conn.commit()
    finally:
        conn.close()
    tampered = run(PYTHON, "manage.py", "verify_audit", env=env)
    assert tampered.returncode != 0 and "project:bkp: BROKEN" in tampered.stderr
