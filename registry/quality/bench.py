"""Benchmark of a full data-quality run against one bare scan of the same form rows.

The bare scan is what any rule engine must at least do: read every form row of the project out of
PostgreSQL through a server-side cursor and decode its JSON (engine.stream_records). The full run is
what the nightly job does: built-in rules A-I plus every active custom rule (the SoJIA study's 100
rules of fixtures/sojia/dq_rules.csv, which the bench registry always has), results stored.
The machine is shared, so the scan is timed before, between and after the runs and the median of
the three scans is the floor: the ratio compares figures taken side by side.

Design §9 states the target for "built-in rules + 20 study rules"; the full run (every active rule)
is the headline figure and the stricter one. The design's own definition is measured next to it:
rules A-I with the study's first 20 rules in its own order (`dq_design_rules_vs_scan_ratio`; for SoJIA
R01-R20, the rules the study's specification lists, before the 80 the fixture adds).
"""

from __future__ import annotations

import os
import resource
import statistics
import time

from registry.bench.registry_setup import ensure_study_rules
from registry.models import FormInstance
from registry.quality.engine import Selection, stream_records
from registry.quality.models import QualityRun, Rule
from registry.quality.rules import BUILTIN_RULES
from registry.quality.services.runs import execute

DESIGN_STUDY_RULES = 20  # design §9: "Full DQ run (built-in rules + 20 study rules)"


def timed_scan(project) -> tuple[int, float]:
    started = time.perf_counter()
    rows = sum(len(forms) for _pk, _rid, _site, forms in stream_records(project, Selection()))
    return rows, time.perf_counter() - started


def _cpu_seconds() -> float:
    """CPU time of this process and of its waited-for children (the run's forked shards)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def design_rules(project) -> list[str]:
    """Design §9's rule set: the built-in rules and the first 20 active study rules in the study's order."""
    study = Rule.objects.filter(project=project, active=True).order_by("order", "code").values_list("code", flat=True)
    return [*BUILTIN_RULES, *study[:DESIGN_STUDY_RULES]]


def timed_run(project, rules: list[str] | None = None) -> tuple[QualityRun, float]:
    """A stored run (every active rule, or `rules`) and its seconds."""
    run = QualityRun.objects.create(project=project, params={"rules": rules} if rules else {})
    started = time.perf_counter()
    execute(run)
    return run, time.perf_counter() - started


def bench_quality(project) -> dict:
    """Seconds of the full run over the median bare scan, side by side; also the Python CPU seconds of
    each (the machine is shared: CPU time says what the work costs whatever the load, wall time what it took),
    and the run of design §9's rule set over the same floor."""
    ensure_study_rules(project)  # the bench registry has them; a project handed in directly may not
    cpu = _cpu_seconds()
    rows, first = timed_scan(project)
    scan_cpu = _cpu_seconds() - cpu
    cpu = _cpu_seconds()
    run, full = timed_run(project)
    full_cpu = _cpu_seconds() - cpu
    between = timed_scan(project)[1]
    design_run, design = timed_run(project, design_rules(project))
    scans = [first, between, timed_scan(project)[1]]
    scan = statistics.median(scans)
    return {
        "form_rows": rows,
        "records": project.records.count(),
        "scan_seconds": round(scan, 2),
        "full_run_seconds": round(full, 2),
        "discrepancies": run.summary.get("found", 0),
        "rules": len(run.summary.get("rules", [])),
        "dq_vs_scan_ratio": round(full / scan, 2) if scan else None,
        "design_rules": len(design_run.summary.get("rules", [])),
        "design_run_seconds": round(design, 2),
        "dq_design_rules_vs_scan_ratio": round(design / scan, 2) if scan else None,
        "check_rows": FormInstance.objects.filter(record__project=project).count() == rows,
        "processes": run.summary.get("processes", 1),  # the run's; the scan is one process
        "scan_python_cpu_seconds": round(scan_cpu, 2),
        "full_run_python_cpu_seconds": round(full_cpu, 2),  # all its processes together
        "load_average": round(os.getloadavg()[0], 2),
    }
