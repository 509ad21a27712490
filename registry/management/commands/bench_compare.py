"""`python manage.py bench_compare --records N CHECKOUT [CHECKOUT ...]`: form saves of checkouts side by side.

Each CHECKOUT is a directory holding a checkout of this project (`git worktree add /tmp/base <rev>`)
that runs with this interpreter's packages. See registry/bench/compare.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.bench.command import bench_run
from registry.bench.compare import compare_form_saves
from registry.bench.registry_setup import bench_registry


class Command(BaseCommand):
    help = "Form saves and trivial requests of several checkouts, alternated round by round on one machine."

    def add_arguments(self, parser):
        parser.add_argument("checkouts", nargs="+", type=Path, help="directories holding checkouts of the project")
        parser.add_argument("--records", type=int, default=1000, help="size of the synthetic registry")
        parser.add_argument("--rounds", type=int, default=10, help="rounds; each runs every checkout's phases once")
        parser.add_argument("--saves", type=int, default=10, help="saves per client per phase")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, checkouts: list[Path], records: int, rounds: int, saves: int, **options):
        if min(records, rounds, saves) < 1:
            raise CommandError("--records, --rounds and --saves must be 1 or more")
        roots = [path.resolve() for path in checkouts]
        for root in roots:
            if not (root / "registry" / "wsgi.py").is_file():
                raise CommandError(f"{root}: not a checkout of this project (no registry/wsgi.py)")
        with bench_run():
            project = bench_registry(records).project
            figures = compare_form_saves(project, roots, rounds=rounds, saves_each=saves)
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        self.stdout.write(f"{figures['instrument']}, {figures['rounds']} rounds; medians, paired with the first")
        for row in figures["checkouts"]:
            self.stdout.write(
                f"{row['checkout']}\n  ratio {row['form_save_vs_trivial_ratio']:.3f}  "
                f"saves {row['form_save_rps']:.1f}/s "
                f"({row['form_save_rps_vs_first']:.3f}x the first)  trivial {row['trivial_rps']:.1f}/s "
                f"({row['trivial_rps_vs_first']:.3f}x)  CPU ms per save web/database/clients "
                f"{row['form_save_cpu_ms_web']}/{row['form_save_cpu_ms_database']}/{row['form_save_cpu_ms_clients']}"
            )
