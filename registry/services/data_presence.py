"""Which fields of a project hold stored values: the engine asks before a destructive design change."""

from __future__ import annotations

from django.db import connection

from forms.models import Project
from registry.models import FormInstance


def fields_with_data(project: Project) -> set[str]:
    """Field names with at least one non-blank stored value (checkbox columns map to their field)."""
    forms = FormInstance.objects.filter(record__project=project)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT key FROM registry_forminstance f JOIN registry_record r ON r.id = f.record_id, "
                "jsonb_each_text(f.data) AS kv(key, value) WHERE r.project_id = %s AND value <> ''",
                [project.pk],
            )
            keys = {row[0] for row in cursor.fetchall()}
    else:
        keys = {key for data in forms.values_list("data", flat=True).iterator() for key, v in data.items() if v}
    for missing in forms.exclude(missing={}).values_list("missing", flat=True).iterator():
        keys.update(missing)
    return {key.split("___", 1)[0] for key in keys}
