"""Benchmark of a full data-quality run against one bare scan of the same form rows.

The bare scan is what any rule engine must at least do: read every form row of the project out of
PostgreSQL through a server-side cursor and decode its JSON (engine.stream_records). The full run is
what the nightly job does: built-in rules A-I plus every active custom rule, results stored.
"""

from __future__ import annotations

import time

from registry.access import Scope
from registry.models import FormInstance, Role
from registry.quality.engine import Selection, stream_records
from registry.quality.models import QualityRun
from registry.quality.services.runs import execute


def bench_quality(project) -> dict:
    started = time.perf_counter()
    rows = sum(len(forms) for _pk, _rid, _site, forms in stream_records(project, Selection()))
    scan = time.perf_counter() - started
    run = QualityRun.objects.create(project=project, params={})
    scope = Scope(user=None, project=project, role=Role.DATA_MANAGER, site=None)
    assert scope.all_sites
    started = time.perf_counter()
    execute(run)
    full = time.perf_counter() - started
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
