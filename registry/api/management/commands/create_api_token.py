"""`manage.py create_api_token USERNAME --project CODE`: print a new API token for the user's project."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from forms.models import Project
from registry.api.services.tokens import TokenError, token_create
from registry.models import AuditSource


class Command(BaseCommand):
    help = "Create an API token (32 hexadecimal characters) for a user in a project; replaces the previous one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--project", required=True, help="the project code")

    def handle(self, *args, username: str, project: str, **options) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        found = Project.objects.filter(code=project).first()
        if found is None:
            raise CommandError(f"no project {project!r}")
        try:
            token = token_create(user=user, project=found, source=AuditSource.SYSTEM)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(token)
