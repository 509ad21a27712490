from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms.dictionary.services import import_dictionary
from forms.management.commands._output import report


class Command(BaseCommand):
    help = "Import a REDCap data dictionary (CSV or JSON) as the project's next version; creates the project if new."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="project code")
        parser.add_argument("--title", help="project title (new projects default to the code)")
        parser.add_argument(
            "--confirm-destructive",
            action="store_true",
            help="accept changes that orphan or reinterpret stored values (they are kept)",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and show the diff, store nothing")

    def handle(self, *args, path: Path, project: str, title, confirm_destructive: bool, dry_run: bool, **options):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        result = import_dictionary(
            project_code=project, source=path, title=title, confirm_destructive=confirm_destructive, dry_run=dry_run
        )
        report(self, result, what="dictionary import")
