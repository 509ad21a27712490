"""Health of the parts the registry needs: the database and the Celery broker."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return "down"
    return "ok"


def broker_status() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from registry.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception:
        return "down"
    return "ok"


def health_report() -> tuple[bool, dict[str, str]]:
    report = {"database": database_status(), "broker": broker_status()}
    healthy = all(value in ("ok", "in-process") for value in report.values())
    return healthy, report
