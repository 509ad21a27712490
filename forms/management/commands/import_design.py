from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms.design.services import WHAT, import_design
from forms.management.commands._output import report


class Command(BaseCommand):
    help = "Replace the project's arms, events, form-event mapping or repeating setup with a REDCap CSV/JSON table."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True)
        parser.add_argument("--what", required=True, choices=WHAT)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, path: Path, project: str, what: str, dry_run: bool, **options):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        report(
            self, import_design(project_code=project, what=what, source=path, dry_run=dry_run), what=f"{what} import"
        )
