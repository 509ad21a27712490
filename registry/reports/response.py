"""Cohort response: median CRP and ferritin (with IQR bands) by week since the first anakinra dose,
per cohort, and the share of patients with inactive disease at months 1, 3, 6 and 12.

Weeks are the scheduled visits' study days divided by 7 (the median per visit); unscheduled visits
(flares, MAS) are left out, so a bad week does not enter the curve of everyone. Inactive disease is
the study's calculated Wallace criteria (`cid_wallace`).
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass

from registry.access import Scope
from registry.reports.data import COHORT_LABELS, ESTABLISHED, SUSPECTED, group_by_cohort, number, values
from registry.reports.stats import Summary, summarise
from registry.reports.svg import PALETTE, Canvas, Scale, nice_range
from registry.services.design import Design

SCHEDULED = (
    "baseline_arm_1",
    "day_3_arm_1",
    "week_1_arm_1",
    "month_1_arm_1",
    "month_3_arm_1",
    "month_6_arm_1",
    "month_9_arm_1",
    "month_12_arm_1",
    "month_18_arm_1",
    "month_24_arm_1",
    "month_36_arm_1",
    "month_48_arm_1",
    "month_60_arm_1",
)
INACTIVE_AT = (
    ("month_1_arm_1", "Month 1"),
    ("month_3_arm_1", "Month 3"),
    ("month_6_arm_1", "Month 6"),
    ("month_12_arm_1", "Month 12"),
)
MIN_PATIENTS = 3  # a median of fewer patients is not drawn
COHORT_COLOURS = {SUSPECTED: PALETTE[0], ESTABLISHED: PALETTE[1]}


@dataclass(frozen=True)
class WeekRow:
    cohort: str
    event: str
    week: float
    crp: Summary
    ferritin: Summary


@dataclass(frozen=True)
class InactiveRow:
    cohort: str
    label: str
    inactive: int
    assessed: int

    @property
    def share(self) -> float | None:
        return self.inactive / self.assessed if self.assessed else None


@dataclass(frozen=True)
class Response:
    n: dict[str, int]
    weeks: list[WeekRow]
    inactive: list[InactiveRow]


def response(scope: Scope, design: Design) -> Response:
    wanted = {"enrollment": ["cohort"], "disease_activity": ["visit_day", "crp_mgl", "ferritin", "cid_wallace"]}
    groups = group_by_cohort(values(scope, design, wanted))
    weeks, inactive = [], []
    for code, records in groups.items():
        for event in SCHEDULED:
            forms = [
                r.forms[(event, "disease_activity", 1)] for r in records if (event, "disease_activity", 1) in r.forms
            ]
            days = [d for d in (number(f.get("visit_day")) for f in forms) if d is not None]
            if not days:
                continue
            weeks.append(
                WeekRow(
                    code,
                    event,
                    round(statistics.median(days) / 7, 1),
                    summarise([number(f.get("crp_mgl")) for f in forms]),
                    summarise([number(f.get("ferritin")) for f in forms]),
                )
            )
        for event, label in INACTIVE_AT:
            answers = [r.forms.get((event, "disease_activity", 1), {}).get("cid_wallace", "") for r in records]
            answered = [a for a in answers if a in ("0", "1")]
            inactive.append(InactiveRow(code, label, answered.count("1"), len(answered)))
    return Response({code: len(records) for code, records in groups.items()}, weeks, inactive)


def response_svg(r: Response, *, max_week: float | None = None) -> str:
    """Two panels (CRP, ferritin on a log scale): per cohort the median line and its IQR band."""
    width, left, right, panel_h, gap, top = 920, 70, 170, 190, 48, 20
    canvas = Canvas(
        width,
        top + 2 * (panel_h + gap),
        title="Median CRP and ferritin by week since anakinra start",
        testid="response-chart",
    )
    rows = [w for w in r.weeks if max_week is None or w.week <= max_week]
    x = Scale(0, max([w.week for w in rows], default=1) or 1, left, width - right)
    for i, (key, label, unit, log) in enumerate(
        (("crp", "CRP", "mg/L", False), ("ferritin", "Ferritin", "µg/L", True))
    ):
        y_top = top + i * (panel_h + gap)
        drawn = [w for w in rows if getattr(w, key).n >= MIN_PATIENTS]
        lo, hi = nice_range([getattr(w, key).q3 for w in drawn] + [getattr(w, key).q1 for w in drawn], log=log)
        y = Scale(lo, hi, y_top + panel_h, y_top, log=log)
        canvas.axes(x, y, y_label=f"{label} ({unit})", x_label="Weeks since first anakinra dose")
        for code, colour in COHORT_COLOURS.items():
            series = [w for w in drawn if w.cohort == code]
            canvas.band(
                [(x(w.week), y(getattr(w, key).q3)) for w in series],
                [(x(w.week), y(getattr(w, key).q1)) for w in series],
                color=colour,
            )
            canvas.line(
                [(x(w.week), y(getattr(w, key).median)) for w in series],
                color=colour,
                label=f"{COHORT_LABELS[code]} {label}",
            )
    canvas.legend(
        width - right + 16, top + 10, [(f"{COHORT_LABELS[c]} (n={r.n[c]})", COHORT_COLOURS[c]) for c in COHORT_COLOURS]
    )
    canvas.text(width - right + 16, top + 52, "line: median; band: IQR", size=10, fill="#868e96")
    return canvas.render()


def inactive_svg(r: Response) -> str:
    """Grouped bars: the share with inactive disease at months 1, 3, 6 and 12, per cohort."""
    width, height, left, bottom, top = 560, 230, 50, 190, 20
    canvas = Canvas(
        width, height, title="Share with inactive disease (Wallace) at months 1, 3, 6 and 12", testid="inactive-chart"
    )
    y = Scale(0, 100, bottom, top)
    slot = (width - left - 150) / len(INACTIVE_AT)
    canvas.axes(Scale(0, 1, left, width - 150), y, y_label="% inactive", show_x=False)
    for j, (_event, label) in enumerate(INACTIVE_AT):
        canvas.text(left + slot * (j + 0.5), bottom + 14, label, anchor="middle", size=10)
        for k, code in enumerate(COHORT_COLOURS):
            row = next(i for i in r.inactive if i.cohort == code and i.label == label)
            if row.share is None:
                continue
            bar_x = left + slot * j + 8 + k * (slot - 16) / 2
            canvas.rect(
                bar_x,
                y(100 * row.share),
                (slot - 16) / 2 - 2,
                bottom - y(100 * row.share),
                color=COHORT_COLOURS[code],
                title=f"{COHORT_LABELS[code]}, {label}: {row.inactive}/{row.assessed}",
                cls="inactive-bar",
            )
    canvas.legend(width - 140, top + 10, [(COHORT_LABELS[c], COHORT_COLOURS[c]) for c in COHORT_COLOURS])
    return canvas.render()


def response_csv(r: Response) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "table",
            "cohort",
            "event",
            "week",
            "n_crp",
            "crp_median",
            "crp_q1",
            "crp_q3",
            "n_ferritin",
            "ferritin_median",
            "ferritin_q1",
            "ferritin_q3",
            "inactive",
            "assessed",
            "share_inactive",
        ]
    )
    for w in r.weeks:
        writer.writerow(
            [
                "by_week",
                COHORT_LABELS[w.cohort],
                w.event,
                w.week,
                w.crp.n,
                _s(w.crp.median),
                _s(w.crp.q1),
                _s(w.crp.q3),
                w.ferritin.n,
                _s(w.ferritin.median),
                _s(w.ferritin.q1),
                _s(w.ferritin.q3),
                "",
                "",
                "",
            ]
        )
    for i in r.inactive:
        writer.writerow(
            [
                "inactive_disease",
                COHORT_LABELS[i.cohort],
                i.label,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                i.inactive,
                i.assessed,
                _s(i.share),
            ]
        )
    return out.getvalue()


def _s(v: float | None) -> str:
    return "" if v is None else f"{v:.4g}"
