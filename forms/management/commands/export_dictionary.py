from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from forms.dictionary.services import export_dictionary
from forms.models import Project


class Command(BaseCommand):
    help = "Write the project's current data dictionary to stdout exactly as REDCap does."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project code")
        parser.add_argument("--format", choices=("csv", "json"), default="csv")
        parser.add_argument("--version-number", dest="version_number", type=int, help="an older version number")

    def handle(self, *args, project: str, format: str, version_number: int | None, **options):
        found = Project.objects.filter(code=project).first()
        if found is None:
            raise CommandError(f"no project {project}")
        version = None
        if version_number is not None:
            version = found.versions.filter(number=version_number).first()
            if version is None:
                raise CommandError(f"project {project} has no version {version_number}")
        try:
            text = export_dictionary(found, format=format, version=version)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(text, ending="")
