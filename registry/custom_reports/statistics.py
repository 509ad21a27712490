"""Per-column statistics of a report: count, missing, mean/median for numbers, frequencies for choices."""

from __future__ import annotations

import statistics as pystats
from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from registry.custom_reports.charts import bar_chart, histogram
from registry.custom_reports.services import ReportTable
from registry.exports import flat
from registry.exports.profiles import data_type_of
from registry.services.design import Design

CHOICE_LIMIT = 15


@dataclass
class ColumnStats:
    name: str
    label: str
    kind: str  # number, choice, checkbox, text
    count: int = 0  # rows with a value
    missing: int = 0  # rows where the column belongs but is blank or holds a missing-data code
    mean: float | None = None
    median: float | None = None
    sd: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    frequencies: list[tuple[str, int, float]] = field(default_factory=list)  # (label, n, percent of count)
    distinct: int = 0
    chart: SafeString | str = ""


def _kind(design: Design, column: flat.FlatColumn) -> str:
    if column.kind == flat.KIND_CHECKBOX:
        return "checkbox"
    if column.kind == flat.KIND_COMPLETE:
        return "choice"
    f = design.field_map.get(column.field or "")
    if f is None:
        return "text"
    data_type = data_type_of(f, design.custom_types)
    if data_type == "code":
        return "choice"
    return "number" if data_type in ("number", "integer") else "text"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def report_statistics(design: Design, table: ReportTable) -> list[ColumnStats]:
    """One ColumnStats per data column; a row counts for a column only where its form belongs."""
    missing_codes = set(design.missing_codes)
    result = []
    for column in table.columns:
        if column.kind not in (flat.KIND_VALUE, flat.KIND_CHECKBOX, flat.KIND_COMPLETE):
            continue
        kind = _kind(design, column)
        stats = ColumnStats(column.name, column.label, kind)
        values: list[str] = []
        for row, applicable in zip(table.rows, table.applicable, strict=True):
            if column.instrument not in applicable:
                continue
            value = row.get(column.name, "")
            value = "" if value is None else str(value)
            if value == "" or value in missing_codes:
                stats.missing += 1
            else:
                values.append(value)
        stats.count = len(values)
        stats.distinct = len(set(values))
        if kind == "number":
            numbers = [n for n in (_number(v) for v in values) if n is not None]
            if numbers:
                stats.mean = pystats.fmean(numbers)
                stats.median = pystats.median(numbers)
                stats.sd = pystats.stdev(numbers) if len(numbers) > 1 else None
                stats.minimum, stats.maximum = min(numbers), max(numbers)
                stats.chart = histogram(numbers, f"Distribution of {column.name}")
        elif kind in ("choice", "checkbox"):
            labels = _labels(design, column)
            counts: dict[str, int] = {}
            for v in values:
                counts[v] = counts.get(v, 0) + 1
            ordered = [code for code in labels if code in counts] + sorted(set(counts) - set(labels))
            stats.frequencies = [
                (labels.get(code, code), counts[code], 100 * counts[code] / stats.count) for code in ordered
            ][:CHOICE_LIMIT]
            stats.chart = bar_chart([(label, n) for label, n, _p in stats.frequencies], f"Frequencies of {column.name}")
        result.append(stats)
    return result


def _labels(design: Design, column: flat.FlatColumn) -> dict[str, str]:
    if column.kind == flat.KIND_CHECKBOX:
        return {"1": "Checked", "0": "Unchecked", "Checked": "Checked", "Unchecked": "Unchecked"}
    if column.kind == flat.KIND_COMPLETE:
        return dict(flat.STATUS_LABELS)
    return design.field_map[column.field].choice_dict()
