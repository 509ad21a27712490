"""How the benchmark's figures scale with N, drawn as one small SVG from several `bench --json` runs.

Two panels: the jobs' seconds next to their floors against the number of patients (log-log, so a
straight line of slope 1 is linear scaling), and each ratio against its target. Plain SVG written
here: a chart for the docs does not warrant a plotting library in the image.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str
    floor: bool = False  # drawn dashed: what the figure beside it is compared with

    @property
    def dash(self) -> str:
        """The stroke attribute of its line, in the chart and in the legend alike."""
        return ' stroke-dasharray="5,4"' if self.floor else ""


SECONDS = (
    Series("copy_seconds", "bare COPY of the form rows", "#1f77b4", floor=True),
    Series("export_csv_seconds", "de-identified CSV export", "#1f77b4"),
    Series("api_export_s", "PyCap full export via /api/", "#2ca02c"),
    Series("dq_scan_s", "bare scan of the rows", "#d62728", floor=True),
    Series("dq_full_run_s", "full data-quality run", "#d62728"),
)
RATIOS = (
    (Series("export_csv_vs_copy_ratio", "export / COPY (target 3)", "#1f77b4"), 3.0),
    (Series("dq_vs_scan_ratio", "DQ run / scan (target 5)", "#d62728"), 5.0),
    # Design §9's rule set (A-I + 20 study rules) against the same target; runs before it was measured lack it.
    (Series("dq_design_rules_vs_scan_ratio", "DQ, A-I + 20 study rules / scan", "#ff7f0e"), 5.0),
    (Series("form_save_vs_trivial_ratio", "trivial / save throughput (target 2)", "#9467bd"), 2.0),
    # The least a save can do on this stack (`registry/bench/views.py: save_floor`), dashed beside the save: how
    # much of the target the stack alone takes. Measured from the ninth session on.
    (Series("save_floor_vs_trivial_ratio", "trivial / save-floor throughput", "#9467bd", floor=True), 2.0),
)

WIDTH, HEIGHT = 880, 360
PANEL_W, PANEL_H = 330, 250
LEFT_X, RIGHT_X, TOP_Y = 70, 520, 40


class PlotError(Exception):
    pass


def _runs_by_size(runs: Iterable[dict]) -> list[dict]:
    by_size: dict[int, dict] = {}
    for i, run in enumerate(runs, 1):
        records = run.get("records")
        if not isinstance(records, int) or records <= 0:
            raise PlotError(f"run {i} has no 'records' count: is it the output of `bench --json`?")
        by_size[records] = run  # the later run of one size wins
    if len(by_size) < 2:
        raise PlotError("give runs of at least two sizes (N) to show how the figures scale")
    return [by_size[n] for n in sorted(by_size)]


def _decades(low: float, high: float) -> tuple[int, int]:
    """The powers of ten around [low, high]: at least one decade, so an axis never has zero length."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return first, max(last, first + 1)


def _log_scale(value: float, decades: tuple[int, int], length: float) -> float:
    low, high = decades
    return (math.log10(value) - low) / (high - low) * length


def _points(runs: list[dict], key: str) -> list[tuple[int, float]]:
    return [(run["records"], float(run[key])) for run in runs if isinstance(run.get(key), int | float) and run[key] > 0]


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11, extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
            f"{escape(text)}</text>")  # fmt: skip


def _frame(x0: float, title: str) -> list[str]:
    return [
        f'<rect x="{x0}" y="{TOP_Y}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>',
        _text(x0 + PANEL_W / 2, TOP_Y - 12, title, anchor="middle", size=13),
        _text(x0 + PANEL_W / 2, TOP_Y + PANEL_H + 34, "patients (N)", anchor="middle"),
    ]


def _x_axis(x0: float, xd: tuple[int, int]) -> list[str]:
    parts = []
    for d in range(xd[0], xd[1] + 1):
        x = x0 + _log_scale(10**d, xd, PANEL_W)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP_Y}" x2="{x:.1f}" y2="{TOP_Y + PANEL_H}" stroke="#eee"/>')
        parts.append(_text(x, TOP_Y + PANEL_H + 16, f"{10**d:,}", anchor="middle"))
    return parts


def _line(points: list[tuple[float, float]], series: Series) -> list[str]:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f'<polyline class="series" data-key="{series.key}" points="{path}" fill="none" '
             f'stroke="{series.colour}" stroke-width="2"{series.dash}/>']  # fmt: skip
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{series.colour}"/>' for x, y in points]
    return parts


def _legend(x0: float, entries: list[Series]) -> list[str]:
    """A key of the series drawn, from x0 down the panel's top (the caller picks the emptier corner)."""
    parts = []
    for i, series in enumerate(entries):
        y = TOP_Y + 14 + i * 16
        parts.append(f'<line x1="{x0 + 8}" y1="{y - 4}" x2="{x0 + 30}" y2="{y - 4}" stroke="{series.colour}" '
                     f'stroke-width="2"{series.dash}/>')  # fmt: skip
        parts.append(_text(x0 + 36, y, series.label, size=10))
    return parts


def scaling_svg(runs: Iterable[dict], *, caption: str = "") -> str:
    """The SVG of how the runs' figures (each a `bench --json` object) change with their N."""
    ordered = _runs_by_size(runs)
    sizes = [run["records"] for run in ordered]
    xd = _decades(min(sizes), max(sizes))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>']  # fmt: skip

    # Left: seconds, log-log.
    seconds = {s.key: _points(ordered, s.key) for s in SECONDS}
    values = [v for points in seconds.values() for _, v in points]
    if not values:
        raise PlotError("the runs hold none of the timed figures (export, data quality, API)")
    yd = _decades(min(values), max(values))
    parts += _frame(LEFT_X, "seconds against N (log-log)")
    parts += _x_axis(LEFT_X, xd)
    for d in range(yd[0], yd[1] + 1):
        y = TOP_Y + PANEL_H - _log_scale(10**d, yd, PANEL_H)
        parts.append(f'<line x1="{LEFT_X}" y1="{y:.1f}" x2="{LEFT_X + PANEL_W}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(LEFT_X - 6, y + 4, f"{10**d:g} s", anchor="end"))
    drawn = []
    for series in SECONDS:
        points = seconds[series.key]
        if not points:
            continue
        xy = [(LEFT_X + _log_scale(n, xd, PANEL_W), TOP_Y + PANEL_H - _log_scale(v, yd, PANEL_H)) for n, v in points]
        parts += _line(xy, series)
        drawn.append(series)
    parts += _legend(LEFT_X, drawn)

    # Right: ratios to their floors, linear from 0, the targets as grey lines.
    ratios = {s.key: _points(ordered, s.key) for s, _ in RATIOS}
    top = max([target for _, target in RATIOS] + [v for points in ratios.values() for _, v in points]) * 1.15
    parts += _frame(RIGHT_X, "ratio to its floor against N")
    parts += _x_axis(RIGHT_X, xd)
    for tick in range(0, math.floor(top) + 1):
        y = TOP_Y + PANEL_H - tick / top * PANEL_H
        parts.append(_text(RIGHT_X - 6, y + 4, f"{tick}x", anchor="end"))
    drawn = []
    for series, target in RATIOS:
        y = TOP_Y + PANEL_H - target / top * PANEL_H
        parts.append(f'<line class="target" data-key="{series.key}" x1="{RIGHT_X}" y1="{y:.1f}" '
                     f'x2="{RIGHT_X + PANEL_W}" y2="{y:.1f}" stroke="{series.colour}" stroke-opacity="0.35" '
                     'stroke-dasharray="2,3"/>')  # fmt: skip
        points = ratios[series.key]
        if not points:
            continue
        xy = [(RIGHT_X + _log_scale(n, xd, PANEL_W), TOP_Y + PANEL_H - v / top * PANEL_H) for n, v in points]
        parts += _line(xy, series)
        drawn.append(series)
    # At the top right: a ratio falls as N grows and the fixed costs stop counting, so its left end is high.
    parts += _legend(RIGHT_X + PANEL_W - 215, drawn)

    if caption:
        parts.append(_text(WIDTH / 2, HEIGHT - 8, caption, anchor="middle", size=10, extra=' fill="#555"'))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
