"""One synthetic SoJIA patient: a plausible disease course turned into REDCap raw values.

The model is deliberately simple and documented in docs/demo.md. Before anakinra: fever, rash,
serositis, organomegaly, high CRP, ESR, ferritin, IL-18 and MRP8/14, low NK lytic function. After
the first dose inflammation falls, CRP fastest (half-life of days), ferritin and ESR slower, IL-18
slowest; NK lytic function recovers over months. Most patients reach inactive disease within weeks,
some only partly respond, a few have a flare, an episode of macrophage activation syndrome (MAS)
or an adverse event, and some "suspected" patients develop arthritis during follow-up.

The values respect the study's hard and soft ranges and its data-quality rules, so that the only
rule hits in the cohort are the planted errors (planted_errors.py). Calculated fields are left out
here: calcs.py computes them with the form engine's own evaluation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from registry.demo.planted_errors import FormKey, Forms
from registry.demo.synthetic import synthetic_mrn, synthetic_name, synthetic_postcode

# The data cut-off: a fixed date, so a seed always gives the same cohort.
CUTOFF = date(2025, 6, 30)
FIRST_ENROLMENT = date(2012, 1, 9)
LAST_ENROLMENT = CUTOFF - timedelta(days=400)  # everyone can reach the month-12 visit

SUSPECTED, ESTABLISHED = "1", "2"
BL, LOGS, UNSCHEDULED = "baseline_arm_1", "logs_arm_1", "unscheduled_arm_1"

# (event, target study day, jitter in days): the jitter stays well inside the protocol window.
SCHEDULE = (
    ("day_3_arm_1", 3, 0),
    ("week_1_arm_1", 7, 1),
    ("month_1_arm_1", 30, 4),
    ("month_3_arm_1", 91, 8),
    ("month_6_arm_1", 182, 14),
    ("month_9_arm_1", 273, 14),
    ("month_12_arm_1", 365, 14),
    ("month_18_arm_1", 547, 20),
    ("month_24_arm_1", 730, 20),
    ("month_36_arm_1", 1095, 30),
    ("month_48_arm_1", 1460, 30),
    ("month_60_arm_1", 1825, 30),
)
BIOMARKER_EVENTS = frozenset(
    {
        BL,
        "week_1_arm_1",
        "month_1_arm_1",
        "month_3_arm_1",
        "month_6_arm_1",
        "month_12_arm_1",
        "month_18_arm_1",
        "month_24_arm_1",
        "month_36_arm_1",
        "month_48_arm_1",
        "month_60_arm_1",
    }
)
CLASSIFICATION_EVENTS = ("month_6_arm_1", "month_12_arm_1")
# Fields of the lab panel not taken at the day-3 visit (the protocol's minimum there is temperature,
# CRP and ferritin); they get the missing-data code ND.
NOT_DONE_AT_DAY_3 = ("ldh", "tg", "tg_unit", "fibrinogen", "fib_unit", "ddimer", "dd_unit", "alt", "ast")
PATHOGENS = (
    "ebv",
    "cmv",
    "parvo",
    "adeno",
    "entero",
    "hhv6",
    "bart",
    "myco",
    "tb",
    "strep",
    "yers",
    "salm",
    "borr",
    "bruc",
    "leish",
    "hiv",
    "hbv",
    "hcv",
    "cov2",
)
IMAGING = ("cxr", "abd_us", "echo", "ct", "petct", "mri", "bone", "jxr")


@dataclass(frozen=True)
class PatientPlan:
    index: int
    record_id: str
    site_number: int  # 1-based: the site_id code and the DAG site_NN
    cohort: str
    needs: frozenset[str] = frozenset()


@dataclass
class Patient:
    forms: Forms = field(default_factory=dict)
    missing: dict[FormKey, dict[str, str]] = field(default_factory=dict)


def f1(x: float) -> str:
    return f"{x:.1f}"


def f2(x: float) -> str:
    return f"{x:.2f}"


def yn(flag: bool) -> str:
    return "1" if flag else "0"


def iso(d: date) -> str:
    return d.isoformat()


def iso_dt(d: date, t: time) -> str:
    return datetime.combine(d, t).strftime("%Y-%m-%d %H:%M")


def ticks(field_name: str, codes: list[str], ticked: set[str]) -> dict[str, str]:
    return {f"{field_name}___{code}": yn(code in ticked) for code in codes}


class Course:
    """The disease course of one patient over study days (day 0 = first anakinra dose)."""

    def __init__(self, rng: random.Random, plan: PatientPlan) -> None:
        self.rng = rng
        established = plan.cohort == ESTABLISHED
        needs = plan.needs
        r = rng.random()
        self.response = "complete" if r < 0.72 else "partial" if r < 0.92 else "none"
        if "anakinra_stopped" in needs:
            self.response = "complete"
        self.escalated = rng.random() < 0.3  # fever on day 3: 2 -> 4 mg/kg/day (treat-to-target)
        self.t_inactive = {"complete": rng.randint(10, 75), "partial": rng.randint(150, 400), "none": 10**6}[
            self.response
        ]
        self.mas_day = rng.randint(9, 80) if rng.random() < 0.08 else None
        self.flare_day = rng.randint(200, 700) if rng.random() < 0.15 else None
        self.arthritis_day: int | None = None
        if not established and rng.random() < 0.5:
            self.arthritis_day = rng.randint(40, 330)
        # Levels at diagnosis: the abstract's cohorts are similar; suspected patients are sampled a
        # little earlier in the disease, with more systemic and less articular activity.
        self.crp0 = min(290.0, max(45.0, rng.lognormvariate(math.log(140 if not established else 110), 0.45)))
        self.esr0 = min(135.0, max(35.0, rng.gauss(80 if not established else 70, 18)))
        self.ferr0 = min(9000.0, max(250.0, rng.lognormvariate(math.log(1300 if not established else 800), 0.6)))
        self.il18_0 = min(250000.0, max(2000.0, rng.lognormvariate(math.log(40000), 0.8)))
        self.mrp0 = min(90000.0, max(2000.0, rng.lognormvariate(math.log(14000), 0.6)))
        self.s100_0 = min(20000.0, max(200.0, rng.lognormvariate(math.log(1500), 0.6)))
        self.lysis0 = rng.uniform(6, 18)  # % specific lysis at E:T 25:1, low at onset
        self.lysis_late = rng.uniform(26, 42)
        self.nk_pct0 = rng.uniform(3, 8)
        self.ajc0 = rng.randint(2, 12) if established else 0
        self.chaq0 = rng.randint(4, 16) / 8  # 0.5 .. 2.0 in steps of 0.125
        self.pga0 = rng.randint(12, 18) / 2  # 6.0 .. 9.0

    def inactive(self, t: int) -> bool:
        if t >= self.t_inactive and not self.flaring(t) and not self.new_arthritis(t):
            return not (self.mas_day is not None and self.mas_day <= t <= self.mas_day + 21)
        return False

    def flaring(self, t: int) -> bool:
        return self.flare_day is not None and self.flare_day <= t <= self.flare_day + 20

    def new_arthritis(self, t: int) -> bool:
        return self.arthritis_day is not None and self.arthritis_day <= t <= self.arthritis_day + 60

    def activity(self, t: int, half_life: float) -> float:
        """Relative inflammation (1 at onset) for a marker falling with the given half-life in days."""
        if t <= 0:
            return 1.0
        floor = {"complete": 0.0, "partial": 0.2, "none": 0.6}[self.response]
        level = floor + (1 - floor) * 0.5 ** (t / half_life)
        if self.flaring(t):
            level = max(level, 0.5)
        return level

    def fever_days(self, t: int) -> int:
        if t <= 0:
            return 7
        if self.flaring(t) and self.flare_day is not None and t - self.flare_day < 10:
            return self.rng.randint(2, 5)
        if self.mas_day is not None and self.mas_day <= t <= self.mas_day + 7:
            return self.rng.randint(3, 7)
        if t <= 3:
            return self.rng.randint(2, 3) if self.escalated else self.rng.randint(0, 2)
        if t <= 9:
            return self.rng.randint(1, 2) if self.escalated or self.response == "none" else 0
        if self.response == "none" and t < 120:
            return self.rng.randint(0, 3)
        return 0


def simulate(plan: PatientPlan, *, seed: int) -> Patient:
    """The raw values of one patient's forms; deterministic for (seed, plan.index)."""
    rng = random.Random(f"sojia-demo:{seed}:{plan.index}")  # noqa: S311 - synthetic data, not security
    course = Course(rng, plan)
    p = Patient()
    established = plan.cohort == ESTABLISHED
    needs = plan.needs

    # --- enrolment and identifiers -------------------------------------------------------------
    span = (LAST_ENROLMENT - FIRST_ENROLMENT).days
    enrol = FIRST_ENROLMENT + timedelta(days=rng.randrange(span))
    age_days = rng.randint(int(1.6 * 365), int((15.0 if established else 13.5) * 365))
    dob = enrol - timedelta(days=age_days)
    age = age_days / 365.25
    consent = enrol - timedelta(days=rng.randint(0, 4))
    biobank = "biobank" in needs or rng.random() < 0.9
    genetic = rng.random() < 0.75
    steroid_naive = rng.random() < 0.8
    first, last = synthetic_name(rng)
    sex = "2" if rng.random() < 0.55 else "1"
    p.forms[(BL, "enrollment", 1)] = {
        "record_id": plan.record_id,
        "site_id": f"{plan.site_number:02d}",
        "data_source": "2" if established and rng.random() < 0.4 else "1",
        "consent_date": iso(consent),
        "consent_type": "2" if age >= 12 else "1",
        "consent_biobank": yn(biobank),
        "consent_genetic": yn(genetic),
        "consent_recontact": yn(rng.random() < 0.8),
        "name_first": first,
        "name_last": last,
        "dob": iso(dob),
        "mrn": synthetic_mrn(rng, plan.site_number),
        "postcode": synthetic_postcode(rng),
        "sex": sex,
        "country": ("NLD", "BEL", "DEU")[plan.site_number % 3] if rng.random() < 0.9 else "GBR",
        "cohort": plan.cohort,
        "enrol_date": iso(enrol),
        "steroid_naive": yn(steroid_naive),
        "anakinra_naive": "1",
        "nsaid_trial": yn(rng.random() < 0.5),
        **({"biobank_id": f"BB-{plan.site_number:02d}{plan.index + 1:05d}"} if biobank else {}),
    }

    # --- classification at baseline ------------------------------------------------------------
    fever_onset = enrol - timedelta(days=rng.randint(16, 40) if not established else rng.randint(70, 200))
    arthritis_onset = None
    if established:
        latest = (enrol - fever_onset).days - 45  # arthritis persisting >= 6 weeks at enrolment
        arthritis_onset = fever_onset + timedelta(days=rng.randint(5, max(6, latest)))
    features = {
        "rash": rng.random() < 0.8,
        "gen_lad": rng.random() < 0.5,
        "hepatomeg": rng.random() < 0.3,
        "splenomeg": rng.random() < 0.35,
        "sore_throat": rng.random() < 0.3,
        "lft_abn": rng.random() < 0.35,
    }
    if established and not any(features[k] for k in ("rash", "gen_lad", "hepatomeg", "splenomeg")):
        features["rash"] = True  # ILAR needs one systemic feature besides fever and arthritis
    serositis = {c for c in ("1", "2") if rng.random() < 0.12}
    wbc_peak = rng.uniform(18, 34) if "leukocytosis" in needs else rng.uniform(11, 34)
    classification_bl = {
        "class_date": iso(enrol),
        "fever_onset_date": iso(fever_onset),
        "fever_pattern": "1" if rng.random() < 0.85 else "2",
        "fever_max_ever": f1(rng.uniform(39.2, 40.8)),
        "fever39_1wk": "1",
        "ilar_fever_2wk": "1",
        "ilar_quotidian_3d": "1",
        "printo_fever": "1",
        "feat_arthritis": "1" if established else "0",
        **({"arthritis_onset_date": iso(arthritis_onset), "feat_arth_6wk": "1"} if arthritis_onset else {}),
        "feat_arthralgia_2wk": yn(not established and rng.random() < 0.6),
        "feat_rash": yn(features["rash"]),
        "feat_gen_lad": yn(features["gen_lad"]),
        "feat_hepatomeg": yn(features["hepatomeg"]),
        "feat_splenomeg": yn(features["splenomeg"]),
        **ticks("feat_serositis", ["1", "2", "3"], serositis),
        "feat_serositis___0": yn(not serositis),
        "feat_sore_throat": yn(features["sore_throat"]),
        "feat_lft_abn": yn(features["lft_abn"]),
        "wbc_peak": f1(wbc_peak),
        "neut_pct_peak": f1(rng.uniform(72, 92)),
        "feat_leuko_neutro": yn(wbc_peak >= 15),
        "ana_result": "1",
        "rf_result": "1",
        **ticks("ilar_excl", ["1", "2", "3", "4"], set()),
        "ilar_excl___0": "1",
        "still_2024": "1",
        "working_dx": "2" if established else "1",
    }
    p.forms[(BL, "classification", 1)] = classification_bl

    # --- differential-diagnosis work-up ----------------------------------------------------------
    p.forms[(BL, "ddx_workup", 1)] = ddx_workup(rng, enrol, fever_onset, established=established, genetic=genetic)

    # --- anakinra start --------------------------------------------------------------------------
    wt0 = max(10.0, (2.2 * age + 8.5) * rng.uniform(0.88, 1.12))
    ht0 = 76 + 6.2 * age + rng.uniform(-4, 4)
    first_time = time(rng.randint(10, 15), rng.choice((0, 15, 30, 45)))
    start_dose = min(100.0, round(2 * wt0))
    p.forms[(BL, "anakinra_start", 1)] = {
        "ana_first_date": iso(enrol),
        "ana_first_time": first_time.strftime("%H:%M"),
        "ana_protocol": "1" if course.escalated or rng.random() < 0.7 else "2",
        "ana_first_wt_kg": f1(wt0),
        "ana_first_daily_mg": f1(start_dose),
    }

    def weight(t: int) -> float:
        # 7 % a year: slower than real growth in toddlers, but it keeps the >10 % weight-change rule
        # (R16) for the errors planted on purpose.
        return wt0 * (1 + 0.07 * t / 365.25)

    site_units = {"hb_unit": "2" if plan.site_number != 3 else "1", "crp_unit": "1" if plan.site_number != 3 else "2"}
    visits: list[tuple[str, int]] = [(BL, 0)]
    for event, target, jitter in SCHEDULE:
        t = target + rng.randint(-jitter, jitter)
        if enrol + timedelta(days=t) <= CUTOFF:
            visits.append((event, t))
    # [previous-event-name] at the unscheduled event is month 60 (REDCap's event order), so a MAS
    # visit in a record followed to month 60 would compare its weight with one five years later.
    if course.mas_day is not None and any(event == "month_60_arm_1" for event, _t in visits):
        course.mas_day = None
    periods = anakinra_periods(rng, course, enrol, weight, start_dose, needs)

    # --- visits ----------------------------------------------------------------------------------
    for event, t in visits:
        visit_date = enrol + timedelta(days=t)
        key = (event, "disease_activity", 1)
        p.forms[key] = disease_activity(
            rng, course, t, visit_date, weight(t), ht0 + 6 * t / 365.25, site_units, established=established
        )
        if event == "day_3_arm_1":
            for name in NOT_DONE_AT_DAY_3:
                p.forms[key].pop(name, None)
            p.missing[key] = {name: "ND" for name in NOT_DONE_AT_DAY_3}
        if biobank and event in BIOMARKER_EVENTS:
            lymph = float(p.forms[key]["lymph"])
            p.forms[(event, "biomarker_sample", 1)] = biomarker_sample(
                rng, course, t, visit_date, first_time, lymph, plan, event
            )
        if event != BL:
            p.forms[(event, "followup_status", 1)] = followup_status(
                rng, course, t, visits, event, established, p.forms[key]
            )
        if event in CLASSIFICATION_EVENTS:
            later = dict(classification_bl)
            later["class_date"] = iso(visit_date)
            if course.arthritis_day is not None and course.arthritis_day <= t:
                onset = enrol + timedelta(days=course.arthritis_day)
                later.update(
                    {
                        "feat_arthritis": "2",
                        "arthritis_onset_date": iso(onset),
                        "feat_arth_6wk": "1",
                        "working_dx": "2",
                        "reclass_date": iso(visit_date),
                    }
                )
            p.forms[(event, "classification", 1)] = later

    # --- MAS: an unscheduled visit, the adverse event and its treatment ----------------------------
    ae_rows: list[dict[str, str]] = []
    conmeds: list[dict[str, str]] = []
    mas_day = course.mas_day
    if mas_day is not None:
        mas_date = enrol + timedelta(days=mas_day)
        key = (UNSCHEDULED, "disease_activity", 1)
        p.forms[key] = mas_visit(rng, mas_date, weight(mas_day), ht0 + 6 * mas_day / 365.25, site_units)
        p.forms[(UNSCHEDULED, "followup_status", 1)] = {
            "flare_since_last": "1",
            "flare_type": "4",
            "on_anakinra": "1",
            "on_gc": "1",
            "resp_investigator": "4",
            "fu_status": "1",
            **({"arthritis_new": "0"} if not established else {}),
        }
        ferritin_peak = int(p.forms[key]["ferritin"])
        ae_rows.append(mas_adverse_event(rng, mas_date, ferritin_peak))
        conmeds.append(
            {
                "cm_drug": "2",
                "cm_indication": "2",
                "cm_start": iso(mas_date),
                "cm_ongoing": "0",
                "cm_end": iso(mas_date + timedelta(days=2)),
                "cm_daily_mg": f2(min(1000, int(20 * weight(mas_day)))),
                "cm_wt_kg": f1(weight(mas_day)),
                "cm_freq": "2",
                "cm_route": "2",
            }
        )

    # --- other adverse events --------------------------------------------------------------------
    n_other = 1 if rng.random() < 0.45 else 0
    if needs & {"adverse_event", "serious_adverse_event"}:
        n_other = max(n_other, 1)
    for i in range(n_other):
        serious = "serious_adverse_event" in needs and i == 0
        ae_rows.append(other_adverse_event(rng, enrol, serious=serious, resolved="adverse_event" in needs))
    for n, row in enumerate(sorted(ae_rows, key=lambda r: r["ae_start"]), start=1):
        p.forms[(LOGS, "adverse_event", n)] = row

    # --- anakinra dosing intervals (decided before the visits, which record whether it is taken) ----
    for n, row in enumerate(periods, start=1):
        p.forms[(LOGS, "anakinra_period", n)] = row

    # --- concomitant medication ------------------------------------------------------------------
    if p.forms[(BL, "enrollment", 1)]["nsaid_trial"] == "1":
        conmeds.append(
            {
                "cm_drug": "10",
                "cm_indication": "1",
                "cm_start": iso(fever_onset + timedelta(days=5)),
                "cm_ongoing": "0",
                "cm_end": iso(enrol + timedelta(days=rng.randint(3, 14))),
                "cm_daily_mg": f2(round(15 * wt0)),
                "cm_freq": "3",
                "cm_route": "1",
            }
        )
    if not steroid_naive:
        conmeds.append(
            {
                "cm_drug": "1",
                "cm_indication": "1",
                "cm_start": iso(enrol - timedelta(days=rng.randint(5, 20))),
                "cm_ongoing": "0",
                "cm_end": iso(enrol + timedelta(days=rng.randint(14, 42))),
                "cm_daily_mg": f2(round(wt0)),
                "cm_wt_kg": f1(wt0),
                "cm_freq": "2",
                "cm_route": "1",
            }
        )
    for n, row in enumerate(sorted(conmeds, key=lambda r: r["cm_start"]), start=1):
        p.forms[(LOGS, "conmed", n)] = row
    return p


def ddx_workup(rng: random.Random, enrol: date, fever_onset: date, *, established: bool, genetic: bool) -> dict:
    suspected = not established
    values: dict[str, str] = {}
    for x in PATHOGENS:
        done = suspected or x in ("ebv", "cmv", "parvo", "myco", "strep") or rng.random() < 0.4
        values[f"inf_{x}_res"] = "1" if done else "0"
        if done:
            values.update(ticks(f"inf_{x}_meth", ["1", "2", "3", "4", "5", "6", "7"], {"1"} if x != "tb" else {"7"}))
    workup_day = fever_onset + timedelta(days=max(1, (enrol - fever_onset).days // 2))
    values.update(
        {
            "bc_done": "1",
            "bc_sets": str(rng.randint(1, 3)),
            "bc_result": "1",
            "uc_result": "1",
            "pct": f2(rng.uniform(0.1, 1.5)),
            "bma_done": yn(suspected or rng.random() < 0.3),
            "periph_blasts": "1",
            "urine_cat": "1" if suspected else "0",
        }
    )
    if values["bma_done"] == "1":
        values.update(
            {
                "bma_date": iso(workup_day),
                "bma_on_gc": "0",
                **ticks("bma_find", [str(c) for c in range(1, 9)], {"1"}),
                "bma_hemophago": "0",
                "bma_flow": "1",
            }
        )
    for m in IMAGING:
        done = m in ("cxr", "abd_us", "echo") or (suspected and m in ("ct", "petct") and rng.random() < 0.6)
        values[f"img_{m}_done"] = yn(done)
        if done:
            values[f"img_{m}_date"] = iso(workup_day)
            values.update(ticks(f"img_{m}_find", [str(c) for c in range(1, 15)], {"1"}))
    if genetic:
        panel = suspected
        values.update({"gen_ai_done": yn(panel), "gen_hlh_done": yn(panel)})
        if panel:
            values.update(
                {
                    **ticks("gen_ai_genes", [str(c) for c in range(1, 10)], {"1", "2", "3", "4"}),
                    "gen_ai_method": "1",
                    "gen_ai_res": "1",
                    **ticks("gen_hlh_genes", [str(c) for c in range(1, 10)], {"1", "2", "3", "4"}),
                    "gen_hlh_res": "1",
                }
            )
    values.update(
        {
            "hlh_func_screen": "1" if rng.random() < 0.7 else "3",
            "kd_considered": yn(suspected),
            "ibd_considered": "0",
            "vasc_considered": "0",
            "misc_considered": "0",
            "ddx_conclusion": "1",
            "ddx_date": iso(enrol),
        }
    )
    if suspected:
        values.update({"kd_features_n": str(rng.randint(1, 2)), "kd_conclusion": "1"})
    return values


def disease_activity(
    rng, course: Course, t: int, visit_date: date, wt: float, ht: float, units: dict, *, established: bool
) -> dict[str, str]:
    inactive = course.inactive(t)
    a_crp, a_ferr, a_esr = course.activity(t, 3.5), course.activity(t, 9), course.activity(t, 16)
    a_sys = course.activity(t, 4)
    fever_days = 0 if inactive else course.fever_days(t)
    febrile_now = fever_days >= 2 or t <= 0
    crp = rng.uniform(0.3, 4.0) if inactive else max(0.5, course.crp0 * a_crp * rng.uniform(0.85, 1.15))
    esr = rng.randint(2, 15) if inactive else max(3, round(course.esr0 * a_esr * rng.uniform(0.9, 1.1)) + 4)
    ferritin = rng.randint(15, 80) if inactive else max(20, round(course.ferr0 * a_ferr * rng.uniform(0.85, 1.15)))
    apr_normal = esr <= 20 and crp <= 5
    systemic = not inactive and (t <= 0 or a_sys > 0.35 or course.flaring(t))
    if t <= 0:
        features = {k: course.rng.random() < 0.6 for k in ("rash", "gen_lad", "hepatomeg", "splenomeg")}
        features["rash"] = True
    else:
        features = {k: systemic and rng.random() < 0.3 for k in ("rash", "gen_lad", "hepatomeg", "splenomeg")}
    if established:
        ajc = 0 if inactive else round(course.ajc0 * course.activity(t, 30))
    else:
        ajc = rng.randint(1, 3) if course.new_arthritis(t) else 0
    if course.flaring(t) and established:
        ajc = max(ajc, 2)
    phys = 0.0 if inactive else max(0.5, round(course.pga0 * max(a_sys, a_esr, 0.15) * 2) / 2)
    parent = rng.choice((0.0, 0.5, 1.0)) if inactive else max(0.5, round((course.pga0 - 1) * max(a_sys, 0.2) * 2) / 2)
    chaq = 0.0 if inactive else round(course.chaq0 * max(a_esr, 0.1) * 8) / 8
    t24 = rng.uniform(38.4, 40.0) if febrile_now and fever_days else rng.uniform(36.4, 37.4)
    t7 = max(t24, rng.uniform(38.3, 40.2)) if fever_days else max(t24, rng.uniform(36.6, 37.5))
    wbc = 8 + (rng.uniform(14, 24) - 8) * a_esr if not inactive else rng.uniform(5.5, 10)
    lymph = rng.uniform(1.6, 3.8)
    plt = round(300 + (rng.uniform(450, 700) - 300) * a_esr) if not inactive else rng.randint(200, 380)
    hb_gdl = 12.2 - 2.8 * a_esr + rng.uniform(-0.4, 0.4)
    hb = hb_gdl / 1.611 if units["hb_unit"] == "2" else hb_gdl
    crp_stored = crp / 10 if units["crp_unit"] == "2" else crp
    values = {
        "visit_date": iso(visit_date),
        "wt_kg": f1(wt * rng.uniform(0.995, 1.005)),
        "ht_cm": f1(ht),
        "temp_max_24h": f1(t24),
        "temp_max_7d": f1(t7),
        "fever_days_7d": str(fever_days),
        "fever_now": yn(t24 >= 38.0),
        "rash": yn(features["rash"]),
        "gen_lad": yn(features["gen_lad"]),
        "hepatomeg": yn(features["hepatomeg"]),
        "splenomeg": yn(features["splenomeg"]),
        "serositis": yn(t <= 0 and course.rng.random() < 0.1),
        "uveitis_active": "0",
        "morning_stiff_min": str(
            rng.randint(0, 10) if inactive else rng.randint(20, 90) if ajc else rng.randint(0, 20)
        ),
        "ajc": str(ajc),
        "ajc27": str(min(ajc, round(ajc * 0.8))),
        "lom_cnt": str(round(ajc * 0.6)),
        "phys_global": f"{phys:g}",
        "parent_global": f"{parent:g}",
        "pg_respondent": "1" if rng.random() < 0.8 else "3",
        "pain_nrs": f1(min(10.0, parent + rng.uniform(0, 1))),
        "chaq_di": f"{chaq:.3f}",
        "lab_date": iso(visit_date),
        "esr": str(esr),
        "esr_uln": "20",
        "crp": f1(crp_stored) if units["crp_unit"] == "1" else f2(crp_stored).rstrip("0").rstrip("."),
        "crp_unit": units["crp_unit"],
        "crp_uln": "5",
        "ferritin": str(ferritin),
        "hb": f1(hb),
        "hb_unit": units["hb_unit"],
        "wbc": f1(wbc),
        "anc": f2(wbc * (0.45 + 0.3 * a_esr)),
        "lymph": f2(lymph),
        "plt": str(plt),
        "alt": str(rng.randint(8, 32)),
        "ast": str(rng.randint(18, 42)),
        "ldh": str(round(rng.uniform(220, 380) * (1 + a_esr))),
        "tg": f2(rng.uniform(0.7, 1.6)),
        "tg_unit": "1",
        "fibrinogen": f2(rng.uniform(2.2, 3.0) + 3.0 * a_esr),
        "fib_unit": "1",
        "ddimer": f2(rng.uniform(0.2, 0.5) + 2.0 * a_esr),
        "dd_unit": "1",
        "apr_normal": yn(apr_normal),
    }
    if units["crp_unit"] == "2":
        values["crp"] = f1(crp_stored) if crp_stored >= 1 else f2(crp_stored)
    values["cid_investigator"] = yn(wallace_inactive(values))
    if ferritin > 10000:
        values["mas_clin_assess"] = "0"
    return values


def wallace_inactive(v: dict[str, str]) -> bool:
    """The Wallace criteria as the study's cid_wallace calc states them: the investigator agrees."""
    return (
        v["ajc"] == "0"
        and v["fever_days_7d"] == "0"
        and v["rash"] == "0"
        and v["serositis"] == "0"
        and v["splenomeg"] == "0"
        and v["gen_lad"] == "0"
        and v["uveitis_active"] == "0"
        and v["apr_normal"] == "1"
        and float(v["phys_global"]) == 0
    )


def mas_visit(rng: random.Random, d: date, wt: float, ht: float, units: dict) -> dict[str, str]:
    """An unscheduled visit for macrophage activation syndrome: the 2016 criteria are met."""
    crp = rng.uniform(60, 160)
    hb_gdl = rng.uniform(8.0, 9.5)
    values = {
        "visit_date": iso(d),
        "wt_kg": f1(wt),
        "ht_cm": f1(ht),
        "temp_max_24h": f1(rng.uniform(39.0, 40.5)),
        "temp_max_7d": "40.6",
        "fever_days_7d": str(rng.randint(3, 6)),
        "fever_now": "1",
        "rash": "0",
        "gen_lad": "1",
        "hepatomeg": "1",
        "splenomeg": "1",
        "serositis": "0",
        "uveitis_active": "0",
        "morning_stiff_min": "0",
        "ajc": "0",
        "ajc27": "0",
        "lom_cnt": "0",
        "phys_global": "8.5",
        "parent_global": "8",
        "pg_respondent": "1",
        "chaq_di": "1.500",
        "lab_date": iso(d),
        "esr": str(rng.randint(8, 25)),
        "esr_uln": "20",
        "crp": f1(crp if units["crp_unit"] == "1" else crp / 10),
        "crp_unit": units["crp_unit"],
        "crp_uln": "5",
        "ferritin": str(rng.randint(8000, 26000)),
        "hb": f1(hb_gdl / 1.611 if units["hb_unit"] == "2" else hb_gdl),
        "hb_unit": units["hb_unit"],
        "wbc": f1(rng.uniform(3.0, 5.5)),
        "anc": f2(rng.uniform(1.5, 3.0)),
        "lymph": f2(rng.uniform(0.8, 1.5)),
        "plt": str(rng.randint(70, 170)),
        "alt": str(rng.randint(80, 260)),
        "ast": str(rng.randint(90, 320)),
        "ldh": str(rng.randint(900, 2400)),
        "tg": f2(rng.uniform(2.4, 4.2)),
        "tg_unit": "1",
        "fibrinogen": f2(rng.uniform(1.1, 2.2)),
        "fib_unit": "1",
        "ddimer": f2(rng.uniform(4, 14)),
        "dd_unit": "1",
        "apr_normal": "0",
        "mas_clin_assess": "2",
        "cid_investigator": "0",
    }
    return values


def biomarker_sample(
    rng, course: Course, t: int, d: date, first_time: time, lymph: float, plan: PatientPlan, event: str
) -> dict[str, str]:
    inactive = course.inactive(t)
    a_il18 = course.activity(t, 60)
    a_mrp = course.activity(t, 10)
    drawn = time(8, rng.choice((0, 15, 30))) if t == 0 else time(rng.randint(9, 12), rng.choice((0, 20, 40)))
    processed = datetime.combine(d, drawn) + timedelta(minutes=rng.randint(45, 180))
    recovery = 1 - 0.5 ** (max(t, 0) / 45)
    lysis25 = course.lysis0 + (course.lysis_late - course.lysis0) * recovery
    nk_pct = course.nk_pct0 + 4 * recovery
    nk_abs = nk_pct / 100 * lymph * 1000 * rng.uniform(0.95, 1.05)
    bright = rng.uniform(4, 14)
    values = {
        "bm_sample_id": f"{plan.record_id}-{event.split('_arm')[0].upper()}",
        "bm_datetime": iso_dt(d, drawn),
        "bm_proc_datetime": processed.strftime("%Y-%m-%d %H:%M"),
        **ticks("bm_type", ["1", "2", "3", "4", "5", "6"], {"1", "4"}),
        "bm_lab": "1",
        "bm_batch": f"B{d.year}-{(d.month - 1) // 3 + 1}",
        "bm_haemolysis": "0",
        "il18_assay": "1",
        "il18": str(round(max(300.0, course.il18_0 * (0.15 + 0.85 * a_il18)) * rng.uniform(0.9, 1.1))),
        "il18_flag": "0",
        "il18bp": str(round(rng.uniform(2000, 9000))),
        "mrp_assay": "1",
        "mrp814": str(round(rng.uniform(300, 900) if inactive else max(400.0, course.mrp0 * a_mrp))),
        "s100a12": str(round(rng.uniform(40, 200) if inactive else max(60.0, course.s100_0 * a_mrp))),
        "sil2r": str(round(rng.uniform(400, 900) + 2500 * course.activity(t, 7))),
        "sil2r_unit": "1",
        "nk_abs": str(round(nk_abs)),
        "nk_pct_lymph": f1(nk_pct),
        "nk_cd56bright": f1(bright),
        "nk_cd56dim": f1(100 - bright - rng.uniform(0.5, 2.5)),
        "nk_perforin": f1(rng.uniform(55, 88)),
        "nk_grzb": f1(rng.uniform(55, 90)),
        "nk_cd107a_stim": f1(8 + 20 * recovery + rng.uniform(-2, 2)),
        "nk_cd107a_bg": f1(rng.uniform(0.5, 3.5)),
        "nk_lysis_method": "1",
        "nk_effector": "1",
        "nk_lysis_50": f1(min(88.0, lysis25 * 1.35)),
        "nk_lysis_25": f1(lysis25),
        "nk_lysis_12": f1(lysis25 * 0.65),
        "nk_lysis_6": f1(lysis25 * 0.4),
        "nk_ctrl_lysis_25": f1(rng.uniform(32, 45)),
    }
    if t > 0:
        values["bm_hours_post_dose"] = f1(rng.uniform(2, 22))
    return values


def followup_status(
    rng, course: Course, t: int, visits: list[tuple[str, int]], event: str, established: bool, activity: dict[str, str]
) -> dict[str, str]:
    previous_t = max((vt for _e, vt in visits if vt < t), default=0)
    flare = course.flare_day is not None and previous_t < course.flare_day <= t
    mas = course.mas_day is not None and previous_t < course.mas_day <= t
    inactive = activity["cid_investigator"] == "1"
    on_anakinra = t < course_stop_day(course)
    values = {
        "flare_since_last": yn(flare or mas),
        "on_anakinra": yn(on_anakinra),
        "on_gc": "0",
        "resp_investigator": "1" if inactive else "4" if flare else "2" if course.response != "none" else "3",
        "fu_status": "1",
    }
    if flare or mas:
        values["flare_type"] = "4" if mas else "1"
    if not established:
        new = course.arthritis_day is not None and previous_t < course.arthritis_day <= t
        values["arthritis_new"] = yn(new)
    return values


def course_stop_day(course: Course) -> int:
    """The study day anakinra stops (a planned stop after inactive disease, or a switch); 10**6 = never."""
    return course.__dict__.get("stop_day", 10**6)


def anakinra_periods(rng, course: Course, enrol: date, weight, start_dose: float, needs: frozenset[str]) -> list[dict]:
    """Constant dosing intervals: start, escalation, MAS, taper, stop; the last one may be ongoing."""
    periods: list[tuple[int, str, str, float]] = []  # (start day, reason, frequency, mg per administration)

    def dose(mgkg: float, t: int, cap: float) -> float:
        return float(min(cap, round(mgkg * weight(t))))

    periods.append((0, "7" if start_dose >= 100 else "1", "1", start_dose))
    if course.escalated:
        periods.append((3, "2", "1", dose(4, 3, 200)))
    if course.mas_day is not None:
        periods.append((course.mas_day, "3", "2", dose(2, course.mas_day, 100)))  # 2 mg/kg twice a day
        periods.append((course.mas_day + 21, "6", "1", dose(2, course.mas_day + 21, 100)))
    stop_day, stop_reason = None, ""
    if course.response == "complete" and "anakinra_ongoing" not in needs:
        taper = max(course.t_inactive + 60, 100) + rng.randint(0, 30)
        if "anakinra_stopped" in needs or rng.random() < 0.7:
            periods.append((taper, "5", "3", dose(2, taper, 100)))
            stop_day, stop_reason = taper + rng.randint(56, 120), "1"
    elif course.response == "none" and "anakinra_ongoing" not in needs:
        stop_day, stop_reason = rng.randint(60, 100), "2"
    cutoff_day = (CUTOFF - enrol).days
    if stop_day is not None and stop_day > cutoff_day:
        stop_day = None
    periods = [p for p in sorted(periods) if p[0] <= cutoff_day and (stop_day is None or p[0] < stop_day)]
    course.__dict__["stop_day"] = stop_day if stop_day is not None else 10**6
    rows = []
    for i, (start, reason, freq, mg) in enumerate(periods):
        end = periods[i + 1][0] - 1 if i + 1 < len(periods) else stop_day
        wt = weight(start)
        row = {
            "ana_start": iso(enrol + timedelta(days=start)),
            "ana_ongoing": yn(end is None),
            "ana_wt_kg": f1(wt),
            "ana_route": "1",
            "ana_dose_mg": f1(mg),
            "ana_freq": freq,
            "ana_dose_reason": reason,
            "ana_interrupt": "0",
            "ana_missed_4wk": "0",
        }
        if end is not None:
            row["ana_end"] = iso(enrol + timedelta(days=end))
            row["ana_stop"] = yn(i + 1 == len(periods))
            if row["ana_stop"] == "1":
                row["ana_stop_reason"] = stop_reason
        rows.append(row)
    return rows


def mas_adverse_event(rng: random.Random, d: date, ferritin_peak: int) -> dict[str, str]:
    aware = d
    return {
        "ae_term": "Macrophage activation syndrome",
        "ae_category": "3",
        "ae_start": iso(d),
        "ae_ongoing": "0",
        "ae_end": iso(d + timedelta(days=rng.randint(10, 24))),
        "ae_aware_date": iso(aware),
        "ae_grade": "4",
        "ae_serious": "1",
        **ticks("ae_sae_crit", ["1", "2", "3", "4", "5", "6"], {"2", "3"}),
        "ae_sae_rep_date": iso(aware),
        "ae_rel_ana": "2",
        "ae_action": "2",
        "ae_outcome": "1",
        "mas_onset": iso(d),
        "mas_ferr_peak": str(ferritin_peak),
        "mas_crit_met": "1",
        **ticks("mas_trigger", ["1", "2", "3", "4"], {"2"}),
        **ticks("mas_treat", [str(c) for c in range(1, 11)], {"1", "3"}),
        "mas_icu": "0",
    }


def other_adverse_event(rng: random.Random, enrol: date, *, serious: bool, resolved: bool) -> dict[str, str]:
    kind = "infection" if serious or rng.random() < 0.6 else "isr"
    cutoff_day = (CUTOFF - enrol).days
    start = enrol + timedelta(days=rng.randint(5, min(300, cutoff_day - 40)))
    aware = start + timedelta(days=rng.randint(0, 2))
    values = {
        "ae_start": iso(start),
        "ae_aware_date": iso(aware),
        "ae_ongoing": "0",
        "ae_end": iso(start + timedelta(days=rng.randint(3, 21))),
    }
    if kind == "infection":
        values.update(
            {
                "ae_term": "Pneumonia" if serious else "Upper respiratory tract infection",
                "ae_category": "1",
                "ae_grade": "3" if serious else "1",
                "ae_serious": yn(serious),
                "ae_rel_ana": "3" if serious else "2",
                "ae_action": "4" if serious else "1",
                "ae_outcome": "1",
                "inf_site": "2" if serious else "1",
                "inf_type": "1" if serious else "2",
                "inf_opportun": "0",
                "inf_iv_abx": yn(serious),
            }
        )
        if serious:
            values.update(
                {
                    **ticks("ae_sae_crit", ["1", "2", "3", "4", "5", "6"], {"3"}),
                    "ae_sae_rep_date": iso(aware + timedelta(days=rng.randint(0, 1))),
                }
            )
    else:
        values.update(
            {
                "ae_term": "Injection-site reaction",
                "ae_category": "2",
                "ae_grade": "1",
                "ae_serious": "0",
                "ae_rel_ana": "5",
                "ae_action": "1",
                "ae_outcome": "1",
                "isr_max_cm": f1(rng.uniform(2, 6)),
                "isr_days": str(rng.randint(2, 10)),
                **ticks("isr_sympt", ["1", "2", "3", "4", "5", "6"], {"1", "2"}),
            }
        )
    if not resolved and rng.random() < 0.1:
        values["ae_ongoing"] = "1"
        values.pop("ae_end")
    return values
