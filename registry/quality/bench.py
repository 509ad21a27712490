"""Benchmark of a full data-quality run against one bare scan of the same form rows.

The bare scan is what any rule engine must at least do: read every form row of the project out of
PostgreSQL through a server-side cursor and decode its JSON (engine.stream_records). The full run is
what the nightly job does: built-in rules A-I plus every active custom rule (the SoJIA study's 100
rules of fixtures/sojia/dq_rules.csv are imported first when the project has none), results stored.
The machine is shared, so the scan is timed before and after the run and the median of the three
scans is the floor: the ratio compares figures taken side by side.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from registry.access import Scope
from registry.models import FormInstance, Role
from registry.quality.engine import Selection, stream_records
from registry.quality.models import QualityRun, Rule
from registry.quality.services.custom_rules import rules_import_csv
from registry.quality.services.runs import execute

SOJIA_RULES = Path(__file__).resolve().parents[2] / "fixtures" / "sojia" / "dq_rules.csv"


def timed_scan(project) -> tuple[int, float]:
    started = time.perf_counter()
    rows = sum(len(forms) for _pk, _rid, _site, forms in stream_records(project, Selection()))
    return rows, time.perf_counter() - started


def bench_quality(project) -> dict:
    scope = Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)
    assert scope.all_sites
    if not Rule.objects.filter(project=project).exists() and SOJIA_RULES.exists():
        rules_import_csv(scope=scope, text=SOJIA_RULES.read_text(encoding="utf-8"), replace=True)
    rows, first = timed_scan(project)
    run = QualityRun.objects.create(project=project, params={})
    started = time.perf_counter()
    execute(run)
    full = time.perf_counter() - started
    scans = [first, timed_scan(project)[1], timed_scan(project)[1]]
    scan = statistics.median(scans)
    return {
        "form_rows": rows,
        "records": project.records.count(),
        "scan_seconds": round(scan, 2),
        "full_run_seconds": round(full, 2),
        "discrepancies": run.summary.get("found", 0),
        "rules": len(run.summary.get("rules", [])),
        "dq_vs_scan_ratio": round(full / scan, 2) if scan else None,
        "check_rows": FormInstance.objects.filter(record__project=project).count() == rows,
    }
