"""pgcrypto gives PostgreSQL `hmac()`, so hashed ids and date offsets are computed inside COPY."""

from django.db import migrations


def create_pgcrypto(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")


class Migration(migrations.Migration):
    dependencies = [("exports", "0001_initial")]

    operations = [migrations.RunPython(create_pgcrypto, migrations.RunPython.noop)]
