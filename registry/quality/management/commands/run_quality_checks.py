"""Run data-quality rules synchronously and print the discrepancies.

python manage.py run_quality_checks --project sojia [--rules A,B,R01] [--format table|json]
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from forms.models import Project
from registry.access import Scope
from registry.models import Role
from registry.quality.models import Rule
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services.runs import run_sync

COLUMNS = ("rule", "record", "event", "instance", "field", "value", "message")


class Command(BaseCommand):
    help = "Run the project's data-quality rules now and print the discrepancies."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True)
        parser.add_argument("--rules", default="", help="comma-separated rule codes (A-I, custom codes); default all")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, project: str, rules: str, format: str, **options) -> None:
        found = Project.objects.filter(code=project).first()
        if found is None:
            raise CommandError(f"no project {project!r}")
        codes = [c.strip() for c in rules.split(",") if c.strip()]
        known = set(BUILTIN_RULES) | set(Rule.objects.filter(project=found).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise CommandError(f"unknown rule(s): {', '.join(unknown)}")
        # The command runs as the system with a data manager's reach (all sites).
        run = run_sync(scope=Scope(user=None, project=found, role=Role.DATA_MANAGER, site=None), rules=codes)
        rows = [
            {"rule": d.rule, "record": d.record.record_id, "event": d.event, "instance": d.instance,
             "field": d.field, "value": d.value, "message": d.message}
            for d in run.discrepancies.filter(excluded=False).select_related("record")
            .order_by("rule", "record__record_id", "event", "instance", "field")
        ]  # fmt: skip
        if format == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        widths = {c: max([len(c)] + [len(str(r[c])) for r in rows[:5000]]) for c in COLUMNS}
        widths["message"] = min(widths["message"], 80)
        self.stdout.write("  ".join(c.ljust(widths[c]) for c in COLUMNS))
        for r in rows:
            self.stdout.write("  ".join(str(r[c])[: widths[c]].ljust(widths[c]) for c in COLUMNS))
        self.stderr.write(f"{len(rows)} discrepancies (run #{run.pk}, {run.summary.get('seconds')} s)")
