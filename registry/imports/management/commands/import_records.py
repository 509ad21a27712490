"""`python manage.py import_records PATH --project CODE [--dry-run] [--date-format YMD|MDY|DMY]`.

The import tool's path without the web: the same upload, dry run and commit services, run in this
process. Exit status 1 when the file has problems (listed with their rows); nothing is written then.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from forms.models import Project
from registry.access import Right, scope_for
from registry.imports.models import ImportRun
from registry.imports.services import (
    ImportRefused,
    UploadOptions,
    check_file,
    command_scope,
    commit_file,
    problems_of,
    upload,
)
from registry.services.design import DesignError
from registry.services.record_import import DATE_FORMATS

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}


class Command(BaseCommand):
    help = "Import a CSV file of records in REDCap's flat format (dry run first; all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="project code")
        parser.add_argument("--dry-run", action="store_true", help="check and list the changes; write nothing")
        parser.add_argument("--date-format", choices=DATE_FORMATS, default="YMD")
        parser.add_argument("--delimiter", choices=sorted(DELIMITERS), help="default: detected from the header")
        parser.add_argument("--labels", action="store_true", help="the file holds labels rather than raw codes")
        parser.add_argument("--overwrite", action="store_true", help="blank cells erase stored values")
        parser.add_argument("--reason", default="", help="reason for change (needed when complete forms change)")
        parser.add_argument("--user", help="import as this member (site scoping applies); default: all sites")

    def handle(self, *args, **options):
        project = Project.objects.filter(code=options["project"]).first()
        if project is None:
            raise CommandError(f"no project {options['project']!r}")
        scope = command_scope(project)
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            scope = scope_for(user, project) if user is not None else None
            if scope is None or not scope.can(Right.ENTER_DATA):
                raise CommandError(f"{options['user']!r} may not enter data in {project.code}")
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"no file {path}")
        upload_options = UploadOptions(
            date_format=options["date_format"],
            delimiter=DELIMITERS.get(options["delimiter"] or "", ""),
            raw_or_label="label" if options["labels"] else "raw",
            overwrite=options["overwrite"],
            reason=options["reason"],
        )
        try:
            run = upload(scope=scope, file_name=path.name, data=path.read_bytes(), options=upload_options)
        except (ImportRefused, DesignError) as exc:
            raise CommandError(str(exc)) from None
        run = check_file(run)
        if run.status == ImportRun.Status.REJECTED:
            self._problems(run)
            raise CommandError(f"{len(run.problems)} problems; nothing was written")
        self._summary(run, "would change" if options["dry_run"] else "checked")
        if options["dry_run"]:
            return
        run = commit_file(run)
        if run.status != ImportRun.Status.COMMITTED:
            self._problems(run)
            raise CommandError(f"refused at commit ({len(run.problems)} problems); nothing was written")
        self._summary(run, "imported")
        self.stdout.write(f"sha256 {run.sha256} (in the audit trail)")

    def _summary(self, run: ImportRun, verb: str) -> None:
        s = run.summary
        self.stdout.write(
            f"{run.file_name}: {run.rows} rows, {s['records']} records ({s['records_created']} new), "
            f"{s['forms_saved']} forms ({s['instances_created']} new instances), {s['values_changed']} values {verb}"
        )
        for name, count in s.get("fields", {}).items():
            self.stdout.write(f"  {name}: {count}")

    def _problems(self, run: ImportRun) -> None:
        for p in sorted(problems_of(run), key=lambda p: (p.row is None, p.row or 0)):
            where = f"row {p.row}: " if p.row is not None else ""
            self.stderr.write(f"{where}{p}")
