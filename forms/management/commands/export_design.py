from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from forms.design.services import WHAT, export_design
from forms.models import Project


class Command(BaseCommand):
    help = "Write the project's arms, events, form-event mapping or repeating setup as REDCap CSV to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--what", required=True, choices=WHAT)

    def handle(self, *args, project: str, what: str, **options):
        found = Project.objects.filter(code=project).first()
        if found is None or found.current_version_id is None:
            raise CommandError(f"project {project} has no design yet")
        self.stdout.write(export_design(found, what=what), ending="")
