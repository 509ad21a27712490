"""`manage.py bench` end to end on the test database: every section runs and reports sane figures.

Figures themselves are judged in the benchmark (docs/benchmarks.md), never here: these checks are
that each measurement happened and is compared with its floor.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from registry.models import AuditEvent, FormInstance, SaveFloorRow
from registry.quality.models import QualityRun
from registry.quality.rules import BUILTIN_RULES

RATIOS = (
    "export_csv_vs_copy_ratio",
    "dq_vs_scan_ratio",
    "dq_design_rules_vs_scan_ratio",
    "form_save_vs_trivial_ratio",
    "save_floor_vs_trivial_ratio",
    "form_save_vs_save_floor_ratio",
    "api_export_vs_copy_ratio",
)
FIGURES = (
    "export_peak_rss_mb",
    "form_save_p50_ms",
    "form_save_p95_ms",
    "dashboard_first_page_ms",
    "dashboard_queries",
    "api_export_s",
    "dictionary_import_s",
    "logic_parse_s",
)


@pytest.mark.django_db(transaction=True)  # the gunicorn server under test reads committed rows only
def test_bench_runs_every_section_on_a_small_registry_and_prints_one_json_object():
    out = StringIO()
    call_command("bench", "--records", "50", "--repeats", "1", "--saves", "2", "--json", stdout=out)
    figures = json.loads(out.getvalue())

    assert figures["records"] == 50
    for key in RATIOS + FIGURES:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    assert figures["form_save_p95_ms"] >= figures["form_save_p50_ms"]
    assert figures["form_save_requests"] == 16 * 2  # 16 clients, 2 saves each, no failures
    assert figures["dictionary_import_fields"] == 2253
    assert figures["logic_expressions"] > 1000
    assert figures["export_peak_rss_mb_at_tenth"] > 0
    # Design §9's rule set next to the full run: rules A-I and the study's R01-R20, a stored run of its own.
    assert figures["dq_rules"] == len(BUILTIN_RULES) + 100
    assert figures["dq_design_rules"] == len(BUILTIN_RULES) + 20
    design_run = QualityRun.objects.filter(project__code="bench-n50").exclude(params={}).get()
    assert design_run.summary["rules"] == [*BUILTIN_RULES, *(f"R{n:02d}" for n in range(1, 21))]
    # Each request's machine time split by process kind (/proc), and the server side's own ratio.
    for prefix in ("form_save", "trivial", "save_floor"):
        assert all(figures[f"{prefix}_cpu_ms_{kind}"] > 0 for kind in ("web", "database", "clients")), figures
    server_ratio = (figures["form_save_cpu_ms_web"] + figures["form_save_cpu_ms_database"]) / (
        figures["trivial_cpu_ms_web"] + figures["trivial_cpu_ms_database"]
    )
    assert figures["form_save_vs_trivial_server_cpu_ratio"] > 1  # a save costs the server more than the ping
    assert abs(figures["form_save_vs_trivial_server_cpu_ratio"] - server_ratio) < server_ratio  # same order
    # The saves went through the real view: each changed one value and was audited with its reason.
    assert AuditEvent.objects.filter(reason="benchmark edit").count() >= 16 * 2
    assert FormInstance.objects.filter(record__project__code="bench-n50", row_version__gt=2).count() == 16
    # The floor got the same posts, one scratch row per browser, with the changed value in it.
    floor_rows = list(SaveFloorRow.objects.all())
    assert len(floor_rows) == 16 and all(row.row_version >= 4 for row in floor_rows)
    assert all("save_stay" not in row.data and len(row.data) > 100 for row in floor_rows)  # the workup's values


BURN_THEN_SLEEP = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(60)"


def test_cpu_samples_count_the_server_process_tree(tmp_path):
    """A worker's CPU counts for the server: the grandchild of the sampled pid burns 0.3 s, then idles."""
    import subprocess
    import sys
    import time

    from registry.bench.cpu import sample

    script = tmp_path / "burn.py"
    script.write_text(BURN_THEN_SLEEP)
    master = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, {str(script)!r}])"]
    )
    try:
        before = sample(master.pid)
        time.sleep(1.5)
        after = sample(master.pid)
        assert before is not None and after is not None
        assert after.web - before.web >= 0.2, (before, after)
        assert after.clients - before.clients < 0.2  # the test process itself only slept
    finally:
        subprocess.run(["pkill", "-P", str(master.pid)], check=False)
        master.kill()
        master.wait(10)


@pytest.mark.django_db(transaction=True)
def test_a_second_run_reuses_the_registry_of_that_size():
    call_command("bench", "--records", "20", "--only", "dashboard", "--json", stdout=StringIO())
    out = StringIO()
    call_command("bench", "--records", "20", "--only", "dashboard", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["registry_built_s"] == 0.0 and figures["records"] == 20
    assert figures["dashboard_queries"] > 0


@pytest.mark.django_db
def test_the_table_marks_each_figure_against_its_target():
    # The engine section needs no registry: nothing is built for it.
    out = StringIO()
    call_command("bench", "--records", "20", "--only", "engine", "--repeats", "1", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert "(target < 5.0: " in lines["dictionary_import_s"]
    assert "(target < 1.0: " in lines["logic_parse_s"]
    assert "target" not in lines["records"]


@pytest.mark.django_db(transaction=True)
def test_bench_compare_alternates_checkouts_and_pairs_their_figures(tmp_path):
    """Two checkouts (this one twice) side by side on one registry: each saves through its own gunicorn,
    the records rotate between them, and each is paired with the first round by round."""
    from django.core.management.base import CommandError

    from registry.quality.models import Rule

    root = Path(__file__).resolve().parents[2]
    out = StringIO()
    call_command("bench_compare", str(root), str(root), "--records", "40", "--rounds", "2", "--saves", "1", "--json",
                 stdout=out)  # fmt: skip
    figures = json.loads(out.getvalue())
    assert figures["instrument"] == "ddx_workup" and figures["rounds"] == 2
    first, second = figures["checkouts"]
    assert first["checkout"] == second["checkout"] == str(root)
    assert first["form_save_rps_vs_first"] == 1.0 and second["form_save_rps_vs_first"] > 0
    for row in (first, second):
        assert row["form_save_rps"] > 0 and row["trivial_rps"] > 0 and row["form_save_vs_trivial_ratio"] > 0
    # 16 clients x (2 warm-up + 1 measured) saves per record set and round, every one audited.
    assert AuditEvent.objects.filter(reason="benchmark edit").count() >= 16 * 2 * 2
    # The registry carries the study's rules, so every save ran the real-time ones, as in a registry in use.
    assert Rule.objects.filter(project__code="bench-n40", real_time=True).count() == 90
    with pytest.raises(CommandError, match="not a checkout"):
        call_command("bench_compare", str(tmp_path), "--records", "40", stdout=StringIO())
