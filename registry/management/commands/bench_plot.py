"""`python manage.py bench_plot RUN.json [RUN.json ...] [-o FILE]`: how the figures scale with N, as an SVG.

Each RUN.json is the output of `bench --records N --json`; give runs of two sizes or more. See
registry/bench/plot.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.bench.plot import PlotError, scaling_svg


class Command(BaseCommand):
    help = "Draw the benchmark's figures against N (from several `bench --json` outputs) as one SVG."

    def add_arguments(self, parser):
        parser.add_argument("runs", nargs="+", type=Path, help="files holding `bench --json` output")
        parser.add_argument("-o", "--output", type=Path, help="write the SVG here (default: standard output)")
        parser.add_argument("--caption", default="", help="a line under the chart (the machine, the date)")

    def handle(self, *args, runs: list[Path], output: Path | None, caption: str, **options):
        loaded = []
        for path in runs:
            try:
                loaded.append(json.loads(path.read_text()))
            except OSError as error:
                raise CommandError(f"{path}: {error.strerror}") from error
            except json.JSONDecodeError as error:
                raise CommandError(f"{path}: not JSON ({error.msg}, line {error.lineno})") from error
            if not isinstance(loaded[-1], dict):
                raise CommandError(f"{path}: not one JSON object (the output of `bench --json`)")
        try:
            svg = scaling_svg(loaded, caption=caption)
        except PlotError as error:
            raise CommandError(str(error)) from error
        if output is None:
            self.stdout.write(svg, ending="")
        else:
            Path(output).write_text(svg)  # a str when called with call_command
            self.stdout.write(f"wrote {output}")
