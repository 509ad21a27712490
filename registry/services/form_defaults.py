"""Initial values of a new form from action tags: @DEFAULT, @TODAY, @NOW."""

from __future__ import annotations

from django.utils import timezone

from forms.models import checkbox_column
from forms.rendering import has_tag, tag_argument


def default_values(fields) -> dict[str, str]:
    values: dict[str, str] = {}
    now = timezone.localtime()
    for f in fields:
        if has_tag(f, "@TODAY"):
            values[f.name] = now.date().isoformat()
        elif has_tag(f, "@NOW"):
            values[f.name] = now.strftime("%Y-%m-%d %H:%M")
        else:
            default = tag_argument(f, "@DEFAULT")
            if default is not None:
                value = default.strip().strip("'\"")
                if f.field_type == "checkbox":
                    for code in value.split(","):
                        values[checkbox_column(f.name, code.strip())] = "1"
                else:
                    values[f.name] = value
    return values
