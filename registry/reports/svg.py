"""Server-side SVG: scales, axes, lines, bands and bars, written as text.

Hospitals run on closed networks and pages carry no inline script, so charts are plain SVG built
here and embedded in the page; nothing is loaded from a CDN and nothing runs in the browser.
Every text that reaches the markup goes through `escape`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape as _escape

PALETTE = ("#d6336c", "#1c7ed6", "#2f9e44", "#f08c00", "#7048e8")


def escape(text: object) -> str:
    return _escape(str(text), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Scale:
    """Maps a data interval onto pixels; `log` uses log10 (values must be > 0)."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def _t(self, v: float) -> float:
        return math.log10(v) if self.log else v

    def __call__(self, v: float) -> float:
        lo, hi = self._t(self.lo), self._t(self.hi)
        span = (hi - lo) or 1.0
        return self.start + (self._t(max(v, self.lo) if self.log else v) - lo) / span * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            return [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi * 1.0001]
        raw = (self.hi - self.lo) / max(count, 1)
        magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.lo / step) * step
        return [first + i * step for i in range(int((self.hi - first) / step) + 1)]


def nice_range(values: Iterable[float], *, log: bool = False, zero: bool = True) -> tuple[float, float]:
    data = [v for v in values if v is not None and (v > 0 or not log)]
    if not data:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = min(data), max(data)
    if log:
        return 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
    lo = min(lo, 0.0) if zero else lo
    return (lo, hi * 1.1 if hi > lo else lo + 1)


def label_number(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


class Canvas:
    """An SVG document under construction."""

    def __init__(self, width: int, height: int, *, title: str, testid: str = "") -> None:
        self.width, self.height, self.title = width, height, title
        self.testid = testid
        self.parts: list[str] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        anchor: str = "start",
        size: int = 11,
        cls: str = "",
        rotate: bool = False,
        fill: str = "#343a40",
    ) -> None:
        transform = f' transform="rotate(-90 {_n(x)} {_n(y)})"' if rotate else ""
        css = f' class="{escape(cls)}"' if cls else ""
        self.add(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"'
            f"{transform}{css}>{escape(text)}</text>"
        )

    def line(
        self, points: Sequence[tuple[float, float]], *, color: str, width: float = 2, dash: str = "", label: str = ""
    ) -> None:
        if not points:
            return
        d = " ".join(f"{'M' if i == 0 else 'L'}{_n(x)},{_n(y)}" for i, (x, y) in enumerate(points))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        aria = f' data-series="{escape(label)}"' if label else ""
        self.add(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{extra}{aria}/>')
        for x, y in points:
            self.add(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{color}"/>')

    def band(self, upper: Sequence[tuple[float, float]], lower: Sequence[tuple[float, float]], *, color: str) -> None:
        if not upper:
            return
        pts = list(upper) + list(reversed(lower))
        self.add(
            f'<polygon points="{" ".join(f"{_n(x)},{_n(y)}" for x, y in pts)}" fill="{color}" '
            f'fill-opacity="0.18" stroke="none" class="iqr-band"/>'
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        color: str,
        opacity: float = 1.0,
        title: str = "",
        cls: str = "",
    ) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        css = f' class="{escape(cls)}"' if cls else ""
        self.add(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.5))}" height="{_n(max(h, 0.5))}" '
            f'fill="{color}" fill-opacity="{opacity}"{css}>{tip}</rect>'
        )

    def axes(
        self,
        x: Scale,
        y: Scale,
        *,
        x_label: str = "",
        y_label: str = "",
        x_ticks: list[float] | None = None,
        show_x: bool = True,
    ) -> None:
        left, right, top, bottom = x.start, x.end, y.end, y.start
        self.add(f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(right)}" y2="{_n(bottom)}" stroke="#868e96"/>')
        self.add(f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(bottom)}" stroke="#868e96"/>')
        for v in y.ticks():
            py = y(v)
            self.add(f'<line x1="{_n(left)}" y1="{_n(py)}" x2="{_n(right)}" y2="{_n(py)}" stroke="#e9ecef"/>')
            self.text(left - 4, py + 3, label_number(v), anchor="end", size=10)
        if show_x:
            for v in x_ticks if x_ticks is not None else x.ticks():
                self.text(x(v), bottom + 13, label_number(v), anchor="middle", size=10)
            if x_label:
                self.text((left + right) / 2, bottom + 28, x_label, anchor="middle")
        if y_label:
            self.text(left - 40, (top + bottom) / 2, y_label, anchor="middle", rotate=True)

    def legend(self, x: float, y: float, items: Sequence[tuple[str, str]]) -> None:
        for i, (label, color) in enumerate(items):
            self.rect(x, y + i * 16 - 8, 12, 10, color=color)
            self.text(x + 16, y + i * 16, label)

    def render(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" role="img" aria-label="{escape(self.title)}"'
            + (f' data-testid="{escape(self.testid)}"' if self.testid else "")
            + f' class="report-chart"><title>{escape(self.title)}</title>'
            + "".join(self.parts)
            + "</svg>"
        )
