"""Every benchmark of the project in one run, each figure next to its floor (docs/benchmarks.md).

Sections run in a fixed order, the long batch work (export, data quality) before the web server
is started. The export's peak memory is read in a child process (registry/exports/bench.py), so
nothing this process holds is counted. A section whose module is missing reports `null` figures
and names what is missing, rather than failing the other sections.
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import statistics
import time
from collections.abc import Callable

from django.db import connection

from registry.bench.api_export import bench_api_export
from registry.bench.dashboard import bench_dashboard
from registry.bench.engine import bench_engine
from registry.bench.form_save import bench_form_save
from registry.bench.registry_setup import bench_registry
from registry.bench.server import database_url, running_server

SECTIONS = ("export", "quality", "dashboard", "web", "engine")

# key -> (comparison, limit, the target's words); from design §9.
TARGETS: dict[str, tuple[str, float, str]] = {
    "export_csv_vs_copy_ratio": ("<=", 3.0, "export within 3x a bare COPY"),
    "dq_vs_scan_ratio": ("<=", 5.0, "DQ run within 5x one scan"),
    "dq_design_rules_vs_scan_ratio": ("<=", 5.0, "built-in + 20 study rules within 5x one scan"),
    "form_save_p95_ms": ("<", 150.0, "save p95 under 150 ms at 16 clients"),
    "form_save_vs_trivial_ratio": ("<=", 2.0, "saves at least half the trivial page's throughput"),
    "dashboard_first_page_ms": ("<", 200.0, "dashboard first page under 200 ms"),
    "dictionary_import_s": ("<", 5.0, "2,253-field dictionary import"),
    "logic_parse_s": ("<", 1.0, "all corpus logic parsed"),
}


def target_met(key: str, value) -> bool | None:
    if key not in TARGETS or not isinstance(value, int | float):
        return None
    op, limit, _ = TARGETS[key]
    return value < limit if op == "<" else value <= limit


def optional(module: str, function: str) -> Callable | None:
    """A benchmark another part of the project provides, or None while it has not landed."""
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        return None


def call_with(function: Callable, project, **available) -> dict:
    """Call a provided benchmark with the keyword arguments it declares (their signatures differ)."""
    accepted = inspect.signature(function).parameters
    return function(project, **{k: v for k, v in available.items() if k in accepted})


def machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    python = platform.python_version()
    return {"machine": f"{platform.machine()} {_cpus()} CPU, Python {python}, PostgreSQL {server_version}"}


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def section_export(project, records: int, repeats: int) -> dict:
    bench_export = optional("registry.exports.bench", "bench_export")
    if bench_export is None:
        return {
            "export_csv_vs_copy_ratio": None,
            "export_peak_rss_mb": None,
            "export_missing": "registry/exports/bench.py: bench_export has not landed",
        }
    # Its memory is measured in a child process, which must open this run's database (in tests, the test one).
    child_env = {"DATABASE_URL": database_url()}
    result = call_with(bench_export, project, repeats=repeats, env=child_env)
    figures = {k: v for k, v in result.items() if k not in ("project", "records", "profile")}
    # Memory must stay flat as records grow: the same export of a registry a tenth the size.
    tenth = max(records // 10, 1)
    if tenth != records:
        small = call_with(bench_export, bench_registry(tenth).project, repeats=1, env=child_env)
        figures["export_peak_rss_mb_at_tenth"] = small.get("export_peak_rss_mb")
        figures["export_tenth_records"] = tenth
    return figures


def section_quality(project, repeats: int) -> dict:
    bench_quality = optional("registry.quality.bench", "bench_quality")
    if bench_quality is None:
        return {"dq_vs_scan_ratio": None, "quality_missing": "registry/quality/bench.py: bench_quality has not landed"}
    runs = [bench_quality(project) for _ in range(repeats)]
    return {
        "dq_vs_scan_ratio": round(statistics.median(r["dq_vs_scan_ratio"] for r in runs), 2),
        "dq_full_run_s": round(statistics.median(r["full_run_seconds"] for r in runs), 2),
        "dq_scan_s": round(statistics.median(r["scan_seconds"] for r in runs), 2),
        "dq_rules": runs[0]["rules"],
        # Design §9's own rule set (built-in + 20 study rules) over the same scans: the full run above is stricter.
        "dq_design_rules_vs_scan_ratio": round(statistics.median(r["dq_design_rules_vs_scan_ratio"] for r in runs), 2),
        "dq_design_rules_run_s": round(statistics.median(r["design_run_seconds"] for r in runs), 2),
        "dq_design_rules": runs[0]["design_rules"],
    }


def section_web(project, repeats: int, saves_each: int, clients: int, api_repeats: int) -> dict:
    with running_server(workers=4) as server:
        figures = bench_form_save(project, server, clients=clients, saves_each=saves_each, repeats=repeats)
        figures.update(bench_api_export(project, server, repeats=api_repeats))
    figures["web_server"] = f"gunicorn, {server.workers} sync workers, loopback"
    return figures


def run_benchmarks(
    *,
    records: int,
    repeats: int = 3,
    sections=SECTIONS,
    saves_each: int = 10,
    clients: int = 16,
    long_repeats: int | None = None,
) -> dict:
    started = time.perf_counter()
    figures: dict = {"records": records}
    project = None
    if set(sections) - {"engine"}:  # the engine benchmarks bring their own dictionaries
        registry = bench_registry(records)
        project = registry.project
        figures.update(records=registry.records, registry_built_s=registry.build_seconds)
    figures.update(machine())
    figures["load_average_start"] = load_average()
    if "export" in sections:
        figures.update(section_export(project, records, repeats))
    if "quality" in sections:
        figures.update(section_quality(project, long_repeats or repeats))
    if "dashboard" in sections:
        figures.update(bench_dashboard(project, repeats=max(repeats, 5)))
    if "web" in sections:
        figures.update(section_web(project, repeats, saves_each, clients, long_repeats or repeats))
    if "engine" in sections:
        figures.update(bench_engine(repeats=repeats))
    figures["bench_total_s"] = round(time.perf_counter() - started, 1)
    figures["load_average_end"] = load_average()
    return figures


def load_average() -> float | None:
    """The 1-minute load average: on a shared machine, how much else ran next to the benchmark."""
    return round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
