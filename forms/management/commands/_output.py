"""Shared printing of import results for the management commands."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from forms.dictionary.diff import summary
from forms.dictionary.services import ImportResult


def report(command: BaseCommand, result: ImportResult, *, what: str) -> None:
    """Print warnings and the diff; on errors print each as `row N, column C: message` and fail."""
    out = command.stdout
    for warning in result.warnings:
        out.write(f"warning: {warning}")
    if result.errors:
        for error in result.errors:
            command.stderr.write(str(error))
        raise CommandError(f"{what} refused: {len(result.errors)} error(s); nothing was stored")
    for line in summary(result.diff):
        out.write(line)
    if result.dry_run:
        out.write(f"dry run: {what} is valid ({result.field_count} fields, {result.form_count} forms); nothing stored")
    elif result.version is not None:
        version = result.version
        out.write(
            command.style.SUCCESS(
                f"{version.project.code}: version {version.number} created "
                f"({result.field_count} fields, {result.form_count} forms)"
            )
        )
