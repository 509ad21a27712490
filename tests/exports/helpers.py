"""A small SoJIA registry for export tests, entered through the real services (record_create + form_save)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from forms.design.services import import_study
from forms.models import Project
from registry.models import Record
from registry.services.entry import form_save
from registry.services.records import record_create
from tests.registry.factories import StudyWorld, build_world

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "fixtures" / "sojia"
IDENTIFIER_FIELDS = ("name_first", "name_last", "dob", "mrn", "postcode")


@dataclass
class Patient:
    record: Record
    identifiers: dict[str, str]
    dates: dict[tuple[str, str, int], str] = field(default_factory=dict)  # (event, field, instance) -> ISO date


def import_sojia(code: str = "sojia") -> Project:
    result = import_study(directory=STUDY, project_code=code)
    assert not result.errors, result.errors
    return Project.objects.get(code=code)


def build_sojia_world(code: str = "sojia") -> StudyWorld:
    return build_world(project=import_sojia(code))


def _save(scope, record, event, instrument, values, instance=1, **kwargs):
    return form_save(
        scope=scope, record=record, event=event, instrument=instrument, instance=instance, values=values, **kwargs
    )


def make_patients(world: StudyWorld, n: int = 6, seed: int = 7) -> list[Patient]:
    """Patients at both sites with identifiers, visits, a repeating instrument and a repeating event."""
    rng = random.Random(seed)
    patients = []
    for i in range(n):
        user = "coord_a" if i % 2 == 0 else "coord_b"
        scope = world.scope(user)
        record = record_create(scope=scope)
        enrol = date(2021, 1, 4) + timedelta(days=rng.randrange(600))
        dob = date(2008, 1, 1) + timedelta(days=rng.randrange(3000))
        ident = {
            "name_first": f"Zyxwina{i}",
            "name_last": f"Qorblatt{i}",
            "dob": dob.isoformat(),
            "mrn": f"MRX{9100000 + i * 7919}",
            "postcode": str(1000 + rng.randrange(9000)),
        }
        p = Patient(record, ident)
        _save(
            scope,
            record,
            "baseline_arm_1",
            "enrollment",
            {
                **ident,
                "data_source": "1",
                "consent_date": enrol.isoformat(),
                "consent_type": "1",
                "consent_biobank": "1",
                "sex": str(1 + i % 2),
                "country": "NLD",
                "cohort": "1",
                "enrol_date": enrol.isoformat(),
                "biobank_id": f"BB-{i:03d}",
            },
            status=2,
        )
        p.dates[("baseline_arm_1", "enrol_date", 1)] = enrol.isoformat()
        for k, event in enumerate(("baseline_arm_1", "day_3_arm_1", "month_1_arm_1")):
            visit = enrol + timedelta(days=(0, 3, 30)[k])
            _save(
                scope,
                record,
                event,
                "disease_activity",
                {
                    "visit_date": visit.isoformat(),
                    "wt_kg": f"{20 + i}.5",
                    "crp": f"{10 + k}.0",
                    "ferritin": str(300 + 100 * i + k),
                },
                missing={"esr": "ND"} if k == 1 else None,
            )
            p.dates[(event, "visit_date", 1)] = visit.isoformat()
        _save(
            scope,
            record,
            "baseline_arm_1",
            "biomarker_sample",
            {
                "bm_sample_id": f"S-{i}",
                "bm_datetime": f"{enrol.isoformat()} 09:3{i % 10}",
                "bm_type___1": "1",
                "bm_type___3": "1",
            },
        )
        for inst in (1, 2):
            start = enrol + timedelta(days=10 * inst)
            _save(
                scope,
                record,
                "logs_arm_1",
                "conmed",
                {
                    "cm_drug": "1",
                    "cm_indication": "1",
                    "cm_start": start.isoformat(),
                    "cm_ongoing": "1",
                },
                instance=inst,
            )
            p.dates[("logs_arm_1", "cm_start", inst)] = start.isoformat()
        unscheduled = enrol + timedelta(days=45)
        _save(
            scope, record, "unscheduled_arm_1", "disease_activity", {"visit_date": unscheduled.isoformat()}, instance=1
        )
        p.dates[("unscheduled_arm_1", "visit_date", 1)] = unscheduled.isoformat()
        patients.append(p)
    return patients


DEMO_COHORT_RECORDS = 40
DEMO_COHORT_SEED = 2011


def cohort_or_patients(world: StudyWorld) -> str:
    """Load the synthetic demo cohort (registry.demo.cohort) when it is there, else our own patients."""
    try:
        from registry.demo.cohort import generate_cohort
    except ImportError:
        make_patients(world, 8)
        return "tests.exports.helpers.make_patients"
    generate_cohort(world.project, n_records=DEMO_COHORT_RECORDS, seed=DEMO_COHORT_SEED)
    return "registry.demo.cohort.generate_cohort"


def identifier_values(project) -> dict[str, set[str]]:
    """Every identifier value of every patient: identifier fields, and the original record ids."""
    from registry.models import FormInstance, Record
    from registry.services.design import design_of

    design = design_of(project)
    fields = {name for name, f in design.field_map.items() if f.identifier}
    values: dict[str, set[str]] = {name: set() for name in fields}
    for data in FormInstance.objects.filter(record__project=project).values_list("data", flat=True):
        for name in fields & set(data):
            if data[name]:
                values[name].add(str(data[name]))
    values["record_id"] = set(Record.objects.filter(project=project).values_list("record_id", flat=True))
    return values
