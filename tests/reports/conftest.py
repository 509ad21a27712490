"""The demo cohort, loaded once per test module inside a transaction that is rolled back at the end."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--quiet-logins")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_loaded, db):
    from forms.models import Project

    return Project.objects.get(code="sojia")
