from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forms.design.services import import_study
from forms.management.commands._output import report


class Command(BaseCommand):
    help = (
        "Import a study folder (project.json, data_dictionary.csv and optional arms.csv, events.csv, "
        "instrument_event_mapping.csv, repeating_instruments.csv) as one new version."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--project", help="project code (default: the code in project.json)")
        parser.add_argument("--confirm-destructive", action="store_true")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, directory: Path, project, confirm_destructive: bool, dry_run: bool, **options):
        if not directory.is_dir():
            raise CommandError(f"no such folder: {directory}")
        result = import_study(
            directory=directory, project_code=project, confirm_destructive=confirm_destructive, dry_run=dry_run
        )
        report(self, result, what="study import")
