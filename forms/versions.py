"""Design snapshots: read a version into plain objects, and write a new version from them.

Every import works the same way: load the current design, replace the part the file describes
(fields, events, arms, mapping, repeating setup), validate, and save it whole as version N+1.
Versions are never edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from django.db import transaction

from forms.models import (
    Arm,
    Event,
    EventInstrument,
    Field,
    Instrument,
    MissingDataCode,
    Project,
    ProjectVersion,
    RepeatingSetup,
)


@dataclass
class FieldSpec:
    name: str
    form: str
    field_type: str
    label: str = ""
    choices_raw: str = ""
    choices: list[list[str]] = field(default_factory=list)
    section_header: str = ""
    field_note: str = ""
    validation: str = ""
    validation_min: str = ""
    validation_max: str = ""
    identifier: bool = False
    branching_logic: str = ""
    required: bool = False
    custom_alignment: str = ""
    question_number: str = ""
    matrix_group: str = ""
    matrix_ranking: bool = False
    annotation: str = ""
    action_tags: list[dict[str, str]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    row: int | None = None  # the source row, for messages; not stored


MODEL_FIELDS = tuple(f.name for f in fields(FieldSpec) if f.name not in ("form", "row"))


@dataclass
class FormSpec:
    name: str
    label: str


@dataclass
class ArmSpec:
    number: int
    name: str


@dataclass
class EventSpec:
    unique_name: str
    arm: int
    label: str
    day_offset: float = 0
    offset_min: float = 0
    offset_max: float = 0
    custom_label: str = ""


@dataclass
class RepeatSpec:
    event: str | None  # unique event name; None in classic projects
    form: str | None  # None: the whole event repeats
    custom_label: str = ""


@dataclass
class Design:
    forms: list[FormSpec] = field(default_factory=list)
    fields: list[FieldSpec] = field(default_factory=list)
    arms: list[ArmSpec] = field(default_factory=list)
    events: list[EventSpec] = field(default_factory=list)
    mapping: list[tuple[str, str]] = field(default_factory=list)  # (unique event name, form)
    repeating: list[RepeatSpec] = field(default_factory=list)
    missing_codes: list[tuple[str, str]] = field(default_factory=list)

    def form_names(self) -> set[str]:
        return {f.name for f in self.forms}

    def event_names(self) -> set[str]:
        return {e.unique_name for e in self.events}


def form_label(name: str) -> str:
    """REDCap's label for a form first met in a dictionary: the name with spaces, capitalised."""
    return " ".join(word.capitalize() for word in name.split("_") if word) or name


def load_design(version: ProjectVersion | None) -> Design:
    design = Design()
    if version is None:
        return design
    instruments = list(Instrument.objects.filter(version=version).order_by("order"))
    by_id = {i.pk: i.name for i in instruments}
    design.forms = [FormSpec(i.name, i.label) for i in instruments]
    for f in Field.objects.filter(version=version).order_by("order"):
        spec = FieldSpec(name=f.name, form=by_id[f.instrument_id], field_type=f.field_type)
        for attr in MODEL_FIELDS:
            setattr(spec, attr, getattr(f, attr))
        design.fields.append(spec)
    arms = {a.pk: a.number for a in Arm.objects.filter(version=version)}
    design.arms = [ArmSpec(a.number, a.name) for a in Arm.objects.filter(version=version).order_by("number")]
    events = list(Event.objects.filter(version=version).order_by("order"))
    event_names = {e.pk: e.unique_name for e in events}
    design.events = [
        EventSpec(e.unique_name, arms[e.arm_id], e.label, e.day_offset, e.offset_min, e.offset_max, e.custom_label)
        for e in events
    ]
    design.mapping = [
        (event_names[m.event_id], by_id[m.instrument_id])
        for m in EventInstrument.objects.filter(version=version).order_by("event__order", "instrument__order")
    ]
    design.repeating = [
        RepeatSpec(event_names.get(r.event_id), by_id.get(r.instrument_id), r.custom_label)
        for r in RepeatingSetup.objects.filter(version=version).order_by("pk")
    ]
    design.missing_codes = [
        (m.code, m.label) for m in MissingDataCode.objects.filter(version=version).order_by("order")
    ]
    return design


def save_design(
    project: Project,
    design: Design,
    *,
    user=None,
    source_sha256: str = "",
    source_name: str = "",
    note: str = "",
    diff: dict | None = None,
) -> ProjectVersion:
    """Write `design` as the project's next version and make it current. The caller holds the project lock."""
    with transaction.atomic():
        last = project.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = ProjectVersion.objects.create(
            project=project,
            number=last + 1,
            created_by=user if user is not None and user.is_authenticated else None,
            source_sha256=source_sha256,
            source_name=source_name[:255],
            note=note,
            diff=diff or {},
        )
        instruments = Instrument.objects.bulk_create(
            [Instrument(version=version, name=f.name, label=f.label, order=i) for i, f in enumerate(design.forms)]
        )
        by_form = {i.name: i for i in instruments}
        Field.objects.bulk_create(
            [
                Field(
                    version=version,
                    instrument=by_form[spec.form],
                    order=order,
                    **{attr: getattr(spec, attr) for attr in MODEL_FIELDS},
                )
                for order, spec in enumerate(design.fields)
            ],
            batch_size=1000,
        )
        arms = Arm.objects.bulk_create([Arm(version=version, number=a.number, name=a.name) for a in design.arms])
        by_arm = {a.number: a for a in arms}
        events = Event.objects.bulk_create(
            [
                Event(
                    version=version,
                    arm=by_arm[e.arm],
                    unique_name=e.unique_name,
                    label=e.label,
                    day_offset=e.day_offset,
                    offset_min=e.offset_min,
                    offset_max=e.offset_max,
                    custom_label=e.custom_label,
                    order=i,
                )
                for i, e in enumerate(design.events)
            ]
        )
        by_event = {e.unique_name: e for e in events}
        EventInstrument.objects.bulk_create(
            [EventInstrument(version=version, event=by_event[e], instrument=by_form[f]) for e, f in design.mapping]
        )
        RepeatingSetup.objects.bulk_create(
            [
                RepeatingSetup(
                    version=version,
                    event=by_event[r.event] if r.event else None,
                    instrument=by_form[r.form] if r.form else None,
                    custom_label=r.custom_label,
                )
                for r in design.repeating
            ]
        )
        MissingDataCode.objects.bulk_create(
            [
                MissingDataCode(version=version, code=code, label=label, order=i)
                for i, (code, label) in enumerate(design.missing_codes)
            ]
        )
        project.current_version = version
        project.save(update_fields=["current_version"])
    return version
