"""`python manage.py loadtest --users 50 --seconds 60`: gunicorn on loopback against the configured database,
simulated users in this process, p50/p95 per action, the error count, and a check of every accepted save."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from registry.loadtest.client import run_load
from registry.loadtest.server import free_port, start_gunicorn, stop
from registry.loadtest.setup import prepare
from registry.loadtest.verify import missing_answers, missing_saves


class Command(BaseCommand):
    help = "Run the load test (gunicorn + simulated users on 127.0.0.1) and print p50/p95 per action."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
        parser.add_argument("--project", default="loadtest", help="code of the (created) load-test project")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, users: int, seconds: float, workers: int, threads: int, project: str, json: bool,
               **options) -> None:  # fmt: skip
        if users < 1 or seconds <= 0:
            raise CommandError("--users and --seconds must be positive")
        load_users = prepare(project, users)
        close_old_connections()
        port = free_port()
        server = start_gunicorn(port, workers=workers, threads=threads)
        try:
            report = run_load(f"http://127.0.0.1:{port}", project, load_users, seconds)
        finally:
            stop(server)
        problems = missing_saves(project, report.saves)
        unanswered = missing_answers(report.answers)
        result = {"users": users, "seconds": seconds, "actions": report.summary(), "errors": len(report.errors),
                  "saves": len(report.saves), "saves_missing": len(problems), "query_answers": len(report.answers),
                  "answers_missing": len(unanswered),
                  "first_errors": report.errors[:10] + problems[:10] + unanswered[:10]}  # fmt: skip
        if json:
            self.stdout.write(_dumps(result))
        else:
            self.stdout.write(f"{users} users, {seconds:g} s, gunicorn {workers}x{threads} on 127.0.0.1:{port}")
            self.stdout.write(f"{'action':<12} {'count':>7} {'p50 ms':>9} {'p95 ms':>9}")
            for action, row in result["actions"].items():
                self.stdout.write(f"{action:<12} {row['count']:>7} {row['p50_ms']:>9} {row['p95_ms']:>9}")
            self.stdout.write(f"errors: {result['errors']}  accepted saves: {result['saves']}  "
                              f"not in database/audit: {result['saves_missing']}")  # fmt: skip
            self.stdout.write(f"accepted query answers: {result['query_answers']}  "
                              f"not stored/audited: {result['answers_missing']}")  # fmt: skip
            for line in result["first_errors"]:
                self.stdout.write(f"  {line}")
        if report.errors or problems or unanswered:
            raise CommandError(f"{len(report.errors)} errors, {len(problems)} saves missing, "
                               f"{len(unanswered)} query answers missing")  # fmt: skip


def _dumps(data: dict) -> str:
    return json.dumps(data, indent=2)
