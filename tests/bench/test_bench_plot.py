"""bench_plot: the docs' scaling chart drawn from `bench --json` outputs."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

SVG = "{http://www.w3.org/2000/svg}"


def run(records: int, scale: float, dq_ratio: float) -> dict:
    return {
        "records": records,
        "copy_seconds": 0.3 * scale,
        "export_csv_seconds": 0.5 * scale,
        "api_export_s": 0.6 * scale,
        "dq_scan_s": 1.0 * scale,
        "dq_full_run_s": dq_ratio * scale,
        "export_csv_vs_copy_ratio": 1.6,
        "dq_vs_scan_ratio": dq_ratio,
        "dq_design_rules_vs_scan_ratio": dq_ratio * 0.85,
        "form_save_vs_trivial_ratio": 2.4,
        "save_floor_vs_trivial_ratio": 1.2,
    }


def draw(tmp_path, *runs: dict, **options) -> ET.Element:
    paths = []
    for i, figures in enumerate(runs):
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(figures))
        paths.append(str(path))
    out = io.StringIO()
    call_command("bench_plot", *paths, stdout=out, **options)
    return ET.fromstring(out.getvalue())  # noqa: S314 - SVG this project generated


def lines(svg: ET.Element, cls: str) -> dict[str, ET.Element]:
    return {e.get("data-key"): e for e in svg.iter() if e.get("class") == cls}


def points(line: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def test_each_figure_is_a_line_over_n_rising_with_the_time_it_took(tmp_path):
    svg = draw(tmp_path, run(10000, 10, 4.9), run(1000, 1, 6.0), run(100, 0.1, 9.0))  # any order
    series = lines(svg, "series")
    assert set(series) == {"copy_seconds", "export_csv_seconds", "api_export_s", "dq_scan_s", "dq_full_run_s",
                           "export_csv_vs_copy_ratio", "dq_vs_scan_ratio", "dq_design_rules_vs_scan_ratio",
                           "form_save_vs_trivial_ratio", "save_floor_vs_trivial_ratio"}  # fmt: skip
    for key in ("copy_seconds", "dq_full_run_s"):
        xy = points(series[key])
        assert len(xy) == 3 and xy[0][0] < xy[1][0] < xy[2][0]  # N grows left to right
        assert xy[0][1] > xy[1][1] > xy[2][1]  # more seconds: higher up (SVG's y grows downwards)
    # Log-log: ten times the patients for ten times the seconds is the same slope in each decade.
    (x1, y1), (x2, y2), (x3, y3) = points(series["copy_seconds"])
    assert (y1 - y2) / (x2 - x1) == pytest.approx((y2 - y3) / (x3 - x2), rel=0.1)
    assert series["copy_seconds"].get("stroke-dasharray")  # a floor is dashed, its figure is not
    assert not series["export_csv_seconds"].get("stroke-dasharray")
    # The save floor's ratio is dashed beside the save's, and drawn below it (1.2 against 2.4).
    assert series["save_floor_vs_trivial_ratio"].get("stroke-dasharray")
    assert points(series["save_floor_vs_trivial_ratio"])[0][1] > points(series["form_save_vs_trivial_ratio"])[0][1]


def test_a_ratio_above_its_target_is_drawn_above_the_target_line(tmp_path):
    svg = draw(tmp_path, run(1000, 1, 6.0), run(10000, 10, 4.0))
    dq = points(lines(svg, "series")["dq_vs_scan_ratio"])
    target_y = float(lines(svg, "target")["dq_vs_scan_ratio"].get("y1"))
    assert dq[0][1] < target_y < dq[1][1]  # 6.0 above the line of 5, 4.0 below it


def test_a_ratio_the_older_runs_lack_is_drawn_through_the_runs_that_have_it(tmp_path):
    older = run(1000, 1, 6.0)
    del older["dq_design_rules_vs_scan_ratio"]  # measured from the eighth session on
    svg = draw(tmp_path, older, run(3000, 3, 5.0), run(10000, 10, 4.0))
    assert len(points(lines(svg, "series")["dq_design_rules_vs_scan_ratio"])) == 2
    assert len(points(lines(svg, "series")["dq_vs_scan_ratio"])) == 3


def test_the_chart_is_written_to_a_file_with_its_caption(tmp_path):
    paths = []
    for figures in (run(1000, 1, 5), run(10000, 10, 5)):
        paths.append(tmp_path / f"n{figures['records']}.json")
        paths[-1].write_text(json.dumps(figures))
    out = tmp_path / "scaling.svg"
    said = io.StringIO()
    call_command("bench_plot", *map(str, paths), output=str(out), caption="2 vCPU, 2026-12-06", stdout=said)
    assert said.getvalue().strip() == f"wrote {out}"
    svg = ET.fromstring(out.read_text())  # noqa: S314 - SVG this project generated
    assert "2 vCPU, 2026-12-06" in [t.text for t in svg.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([run(1000, 1, 5)], "at least two sizes"),
        ([run(1000, 1, 5), run(1000, 1.1, 5)], "at least two sizes"),
        ([run(1000, 1, 5), {"dq_vs_scan_ratio": 5}], "run 2 has no 'records'"),
    ],
)
def test_runs_that_cannot_show_scaling_are_refused_saying_why(tmp_path, runs, message):
    with pytest.raises(CommandError, match=message):
        draw(tmp_path, *runs)


def test_a_file_that_is_not_bench_json_is_named(tmp_path):
    bad = tmp_path / "table.txt"
    bad.write_text("records 1000\n")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(run(1000, 1, 5)))
    with pytest.raises(CommandError, match=r"table\.txt: not JSON \(.*line 1\)"):
        call_command("bench_plot", str(good), str(bad), stdout=io.StringIO())
