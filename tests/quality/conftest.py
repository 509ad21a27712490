"""Fixtures of the data-quality tests: the SoJIA demo (study, sites, users, planted-error cohort)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

PLANTED = ROOT / "fixtures" / "sojia" / "planted_errors.json"
RULES_CSV = ROOT / "fixtures" / "sojia" / "dq_rules.csv"


def planted_errors() -> dict:
    return json.loads(Path(PLANTED).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sojia(django_db_setup, django_db_blocker):
    """The demo loaded once per module (kept for the module's tests, removed at the end)."""
    from django.db import connection

    from registry.access import Scope
    from registry.models import Role
    from registry.quality.services.custom_rules import rules_import_csv
    from registry.services.demo import load_demo

    with django_db_blocker.unblock():
        cohort = planted_errors()["cohort"]
        loaded = load_demo(n_records=cohort["records"], seed=cohort["seed"])
        from forms.models import Project

        project = Project.objects.get(code="sojia")
        scope = Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)
        rules_import_csv(scope=scope, text=RULES_CSV.read_text(encoding="utf-8"), replace=True)
        yield project, loaded
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE quality_discrepancy, quality_qualityrun, quality_rule, quality_query, quality_querymessage,"
                " quality_notification, quality_exclusion, quality_verification, registry_job CASCADE"
            )
