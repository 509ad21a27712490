"""Export benchmark: the de-identified flat CSV against a bare COPY of the same rows, and peak memory.

    from registry.exports.bench import bench_export
    bench_export(project)   # {'export_csv_vs_copy_ratio': 2.1, 'export_peak_rss_mb': 88.0, ...}

- `copy_seconds`: `COPY (SELECT data FROM form rows of the project) TO STDOUT` into a file, the floor
  of any export (design.md section 8);
- `export_csv_seconds`: the de-identified flat CSV as a release writes it (the PostgreSQL COPY
  engine: pivot, keyed hash, date shift and CSV formatting in one query, run as
  `export_copy_streams` parallel COPY streams over ranges of records), into a file;
- `export_release_seconds`: the whole release (CSV, dictionary, codebook, schema, manifest, SHA-256);
- `export_peak_rss_mb`: peak resident memory of a separate process that builds the whole release,
  read from `VmHWM` in that process at its end (so the measuring process's own memory is not
  counted); `python_engine_peak_rss_mb` the same with the
  Python fallback engine (SQLite, or when a filter is given).

Timings are the best of `repeats` runs on a warm cache. `python -m registry.exports.bench child ...`
is the subprocess entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def copy_baseline(project, out_path: Path) -> int:
    """Bare COPY of the project's JSONB form rows; returns the bytes written."""
    from django.db import connection

    from registry.models import FormInstance, Record

    query = (
        f"SELECT fi.data FROM {FormInstance._meta.db_table} fi JOIN {Record._meta.db_table} r "  # noqa: S608
        f"ON r.id = fi.record_id WHERE r.project_id = {int(project.pk)}"
    )
    with open(out_path, "wb") as out, connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT", out, size=1 << 16)
    return out_path.stat().st_size


def _scope(project):
    from registry.exports.services import _command_scope

    return _command_scope(project)


def export_csv(project, out_path: Path, profile: str = "deidentified") -> int:
    """The release's flat CSV alone, through the COPY engine; returns the rows written."""
    from registry.exports import copystreams, formats, sqlflat
    from registry.exports.profiles import RowTransformer, anchor_field, plan_columns  # noqa: F401
    from registry.exports.services import ExportOptions, columns_for, project_secret
    from registry.services.design import design_of

    scope = _scope(project)
    design = design_of(project)
    options = ExportOptions(profile=profile, format="csv")
    plans = plan_columns(design, columns_for(design, options, scope), profile, options.date_mode)
    query = sqlflat.build_query(scope, design, plans, secret=project_secret(project),
                                anchor=anchor_field(design, project))  # fmt: skip
    header = [p.column.name for p in plans if p.exported]
    with open(out_path, "wb") as out:
        out.write(formats.csv_line(header).encode())
        return copystreams.copy_flat_csv(query, out)


def child_peak_rss(project_code: str, *, engine: str, profile: str = "deidentified", env: dict | None = None) -> dict:
    """Build a whole release in a fresh process and report that process's peak RSS (MB)."""
    result = subprocess.run(
        [sys.executable, "-m", "registry.exports.bench", "child", project_code, engine, profile],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_export(project, *, profile: str = "deidentified", repeats: int = 3, memory: bool = True,
                 env: dict | None = None) -> dict:  # fmt: skip
    """Time the flat CSV export against a bare COPY of the same rows; measure peak memory in subprocesses."""
    from registry.exports import conf
    from registry.exports.services import ExportOptions, release_build
    from registry.models import FormInstance

    figures: dict = {
        "project": project.code,
        "records": project.records.count(),
        "form_rows": FormInstance.objects.filter(record__project=project).count(),
        "profile": profile,
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy_path, csv_path = folder / "copy.txt", folder / "export.csv"
        copy_baseline(project, copy_path)  # warm the cache
        figures["copy_seconds"] = round(_best(lambda: copy_baseline(project, copy_path), repeats), 3)
        figures["copy_bytes"] = copy_path.stat().st_size
        figures["export_copy_streams"] = conf.copy_streams()
        figures["export_csv_seconds"] = round(_best(lambda: export_csv(project, csv_path, profile), repeats), 3)
        figures["export_csv_bytes"] = csv_path.stat().st_size
        figures["export_csv_rows"] = sum(1 for _ in open(csv_path, "rb")) - 1  # noqa: SIM115
        figures["export_csv_vs_copy_ratio"] = round(figures["export_csv_seconds"] / figures["copy_seconds"], 2)

        def whole_release():
            out = folder / "release"
            out.mkdir(exist_ok=True)
            for stale in out.iterdir():
                stale.unlink()
            release_build(_scope(project), ExportOptions(profile=profile, format="csv"), out)

        figures["export_release_seconds"] = round(_best(whole_release, 1), 3)
    if memory:
        sql = child_peak_rss(project.code, engine="sql", profile=profile, env=env)
        figures["export_peak_rss_mb"] = sql["peak_rss_mb"]
        figures["process_baseline_rss_mb"] = sql["baseline_rss_mb"]
        figures["python_engine_peak_rss_mb"] = child_peak_rss(project.code, engine="python", profile=profile,
                                                              env=env)["peak_rss_mb"]  # fmt: skip
        figures["memory_method"] = "VmHWM of a separate process building the whole release"
    return figures


def _peak_rss_mb(resource) -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across exec, so a child of a large process
    (the bench command) would report its parent's size: VmHWM belongs to this process alone."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(project_code: str, engine: str, profile: str) -> None:
    import resource

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    django.setup()
    from forms.models import Project
    from registry.exports.services import ExportOptions, release_build
    from registry.services.design import design_of

    project = Project.objects.get(code=project_code)
    design_of(project)
    baseline = _peak_rss_mb(resource)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        release_build(_scope(project), ExportOptions(profile=profile, format="csv", engine=engine), Path(tmp))
        seconds = time.perf_counter() - started
    peak = _peak_rss_mb(resource)
    print(json.dumps({"peak_rss_mb": round(peak, 1), "baseline_rss_mb": round(baseline, 1),
                      "seconds": round(seconds, 2), "engine": engine}))  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print("usage: python -m registry.exports.bench child PROJECT_CODE sql|python PROFILE", file=sys.stderr)
        sys.exit(2)
