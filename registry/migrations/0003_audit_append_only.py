"""PostgreSQL refuses UPDATE and DELETE on the audit trail (GCP / 21 CFR Part 11).

TRUNCATE is left to privileges (the application role is not granted it in production, see
docs/operations.md): the test runner empties tables with TRUNCATE between transactional tests.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION registry_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on registry_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_auditevent_append_only
    BEFORE UPDATE OR DELETE ON registry_auditevent
    FOR EACH ROW EXECUTE FUNCTION registry_audit_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS registry_auditevent_append_only ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_audit_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_records_and_audit")]

    operations = [migrations.RunPython(forward, backward)]
