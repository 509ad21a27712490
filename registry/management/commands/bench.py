"""`python manage.py bench [--records N] [--json]`: every benchmark of the project in one run."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from registry.bench.engine import bench_engine

TARGETS = {"dictionary_import_s": ("<", 5.0), "logic_parse_s": ("<", 1.0)}


class Command(BaseCommand):
    help = "Run the benchmarks side by side and print their figures (a table, or one JSON object with --json)."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=1000, help="size of the synthetic registry")
        parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        figures: dict = {"records": options["records"]}
        figures.update(bench_engine(repeats=options["repeats"]))
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        for key, value in figures.items():
            target = TARGETS.get(key)
            verdict = ""
            if target:
                op, limit = target
                ok = value < limit if op == "<" else value <= limit
                verdict = f"  (target {op} {limit}: {'met' if ok else 'MISSED'})"
            self.stdout.write(f"{key:<32} {value}{verdict}")
