"""Descriptive statistics shared by the reports: median and quartiles, and the two tests used."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import fisher_exact, mannwhitneyu


@dataclass(frozen=True)
class Summary:
    n: int
    missing: int
    median: float | None
    q1: float | None
    q3: float | None


def summarise(values: list[float | None]) -> Summary:
    present = [v for v in values if v is not None and math.isfinite(v)]
    if not present:
        return Summary(0, len(values), None, None, None)
    q1, median, q3 = np.percentile(present, [25, 50, 75])  # linear interpolation, as R's type 7
    return Summary(len(present), len(values) - len(present), float(median), float(q1), float(q3))


def mann_whitney_p(a: list[float | None], b: list[float | None]) -> float | None:
    """Two-sided Mann-Whitney U p-value; None when a group has no values or all values are tied."""
    x = [v for v in a if v is not None]
    y = [v for v in b if v is not None]
    if not x or not y or len(set(x) | set(y)) < 2:
        return None
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def fisher_p(yes_a: int, n_a: int, yes_b: int, n_b: int) -> float | None:
    """Two-sided Fisher's exact p-value for a 2x2 table of shares; None when a group is empty."""
    if n_a == 0 or n_b == 0:
        return None
    return float(fisher_exact([[yes_a, n_a - yes_a], [yes_b, n_b - yes_b]]).pvalue)


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
