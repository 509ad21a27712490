"""Table 1: the suspected and the established cohort at diagnosis, as the study's abstract compares them.

Continuous variables: n, median [IQR] and missing count per cohort, Mann-Whitney U p-value.
Clinical features: count and share per cohort, Fisher's exact p-value. Values come from the
baseline event; the biomarkers from the first baseline sample (drawn before the first dose).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from registry.access import Scope
from registry.reports.data import BASELINE, COHORT_LABELS, ESTABLISHED, SUSPECTED, group_by_cohort, number, values
from registry.reports.stats import Summary, fisher_p, fmt, fmt_p, mann_whitney_p, summarise
from registry.services.design import Design

# (label, instrument, field, unit)
CONTINUOUS = (
    ("Age at enrolment", "enrollment", "age_enrol_y", "years"),
    ("ESR", "disease_activity", "esr", "mm/h"),
    ("CRP", "disease_activity", "crp_mgl", "mg/L"),
    ("Ferritin", "disease_activity", "ferritin", "µg/L"),
    ("IL-18", "biomarker_sample", "il18", "pg/mL"),
    ("MRP8/14", "biomarker_sample", "mrp814", "ng/mL"),
    ("NK cells", "biomarker_sample", "nk_abs", "cells/µL"),
    ("NK lytic function (K562 lysis, E:T 25:1)", "biomarker_sample", "nk_lysis_25", "%"),
)
# (label, instrument, field, codes that count as "yes"); checkbox fields use field___code columns.
FEATURES = (
    ("Female sex", "enrollment", "sex", ("2",)),
    ("Quotidian fever", "classification", "fever_pattern", ("1",)),
    ("Evanescent rash", "classification", "feat_rash", ("1",)),
    ("Generalised lymphadenopathy", "classification", "feat_gen_lad", ("1",)),
    ("Hepatomegaly", "classification", "feat_hepatomeg", ("1",)),
    ("Splenomegaly", "classification", "feat_splenomeg", ("1",)),
    ("Serositis", "classification", "feat_serositis", ("___1", "___2", "___3")),
    ("Arthritis at enrolment", "classification", "feat_arthritis", ("1",)),
    ("Sore throat", "classification", "feat_sore_throat", ("1",)),
    ("Abnormal liver tests", "classification", "feat_lft_abn", ("1",)),
    ("Leukocytosis with neutrophilia", "classification", "feat_leuko_neutro", ("1",)),
)


@dataclass(frozen=True)
class ContinuousRow:
    label: str
    unit: str
    suspected: Summary
    established: Summary
    p: float | None

    def cell(self, s: Summary) -> str:
        return "" if s.median is None else f"{fmt(s.median)} [{fmt(s.q1)}–{fmt(s.q3)}]"  # noqa: RUF001 - an en dash between quartiles


@dataclass(frozen=True)
class FeatureRow:
    label: str
    suspected: tuple[int, int]  # (yes, answered)
    established: tuple[int, int]
    p: float | None

    @staticmethod
    def cell(counts: tuple[int, int]) -> str:
        yes, n = counts
        return f"{yes}/{n} ({100 * yes / n:.0f} %)" if n else ""


@dataclass(frozen=True)
class Table1:
    n: dict[str, int]
    continuous: list[ContinuousRow]
    features: list[FeatureRow]


def _feature(values_: dict[str, str], name: str, codes: tuple[str, ...]) -> bool | None:
    if codes[0].startswith("___"):
        columns = [values_.get(name + code) for code in codes]
        return None if all(c in (None, "") for c in columns) else any(c == "1" for c in columns)
    raw = values_.get(name, "")
    return None if raw == "" else raw in codes


def table1(scope: Scope, design: Design) -> Table1:
    wanted: dict[str, list[str]] = {"enrollment": ["cohort", "sex", "age_enrol_y"]}
    for _label, instrument, name, *_rest in CONTINUOUS + FEATURES:
        wanted.setdefault(instrument, []).append(name)
    groups = group_by_cohort(values(scope, design, wanted))

    def baseline(record, instrument: str) -> dict[str, str]:
        return record.forms.get((BASELINE, instrument, 1), {})

    continuous = []
    for label, instrument, name, unit in CONTINUOUS:
        data = {code: [number(baseline(r, instrument).get(name)) for r in groups[code]] for code in COHORT_LABELS}
        continuous.append(
            ContinuousRow(
                label,
                unit,
                summarise(data[SUSPECTED]),
                summarise(data[ESTABLISHED]),
                mann_whitney_p(data[SUSPECTED], data[ESTABLISHED]),
            )
        )
    features = []
    for label, instrument, name, codes in FEATURES:
        counts = {}
        for code in COHORT_LABELS:
            answers = [_feature(baseline(r, instrument), name, codes) for r in groups[code]]
            answered = [a for a in answers if a is not None]
            counts[code] = (sum(answered), len(answered))
        features.append(
            FeatureRow(
                label, counts[SUSPECTED], counts[ESTABLISHED], fisher_p(*counts[SUSPECTED], *counts[ESTABLISHED])
            )
        )
    return Table1({code: len(groups[code]) for code in COHORT_LABELS}, continuous, features)


def table1_csv(table: Table1) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variable", "unit", "cohort", "n", "missing", "median", "q1", "q3", "yes", "share", "p", "test"])
    for row in table.continuous:
        for code, s in ((SUSPECTED, row.suspected), (ESTABLISHED, row.established)):
            writer.writerow(
                [
                    row.label,
                    row.unit,
                    COHORT_LABELS[code],
                    s.n,
                    s.missing,
                    _num(s.median),
                    _num(s.q1),
                    _num(s.q3),
                    "",
                    "",
                    _num(row.p, 4),
                    "Mann-Whitney U",
                ]
            )
    for row in table.features:
        for code, (yes, n) in ((SUSPECTED, row.suspected), (ESTABLISHED, row.established)):
            writer.writerow(
                [
                    row.label,
                    "",
                    COHORT_LABELS[code],
                    n,
                    table.n[code] - n,
                    "",
                    "",
                    "",
                    yes,
                    _num(yes / n if n else None, 4),
                    _num(row.p, 4),
                    "Fisher's exact",
                ]
            )
    return out.getvalue()


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


__all__ = ["Table1", "fmt_p", "table1", "table1_csv"]
