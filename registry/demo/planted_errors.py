"""The data errors planted on purpose in the demo cohort, for the data-quality checks to find.

Each entry names one stored value (record, event, instrument, instance, field), the rule that must
flag it and why a real study would see it. The clean cohort is generated first; then each value
is replaced. Most errors are planted before the calculations run, so every calc stays correct and
only the intended rules fire; the errors that concern calcs, hidden fields or the investigator's
own judgement are planted after the calculations (`after_calcs`), as an import would store them.

The clinical prerequisites an error needs (an established patient, a biobank sample, a serious
adverse event, ...) are `needs`: the generator builds those records so that the target exists.
The concrete list of the default cohort is fixtures/sojia/planted_errors.json (`load_demo
--planted-errors-json` writes it for any seed and size).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

FormKey = tuple[str, str, int]  # (event, instrument, instance)
Forms = dict[FormKey, dict[str, str]]

DQ_RULES_CSV = Path(__file__).resolve().parents[2] / "fixtures" / "sojia" / "dq_rules.csv"

# REDCap's built-in rules, with the labels REDCap shows (they are not in dq_rules.csv).
BUILTIN_RULES = {
    "C": "C Field validation errors (incorrect data type)",
    "D": "D Field validation errors (out of range)",
    "F": "F Hidden fields that contain values",
    "G": "G Multiple choice fields with invalid values",
    "H": "H Incorrect values for calculated fields",
}


@cache
def custom_rules() -> dict[str, tuple[str, str]]:
    """Rule id ('R08', 'Soft range: ... - crp_mgl ...') -> (rule name, logic), from dq_rules.csv."""
    rules: dict[str, tuple[str, str]] = {}
    with DQ_RULES_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["rule_name"]
            rule_id = name.split(" ", 1)[0] if not name.startswith("Soft range") else name
            rules[rule_id] = (name, row["rule_logic"])
    return rules


def rule_name(rule_id: str) -> str:
    if rule_id in BUILTIN_RULES:
        return BUILTIN_RULES[rule_id]
    return custom_rules()[rule_id][0]


def _day(text: str, days: int) -> str:
    return (date.fromisoformat(text[:10]) + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class PlantedError:
    record: str
    event: str
    instrument: str
    instance: int | str  # a number, or "stopped"/"serious"/"resolved"/"ongoing": found in the record
    field: str
    rule_id: str
    why: str
    value: Callable[[Forms, FormKey], str]
    needs: frozenset[str] = frozenset()
    after_calcs: bool = False

    @property
    def rule(self) -> str:
        return rule_name(self.rule_id)


def _const(text: str) -> Callable[[Forms, FormKey], str]:
    return lambda forms, key: text


def _rel(field: str, days: int, *, event: str = "", instrument: str = "") -> Callable[[Forms, FormKey], str]:
    """A date `days` after another date of the same form (or of the named form at instance 1)."""

    def make(forms: Forms, key: FormKey) -> str:
        source = forms[(event, instrument, 1)] if event else forms[key]
        return _day(source[field], days)

    return make


def _scaled(field: str, factor: float, digits: int = 1) -> Callable[[Forms, FormKey], str]:
    return lambda forms, key: f"{float(forms[key][field]) * factor:.{digits}f}"


def _ajc27_above_ajc(forms: Forms, key: FormKey) -> str:
    return str(int(forms[key]["ajc"]) + 3)


def _off_by_one(field: str) -> Callable[[Forms, FormKey], str]:
    return lambda forms, key: f"{float(forms[key][field]) + 1:g}"


def _other_site(forms: Forms, key: FormKey) -> str:
    return "02" if forms[key]["site_id"] != "02" else "03"


def _dose_for_2_6_mgkg(forms: Forms, key: FormKey) -> str:
    # 30 % above the 2 mg/kg/day target on a once-daily schedule, still called the initial dose.
    return f"{round(float(forms[key]['ana_wt_kg']) * 2.6):.1f}"


def _flip_investigator(forms: Forms, key: FormKey) -> str:
    return "0" if forms[key].get("cid_wallace") == "1" else "1"


BL, LOGS = "baseline_arm_1", "logs_arm_1"
DA, BM = "disease_activity", "biomarker_sample"

PLANTED_ERRORS: tuple[PlantedError, ...] = (
    PlantedError(
        "NCH-0001",
        BL,
        "enrollment",
        1,
        "consent_date",
        "R09",
        "Consent date typed 4 days after the enrolment date (the form was signed at the first visit, "
        "but the date of the countersignature was entered).",
        _rel("enrol_date", 4),
    ),
    PlantedError(
        "RUM-0001",
        BL,
        "classification",
        1,
        "arthritis_onset_date",
        "R02",
        "Arthritis onset dated 3 weeks before the fever onset: the date of an earlier, unrelated "
        "knee injury was copied from the referral letter.",
        _rel("fever_onset_date", -21),
        needs=frozenset({"arthritis_at_enrolment"}),
    ),
    PlantedError(
        "LPR-0001",
        "month_3_arm_1",
        DA,
        1,
        "chaq_di",
        "R17",
        "CHAQ disability index 0.6 is not a possible score (multiples of 0.125): the sum of the "
        "domain scores was typed instead of their mean.",
        _const("0.600"),
    ),
    PlantedError(
        "NCH-0002",
        "month_1_arm_1",
        DA,
        1,
        "ajc27",
        "R18",
        "More active joints among the 27 JADAS joints than active joints in total: the two counts "
        "were swapped on the paper CRF.",
        _ajc27_above_ajc,
        needs=frozenset({"arthritis_at_enrolment"}),
    ),
    PlantedError(
        "RUM-0002",
        "week_1_arm_1",
        BM,
        1,
        "nk_abs",
        "R14",
        "NK count 950 cells/µL while NK % x lymphocytes gives about a fifth of that: the CD3-CD56+ "
        "count was taken from the wrong line of the flow report.",
        _const("950"),
        needs=frozenset({"biobank"}),
    ),
    PlantedError(
        "LPR-0002",
        LOGS,
        "adverse_event",
        "resolved",
        "ae_end",
        "R20",
        "Adverse event resolved 3 days before it started (day and month swapped).",
        _rel("ae_start", -3),
        needs=frozenset({"adverse_event"}),
    ),
    PlantedError(
        "NCH-0003",
        BL,
        "enrollment",
        1,
        "site_id",
        "F10",
        "Participating centre set to another hospital than the record's site (the drop-down was scrolled by one).",
        _other_site,
    ),
    PlantedError(
        "RUM-0003",
        BL,
        "classification",
        1,
        "wbc_peak",
        "F07",
        "PRINTO leukocytosis ticked but the peak WBC was entered as 12.5: the value at admission was "
        "entered, not the peak.",
        _const("12.5"),
        needs=frozenset({"leukocytosis"}),
    ),
    PlantedError(
        "LPR-0003",
        BL,
        BM,
        1,
        "bm_hours_post_dose",
        "R12",
        "The baseline sample was drawn 20 hours after the first anakinra dose: it is not a pre-treatment sample.",
        _const("20.0"),
        needs=frozenset({"biobank"}),
    ),
    PlantedError(
        "NCH-0004",
        "month_6_arm_1",
        DA,
        1,
        "lab_date",
        "R15",
        "Blood drawn 6 days after the visit (the date of a later lab visit was entered).",
        _rel("visit_date", 6),
    ),
    PlantedError(
        "RUM-0004",
        "month_6_arm_1",
        DA,
        1,
        "wt_kg",
        "R16",
        "Weight 25 % above the previous visit: weighed with winter clothes and shoes. The next "
        "visit's weight then also differs by more than 10 % from this one.",
        _scaled("wt_kg", 1.25),
    ),
    PlantedError(
        "LPR-0004",
        LOGS,
        "anakinra_period",
        1,
        "ana_dose_mg",
        "R01",
        "First dosing interval at 2.6 mg/kg/day with the reason 'initial dose': the dose was "
        "rounded up to a full syringe without documenting why.",
        _dose_for_2_6_mgkg,
    ),
    PlantedError(
        "NCH-0005",
        LOGS,
        "anakinra_period",
        "stopped",
        "ana_stop_reason",
        "F01",
        "Anakinra stopped without a reason for stopping.",
        _const(""),
        needs=frozenset({"anakinra_stopped"}),
    ),
    PlantedError(
        "RUM-0005",
        BL,
        DA,
        1,
        "crp_unit",
        "R08",
        "CRP unit mg/dL chosen while the lab reported mg/L: a tenfold error that the canonical "
        "CRP (mg/L) carries into the scores.",
        _const("2"),
    ),
    PlantedError(
        "LPR-0005",
        BL,
        DA,
        1,
        "jadas27_esr",
        "H",
        "A stored JADAS-27 (ESR) that does not match its inputs: the value was copied from the "
        "hospital chart into the import file instead of being left to the calculation.",
        _off_by_one("jadas27_esr"),
        after_calcs=True,
    ),
    PlantedError(
        "NCH-0006",
        "week_1_arm_1",
        DA,
        1,
        "pg_respondent",
        "G",
        "Code 4 is not a choice of 'Global completed by' (1-3): an old code list was used for the import.",
        _const("4"),
        after_calcs=True,
    ),
    PlantedError(
        "RUM-0006",
        LOGS,
        "anakinra_period",
        "ongoing",
        "ana_end",
        "F",
        "An end date stored in an interval marked ongoing, where the end date is hidden.",
        _rel("ana_start", 60),
        needs=frozenset({"anakinra_ongoing"}),
        after_calcs=True,
    ),
    PlantedError(
        "LPR-0006", "month_3_arm_1", DA, 1, "esr", "C", "ESR '4O' (letter O for zero) is not an integer.", _const("4O")
    ),
    PlantedError(
        "NCH-0007",
        "month_9_arm_1",
        DA,
        1,
        "temp_max_24h",
        "D",
        "Temperature 3.7 °C: the decimal point was typed one place too early.",
        _const("3.7"),
    ),
    PlantedError(
        "RUM-0007",
        "month_3_arm_1",
        DA,
        1,
        "cid_investigator",
        "R13",
        "The investigator's inactive-disease judgement disagrees with the Wallace criteria "
        "calculated from the same visit.",
        _flip_investigator,
        after_calcs=True,
    ),
    PlantedError(
        "LPR-0007",
        "month_6_arm_1",
        DA,
        1,
        "ht_cm",
        "Q01",
        "Height not measured at the month-6 visit, where the protocol requires it.",
        _const(""),
    ),
    PlantedError(
        "NCH-0008",
        BL,
        "classification",
        1,
        "fever_onset_date",
        "D04",
        "Fever onset 400 days before enrolment: the year of a previous febrile illness was entered.",
        _rel("enrol_date", -400, event=BL, instrument="enrollment"),
    ),
    PlantedError(
        "RUM-0008",
        LOGS,
        "adverse_event",
        "serious",
        "ae_sae_rep_date",
        "R05",
        "Serious adverse event reported to the sponsor 5 days after the site became aware "
        "(the 24-hour rule was missed over a weekend).",
        _rel("ae_aware_date", 5),
        needs=frozenset({"serious_adverse_event"}),
    ),
    PlantedError(
        "LPR-0008",
        "week_1_arm_1",
        BM,
        1,
        "il18_flag",
        "F04",
        "IL-18 flagged below the lower limit of quantification while a value is entered.",
        _const("1"),
        needs=frozenset({"biobank"}),
    ),
    PlantedError(
        "NCH-0009",
        "day_3_arm_1",
        DA,
        1,
        "ferritin",
        "R03",
        "Ferritin 15,400 µg/L on day 3 with no MAS assessment: the result came back after the "
        "visit and was added later without the assessment.",
        _const("15400"),
    ),
)


def needs_by_record() -> dict[str, frozenset[str]]:
    needs: dict[str, frozenset[str]] = {}
    for error in PLANTED_ERRORS:
        needs[error.record] = needs.get(error.record, frozenset()) | error.needs
    return needs


def resolve_instance(error: PlantedError, forms: Forms) -> int:
    """The instance a planted error targets; named instances are looked up in the clean record."""
    if isinstance(error.instance, int):
        return error.instance
    candidates = sorted(n for (e, i, n) in forms if e == error.event and i == error.instrument)
    for number in candidates:
        values = forms[(error.event, error.instrument, number)]
        if error.instance == "stopped" and values.get("ana_stop") == "1":
            return number
        if error.instance == "ongoing" and values.get("ana_ongoing") == "1":
            return number
        if error.instance == "resolved" and values.get("ae_ongoing") == "0":
            return number
        if error.instance == "serious" and values.get("ae_serious") == "1":
            return number
    raise LookupError(f"{error.record}: no {error.instance} {error.instrument} to plant {error.rule_id} in")


@dataclass(frozen=True)
class Planted:
    """One planted error as it was stored: the documented row of planted_errors.json."""

    record: str
    event: str
    instrument: str
    instance: int
    field: str
    value: str
    clean_value: str
    rule: str
    rule_id: str
    why: str

    def as_json(self) -> dict[str, object]:
        return {
            "record": self.record,
            "event": self.event,
            "instrument": self.instrument,
            "instance": self.instance,
            "field": self.field,
            "value": self.value,
            "clean_value": self.clean_value,
            "rule": self.rule,
            "rule_id": self.rule_id,
            "why": self.why,
        }


def plant(record_id: str, forms: Forms, *, after_calcs: bool) -> list[Planted]:
    """Replace the values of the record's planted errors of one phase, in place; return what was planted."""
    planted = []
    for error in PLANTED_ERRORS:
        if error.record != record_id or error.after_calcs != after_calcs:
            continue
        key = (error.event, error.instrument, resolve_instance(error, forms))
        values = forms[key]
        clean = values.get(error.field, "")
        new = error.value(forms, key)
        if new:
            values[error.field] = new
        else:
            values.pop(error.field, None)
        planted.append(
            Planted(record_id, key[0], key[1], key[2], error.field, new, clean, error.rule, error.rule_id, error.why)
        )
    return planted


def planted_errors_document(planted: list[Planted], *, seed: int, n_records: int) -> str:
    order = {(e.record, e.field): i for i, e in enumerate(PLANTED_ERRORS)}
    rows = sorted(planted, key=lambda p: order[(p.record, p.field)])
    document = {
        "about": (
            "Data errors planted on purpose in the SoJIA demo cohort (registry/demo/planted_errors.py). "
            "Each row is one stored value; 'rule' is the data-quality rule that must flag it (custom rules "
            "by their name in dq_rules.csv, REDCap's built-in rules by letter and label). Errors that "
            "change a calculation input were planted before the calculations ran, so the calcs are "
            "correct and rule H stays quiet for them."
        ),
        "cohort": {
            "seed": seed,
            "records": n_records,
            "command": f"manage.py load_demo --records {n_records} --seed {seed}",
        },
        "errors": [p.as_json() for p in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
