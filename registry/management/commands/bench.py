"""`python manage.py bench --records N [--json]`: every benchmark of the project in one run.

Builds (or reuses) an N-patient synthetic SoJIA registry, then measures each figure against its
floor in the same run; medians of --repeats runs. Needs PostgreSQL: the web sections start
gunicorn on loopback against the same database.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from registry.bench.command import bench_run
from registry.bench.run import SECTIONS, TARGETS, run_benchmarks, target_met


class Command(BaseCommand):
    help = "Run the benchmarks side by side and print their figures (a table, or one JSON object with --json)."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1000, help="size of the synthetic registry")
        parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these sections"
        )
        parser.add_argument("--saves", type=int, default=10, help="saves per client per run in the web section")
        parser.add_argument("--clients", type=int, default=16, help="concurrent clients in the web section")
        parser.add_argument(
            "--long-repeats",
            type=int,
            help="runs of the full data-quality run and the API export (default --repeats; minutes each at 10,000)",
        )

    def handle(
        self, *args, records: int, repeats: int, only: list[str], saves: int, clients: int, long_repeats, **options
    ):
        if min(records, repeats, saves, clients, long_repeats or 1) < 1:
            raise CommandError("--records, --repeats, --long-repeats, --saves and --clients must be 1 or more")
        with bench_run():
            figures = run_benchmarks(
                records=records,
                repeats=repeats,
                sections=only,
                saves_each=saves,
                clients=clients,
                long_repeats=long_repeats,
            )
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        for key, value in figures.items():
            met = target_met(key, value)
            verdict = ""
            if met is not None:
                op, limit, _words = TARGETS[key]
                verdict = f"  (target {op} {limit}: {'met' if met else 'MISSED'})"
            self.stdout.write(f"{key:<32} {value}{verdict}")
