"""A patient's timeline: CRP, ferritin, IL-18 and NK lytic function over study days, with the
anakinra dosing intervals and the fever days drawn on the same time axis.

Time is in study days (day 0 = first anakinra dose), never calendar dates: the chart and its CSV
carry no date that could identify the patient.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from registry.access import Scope
from registry.reports.data import BASELINE, COHORT_LABELS, number, values
from registry.reports.svg import PALETTE, Canvas, Scale, nice_range
from registry.services.design import Design

WANTED = {
    "enrollment": ["cohort"],
    "anakinra_start": ["ana_first_date"],
    "disease_activity": ["visit_day", "crp_mgl", "ferritin", "fever_days_7d"],
    "biomarker_sample": ["bm_datetime", "il18", "nk_lysis_25"],
    "anakinra_period": ["ana_start", "ana_end", "ana_ongoing", "ana_mgkg_day", "ana_dose_reason"],
}
# (key, label, unit, log scale)
MARKERS = (
    ("crp", "CRP", "mg/L", False),
    ("ferritin", "Ferritin", "µg/L", True),
    ("il18", "IL-18", "pg/mL", True),
    ("nk_lysis", "NK lytic function", "% lysis", False),
)


@dataclass(frozen=True)
class Point:
    day: int
    event: str
    values: dict[str, float | None]


@dataclass(frozen=True)
class DosingPeriod:
    start: int
    end: int
    ongoing: bool
    mgkg_day: float | None


@dataclass
class Timeline:
    record_id: str
    cohort: str
    points: list[Point] = field(default_factory=list)
    fever: list[tuple[int, int]] = field(default_factory=list)  # (visit day, fever days in the past 7)
    periods: list[DosingPeriod] = field(default_factory=list)

    @property
    def cohort_label(self) -> str:
        return COHORT_LABELS.get(self.cohort, "")

    def last_day(self) -> int:
        days = [p.day for p in self.points] + [p.end for p in self.periods]
        return max(days, default=0)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def timeline(scope: Scope, design: Design, record_id: str) -> Timeline:
    (data,) = values(scope, design, WANTED, record_ids=[record_id])
    first = _date(data.get(BASELINE, "anakinra_start", "ana_first_date"))
    result = Timeline(record_id=data.record_id, cohort=data.cohort)

    def day_of(text: str) -> int | None:
        d = _date(text)
        return (d - first).days if d and first else None

    by_day: dict[int, dict[str, float | None]] = {}
    events: dict[int, str] = {}
    for (event, instrument, _n), form in sorted(data.forms.items()):
        if instrument == "disease_activity":
            day = number(form.get("visit_day"))
            if day is None:
                continue
            slot = by_day.setdefault(int(day), {})
            events[int(day)] = event
            slot["crp"], slot["ferritin"] = number(form.get("crp_mgl")), number(form.get("ferritin"))
            fever = number(form.get("fever_days_7d"))
            if fever is not None:
                result.fever.append((int(day), int(fever)))
        elif instrument == "biomarker_sample":
            day = day_of(form.get("bm_datetime", ""))
            if day is None:
                continue
            slot = by_day.setdefault(day, {})
            events.setdefault(day, event)
            slot["il18"], slot["nk_lysis"] = number(form.get("il18")), number(form.get("nk_lysis_25"))
    result.points = [Point(day, events[day], by_day[day]) for day in sorted(by_day)]
    last_visit = max(by_day, default=0)
    for (_e, instrument, _n), form in sorted(data.forms.items(), key=lambda kv: kv[0][2]):
        if instrument != "anakinra_period":
            continue
        start = day_of(form.get("ana_start", ""))
        if start is None:
            continue
        ongoing = form.get("ana_ongoing") == "1"
        end = day_of(form.get("ana_end", "")) if not ongoing else None
        result.periods.append(
            DosingPeriod(
                start, end if end is not None else max(last_visit, start), ongoing, number(form.get("ana_mgkg_day"))
            )
        )
    result.fever.sort()
    return result


def clip(t: Timeline, until: int | None) -> Timeline:
    """The first `until` study days of a timeline (None: all of it)."""
    if until is None:
        return t
    return Timeline(
        record_id=t.record_id,
        cohort=t.cohort,
        points=[p for p in t.points if p.day <= until],
        fever=[f for f in t.fever if f[0] <= until],
        periods=[
            DosingPeriod(p.start, min(p.end, until), p.ongoing and p.end <= until, p.mgkg_day)
            for p in t.periods
            if p.start <= until
        ],
    )


def timeline_svg(t: Timeline) -> str:
    width, left, right = 920, 70, 20
    lane_h, panel_h, gap = 34, 105, 22
    top = 30
    height = top + 2 * (lane_h + gap) + len(MARKERS) * (panel_h + gap) + 20
    canvas = Canvas(
        width, height, title=f"Timeline of {t.record_id}: biomarkers, anakinra and fever", testid="timeline-chart"
    )
    x = Scale(min(-7, *(p.day for p in t.points)) if t.points else -7, max(t.last_day(), 14) + 3, left, width - right)
    canvas.text(left, 16, f"{t.record_id} · {t.cohort_label} · study day 0 = first anakinra dose", size=12)

    # Anakinra lane: one bar per dosing interval, darker for higher mg/kg/day.
    y0 = top
    canvas.text(left - 6, y0 + lane_h / 2 + 4, "Anakinra", anchor="end", size=10)
    top_dose = max((p.mgkg_day or 0 for p in t.periods), default=0) or 1
    for p in t.periods:
        shade = 0.35 + 0.65 * min(1.0, (p.mgkg_day or 0) / top_dose)
        label = f"{p.mgkg_day:g} mg/kg/day" if p.mgkg_day is not None else "dose unknown"
        canvas.rect(
            x(p.start),
            y0 + 4,
            x(p.end) - x(p.start),
            lane_h - 8,
            color=PALETTE[2],
            opacity=shade,
            title=f"days {p.start} to {p.end}{' (ongoing)' if p.ongoing else ''}: {label}",
            cls="dosing",
        )
        if x(p.end) - x(p.start) > 60:
            canvas.text(x(p.start) + 3, y0 + lane_h / 2 + 4, label, size=9, fill="#fff")

    # Fever lane: the fever days of the 7 days before each visit, as a bar ending at the visit.
    y1 = top + lane_h + gap
    canvas.text(left - 6, y1 + lane_h / 2 + 4, "Fever days", anchor="end", size=10)
    for day, n in t.fever:
        if n > 0:
            h = (lane_h - 4) * n / 7
            canvas.rect(
                x(day - 7),
                y1 + lane_h - h,
                x(day) - x(day - 7),
                h,
                color=PALETTE[0],
                opacity=0.7,
                title=f"day {day}: fever on {n} of the past 7 days",
                cls="fever",
            )
    canvas.add(f'<line x1="{left}" y1="{y1 + lane_h}" x2="{width - right}" y2="{y1 + lane_h}" stroke="#868e96"/>')

    for i, (key, label, unit, log) in enumerate(MARKERS):
        y_top = top + 2 * (lane_h + gap) + i * (panel_h + gap)
        series = [(p.day, p.values.get(key)) for p in t.points if p.values.get(key) is not None]
        lo, hi = nice_range([v for _d, v in series], log=log)
        y = Scale(lo, hi, y_top + panel_h, y_top, log=log)
        canvas.axes(
            x,
            y,
            y_label=f"{label} ({unit})",
            x_label="Study day" if i == len(MARKERS) - 1 else "",
            show_x=i == len(MARKERS) - 1,
        )
        canvas.line([(x(d), y(v)) for d, v in series], color=PALETTE[1 if i % 2 else 4], label=label)
        if not series:
            canvas.text((left + width - right) / 2, y_top + panel_h / 2, "no values", anchor="middle", fill="#868e96")
    return canvas.render()


def timeline_csv(t: Timeline) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "record_id",
            "kind",
            "event",
            "study_day",
            "end_day",
            "crp_mgl",
            "ferritin",
            "il18",
            "nk_lysis_25",
            "fever_days_7d",
            "ana_mgkg_day",
        ]
    )
    fever = dict(t.fever)
    for p in t.points:
        v = p.values
        writer.writerow(
            [
                t.record_id,
                "visit",
                p.event,
                p.day,
                "",
                _s(v.get("crp")),
                _s(v.get("ferritin")),
                _s(v.get("il18")),
                _s(v.get("nk_lysis")),
                fever.get(p.day, ""),
                "",
            ]
        )
    for d in t.periods:
        writer.writerow(
            [t.record_id, "anakinra", "", d.start, "" if d.ongoing else d.end, "", "", "", "", "", _s(d.mgkg_day)]
        )
    return out.getvalue()


def _s(v: float | None) -> str:
    return "" if v is None else f"{v:g}"
