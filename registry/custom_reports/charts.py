"""Small server-side SVG charts for the statistics page: no JavaScript, no inline styles (CSP)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 260
BAR_HEIGHT = 14
LABEL_WIDTH = 110
COLOUR = "#0d6efd"


def _text(value: str, limit: int = 18) -> str:
    value = str(value)
    return escape(value if len(value) <= limit else value[: limit - 1] + "…")


def bar_chart(items: list[tuple[str, int]], title: str) -> SafeString:
    """Horizontal bars, one per (label, count)."""
    if not items:
        return mark_safe("")
    top = max(n for _label, n in items) or 1
    span = WIDTH - LABEL_WIDTH - 30
    height = len(items) * (BAR_HEIGHT + 4) + 4
    parts = [
        f'<svg class="report-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, n) in enumerate(items):
        y = 4 + i * (BAR_HEIGHT + 4)
        w = round(span * n / top, 1)
        text_y = y + BAR_HEIGHT - 3
        parts.append(
            f'<text x="{LABEL_WIDTH - 4}" y="{text_y}" text-anchor="end" font-size="10">{_text(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w}" height="{BAR_HEIGHT}" fill="{COLOUR}">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{LABEL_WIDTH + w + 3}" y="{text_y}" font-size="10">{n}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped


def histogram(values: list[float], title: str, bins: int = 10) -> SafeString:
    """Vertical bars of equal-width bins between the smallest and largest value."""
    if not values:
        return mark_safe("")
    low, high = min(values), max(values)
    bins = 1 if high == low else min(bins, len(set(values)))
    step = (high - low) / bins if bins > 1 else 1
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / step), bins - 1) if bins > 1 else 0] += 1
    height, chart_height = 90, 70
    bar_width = (WIDTH - 10) / bins
    top = max(counts) or 1
    parts = [
        f'<svg class="report-chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, n in enumerate(counts):
        h = round(chart_height * n / top, 1)
        x = round(5 + i * bar_width, 1)
        start = low + i * step
        parts.append(
            f'<rect x="{x}" y="{chart_height - h + 2}" width="{round(bar_width - 2, 1)}" height="{h}" fill="{COLOUR}">'
            f"<title>{start:g} to {start + step:g}: {n}</title></rect>"
        )
    parts.append(
        f'<text x="5" y="{height - 4}" font-size="10">{low:g}</text>'
        f'<text x="{WIDTH - 5}" y="{height - 4}" font-size="10" text-anchor="end">{high:g}</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308  # numbers only, title escaped
