"""Say plainly whether the database and the Celery broker the tests need are reachable."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from registry.env import redact_url
from registry.services.health import broker_status, database_status

HOW_TO_GET = {
    "database": (
        "PostgreSQL is not reachable at {where}. Start it (Debian: apt-get install postgresql; "
        "pg_ctlcluster <version> main start) or set DATABASE_URL=postgres://USER@HOST:PORT/DBNAME."
    ),
    "broker": (
        "Redis is not reachable at {where}. Start it (Debian: apt-get install redis-server; "
        "redis-server --daemonize yes) or set CELERY_BROKER_URL=redis://HOST:PORT/DB."
    ),
}


def create_postgres_database() -> bool:
    """Create the configured database through the server's maintenance database; False if unreachable."""
    from django.db import connection

    name = settings.DATABASES["default"]["NAME"]
    try:
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return False
    connection.close()
    return database_status() == "ok"


class Command(BaseCommand):
    help = "Check that the configured database and broker answer; exit non-zero naming what is down."

    def add_arguments(self, parser):
        parser.add_argument("--require-postgres", action="store_true", help="Refuse the embedded SQLite database.")
        parser.add_argument("--require-broker", action="store_true", help="Refuse in-process (eager) tasks.")
        parser.add_argument(
            "--create-database", action="store_true", help="Create the PostgreSQL database when the server has none."
        )

    def handle(self, *args, **options):
        problems = []
        db = settings.DATABASES["default"]
        db_where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}/{db.get('NAME')}"
        if options["require_postgres"] and db["ENGINE"] != "django.db.backends.postgresql":
            problems.append("The tests need PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/DBNAME.")
        elif options["create_database"] and db["ENGINE"] == "django.db.backends.postgresql":
            if database_status() != "ok" and not create_postgres_database():
                problems.append(HOW_TO_GET["database"].format(where=db_where))
        elif database_status() != "ok":
            problems.append(HOW_TO_GET["database"].format(where=db_where))
        broker = broker_status()
        if options["require_broker"] and broker == "in-process":
            problems.append("The tests need a Celery broker: set CELERY_BROKER_URL=redis://HOST:PORT/DB.")
        elif broker == "down":
            problems.append(HOW_TO_GET["broker"].format(where=redact_url(settings.CELERY_BROKER_URL or "")))
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write(f"database ok ({db['ENGINE'].rsplit('.', 1)[-1]}), broker {broker}")
