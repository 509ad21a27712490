"""The synthetic SoJIA cohort: generated patients written with bulk inserts.

One save per form (form_save) would take hours for the 10,000-patient benchmark registry, so the
generator builds each record in memory, computes calcs and branching with the form engine's own
code (calcs.py), and writes records and form instances with bulk_create in batches, one
transaction per batch.

Audit: a bulk load does not write one audit row per field, as a form save does. Each record gets
ONE `bulk_load` row (source `import`) in the project's hash chain, carrying the number of form
instances and the SHA-256 of the record's stored data (canonical JSON of every form's values and
missing codes). That keeps the chain complete and verifiable (every record's origin and content
is sealed) at a cost of one row per record instead of ~2,000. Field-level history starts with the
first edit after the load; `replay_record` therefore does not rebuild bulk-loaded values.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field

from django.db import transaction

from forms.models import Project
from registry.demo.calcs import apply_calculations, complete_checkboxes
from registry.demo.clinical import ESTABLISHED, SUSPECTED, PatientPlan, simulate
from registry.demo.formatting import format_by_validation
from registry.demo.planted_errors import Planted, needs_by_record, plant
from registry.models import AuditSource, FormInstance, FormStatus, Record, Site, SiteCounter
from registry.services.audit import Change, audit_append
from registry.services.design import Design, design_of
from registry.services.records import format_record_id

BATCH_RECORDS = 250
MIN_SUSPECTED, MIN_ESTABLISHED = 5, 30


class CohortError(Exception):
    pass


@dataclass
class CohortSummary:
    records: int = 0
    suspected: int = 0
    established: int = 0
    form_instances: int = 0
    seconds: float = 0.0
    planted: list[Planted] = field(default_factory=list)


def cohort_plans(sites: list[Site], *, n_records: int, seed: int) -> list[PatientPlan]:
    """Who is who: record ids round-robin over the sites, and which patients are 'suspected'.

    A fifth of the patients are suspected (at least 5 when the cohort has 35 or more), the rest
    established; a planted error that needs arthritis at enrolment gets an established patient.
    """
    record_ids = [format_record_id(sites[i % len(sites)], i // len(sites) + 1) for i in range(n_records)]
    needs = needs_by_record()
    n_suspected = (
        max(MIN_SUSPECTED, round(n_records * 0.2)) if n_records >= MIN_SUSPECTED + MIN_ESTABLISHED else (n_records // 5)
    )
    candidates = [i for i, rid in enumerate(record_ids) if "arthritis_at_enrolment" not in needs.get(rid, ())]
    rng = random.Random(f"sojia-demo-cohorts:{seed}")  # noqa: S311 - synthetic data, not security
    suspected = set(rng.sample(candidates, min(n_suspected, len(candidates))))
    plans = []
    for i, rid in enumerate(record_ids):
        site = sites[i % len(sites)]
        plans.append(
            PatientPlan(
                index=i,
                record_id=rid,
                site_number=site_number(site, i % len(sites)),
                cohort=SUSPECTED if i in suspected else ESTABLISHED,
                needs=needs.get(rid, frozenset()),
            )
        )
    return plans


def site_number(site: Site, position: int) -> int:
    """The study's site code (the `site_id` choice) of a DAG named site_NN; else its position."""
    suffix = site.code.rsplit("_", 1)[-1]
    return int(suffix) if site.code.startswith("site_") and suffix.isdigit() else position + 1


def record_digest(instances: list[FormInstance]) -> str:
    canonical = sorted(([f.event, f.instrument, f.instance, f.data, f.missing] for f in instances), key=str)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def build_record(design: Design, plan: PatientPlan, site: Site, *, seed: int) -> tuple[Record, list, list[Planted]]:
    """One patient, in memory: raw values, errors planted, calcs and branching applied."""
    patient = simulate(plan, seed=seed)
    record = Record(project_id=design.project_id, site=site, record_id=plan.record_id)
    complete_checkboxes(design, patient.forms)
    # Before planting: a planted validation error (rule C) must keep its wrong shape.
    format_by_validation(design, patient.forms)
    planted = plant(plan.record_id, patient.forms, after_calcs=False)
    instances = apply_calculations(design=design, record=record, forms=patient.forms, missing=patient.missing)
    planted += plant(plan.record_id, patient.forms, after_calcs=True)
    for key, form in instances.items():
        form.data = patient.forms[key]
        form.status = FormStatus.COMPLETE
        form.metadata_version = design.version_number
    return record, list(instances.values()), planted


def generate_cohort(project: Project, *, n_records: int, seed: int, user=None) -> CohortSummary:
    """Generate and store `n_records` synthetic patients over the project's sites (deterministic for a seed).

    Refuses a project that already has records: the cohort is loaded once, never merged.
    """
    started = time.monotonic()
    design = design_of(project)
    sites = list(Site.objects.filter(project=project).order_by("code"))
    if not sites:
        raise CohortError("the project has no sites to enrol the cohort at")
    if Record.objects.filter(project=project).exists():
        raise CohortError("the project already has records; the demo cohort is only loaded into an empty project")
    plans = cohort_plans(sites, n_records=n_records, seed=seed)
    summary = CohortSummary()
    for start in range(0, len(plans), BATCH_RECORDS):
        batch = plans[start : start + BATCH_RECORDS]
        built = [build_record(design, plan, sites[plan.index % len(sites)], seed=seed) for plan in batch]
        with transaction.atomic():
            records = Record.objects.bulk_create([record for record, _forms, _planted in built])
            rows, changes = [], []
            for record, (_r, forms, planted) in zip(records, built, strict=True):
                for form in forms:
                    form.record = record
                rows.extend(forms)
                summary.planted.extend(planted)
                changes.append(
                    Change(
                        record_id=record.record_id,
                        details={
                            "site": record.site.code,
                            "form_instances": len(forms),
                            "sha256": record_digest(forms),
                            "generator": "registry.demo",
                            "seed": seed,
                        },
                    )
                )
            FormInstance.objects.bulk_create(rows, batch_size=2000)
            audit_append(
                project=project,
                action="bulk_load",
                changes=changes,
                user=user,
                source=AuditSource.IMPORT,
                reason="synthetic demo cohort",
            )
        summary.form_instances += len(rows)
    with transaction.atomic():
        for i, site in enumerate(sites):
            used = len(range(i, len(plans), len(sites)))
            counter, _ = SiteCounter.objects.select_for_update().get_or_create(site=site)
            counter.next_number = max(counter.next_number, used + 1)
            counter.save(update_fields=["next_number"])
    summary.records = len(plans)
    summary.suspected = sum(plan.cohort == SUSPECTED for plan in plans)
    summary.established = summary.records - summary.suspected
    summary.seconds = time.monotonic() - started
    return summary
