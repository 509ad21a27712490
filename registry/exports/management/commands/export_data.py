"""Build a release synchronously: the same job as the web page's, written into a folder."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from forms.models import Project
from registry.access import scope_for
from registry.exports.profiles import DATE_MODES, PROFILES
from registry.exports.services import FORMATS, ExportOptions, ExportRefused, _command_scope, release_request
from registry.services.jobs import job_run


class Command(BaseCommand):
    help = "Export a project's data as a release (data files, dictionary, codebook, schema, manifest) into --out."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project code")
        parser.add_argument("--profile", required=True, choices=PROFILES)
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="folder to write the release into (created if missing)")
        parser.add_argument("--instruments", nargs="+", help="only these instruments")
        parser.add_argument("--events", nargs="+", help="only these events")
        parser.add_argument("--fields", nargs="+", help="only these fields")
        parser.add_argument("--sites", nargs="+", help="only these sites (codes)")
        parser.add_argument("--filter", default="", help='filter logic, e.g. "[age] >= 2"')
        parser.add_argument("--labels", action="store_true", help="choice labels instead of raw codes (csv, tidy)")
        parser.add_argument(
            "--date-mode", default="shift", choices=DATE_MODES, help="de-identified dates: shift (default) or study_day"
        )
        parser.add_argument("--engine", default="auto", choices=("auto", "sql", "python"))
        parser.add_argument("--user", help="export as this user (role and sites apply); default: all sites, all rights")

    def handle(self, *args, **opts):
        project = Project.objects.filter(code=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project']!r}")
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            scope = scope_for(user, project) if user is not None else None
            if scope is None:
                raise CommandError(f"user {opts['user']!r} has no access to {project.code}")
        else:
            scope = _command_scope(project)
        options = ExportOptions(
            profile=opts["profile"],
            format=opts["format"],
            raw_or_label="label" if opts["labels"] else "raw",
            date_mode=opts["date_mode"],
            instruments=opts["instruments"],
            events=opts["events"],
            fields=opts["fields"],
            sites=opts["sites"],
            filter_logic=opts["filter"],
            engine=opts["engine"],
        )
        out = Path(opts["out"])
        try:
            release = release_request(scope=scope, options=options, enqueue=False)
        except ExportRefused as exc:
            raise CommandError(str(exc)) from exc
        from registry.exports.services import release_run

        try:
            job_run(release.job_id, lambda job: release_run(job, copy_to=out))
        except Exception as exc:
            raise CommandError(f"export failed: {exc}") from exc
        release.refresh_from_db()
        for entry in release.manifest["files"]:
            rows = "" if entry["rows"] is None else f"{entry['rows']} rows, "
            self.stdout.write(f"{entry['name']}: {rows}{entry['bytes']} bytes, sha256 {entry['sha256']}")
        self.stdout.write(f"release {release.public_id} written to {out}")
