"""Import or export a project's custom rules in REDCap's rule CSV (rule_name,rule_logic,real_time_execution).

python manage.py quality_rules import --project sojia fixtures/sojia/dq_rules.csv [--replace]
python manage.py quality_rules export --project sojia [FILE]
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms.models import Project
from registry.access import Scope
from registry.models import Role
from registry.quality.services.custom_rules import RuleImportError, rules_export_csv, rules_import_csv


class Command(BaseCommand):
    help = "Import or export custom data-quality rules (REDCap rule CSV)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("path", nargs="?")
        parser.add_argument("--project", required=True)
        parser.add_argument("--replace", action="store_true", help="delete the existing rules first")

    def handle(self, *args, action: str, path: str | None, project: str, replace: bool, **options) -> None:
        found = Project.objects.filter(code=project).first()
        if found is None:
            raise CommandError(f"no project {project!r}")
        if action == "export":
            text = rules_export_csv(found)
            if path:
                Path(path).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        if not path:
            raise CommandError("give the CSV file to import")
        scope = Scope(user=None, project=found, role=Role.DATA_MANAGER, site=None)
        try:
            rules = rules_import_csv(scope=scope, text=Path(path).read_text(encoding="utf-8"), replace=replace)
        except RuleImportError as exc:
            raise CommandError("\n".join(exc.problems)) from None
        self.stdout.write(f"{len(rules)} rules imported into {project}")
