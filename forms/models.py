"""Study metadata. The project is the root; the engine's versioned metadata hangs off it.

Every dictionary or design import creates a new `ProjectVersion`: a complete, immutable snapshot of
instruments, fields, arms, events, mapping, repeating setup and missing-data codes. Nothing in a
version is edited after it is created, which is why selectors may cache per version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from forms.logic.action_tags import calc_tag_expressions

T = TypeVar("T")

project_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_-]{1,39}$",
    "A project code is 2-40 lower-case letters, digits, '-' or '_', starting with a letter.",
)


class Project(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[project_code_validator])
    title = models.CharField(max_length=255)
    is_longitudinal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    current_version = models.ForeignKey(
        "ProjectVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Project switches such as {"reason_for_change": true}; free-form so new switches need no migration.
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def record_id_field(self) -> str | None:
        """Name of the record-id field: the first field of the current version (REDCap's rule)."""
        if self.current_version_id is None:
            return None
        first = Field.objects.filter(version_id=self.current_version_id).order_by("order").values("name").first()
        return first["name"] if first else None


class ProjectVersion(models.Model):
    """One complete snapshot of a project's design."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    # Field-level diff against the previous version (see forms/dictionary/diff.py for its shape).
    diff = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["project", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="version_number_unique_per_project")]

    def __str__(self) -> str:
        return f"{self.project.code} v{self.number}"


class Instrument(models.Model):
    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="instruments")
    name = models.CharField(max_length=100)
    label = models.CharField(max_length=255)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="instrument_name_unique_per_version")]

    def __str__(self) -> str:
        return self.name

    @property
    def complete_field(self) -> str:
        """REDCap's implicit form-status field."""
        return f"{self.name}_complete"


class FieldType(models.TextChoices):
    TEXT = "text"
    NOTES = "notes"
    DROPDOWN = "dropdown"
    RADIO = "radio"
    CHECKBOX = "checkbox"
    YESNO = "yesno"
    TRUEFALSE = "truefalse"
    CALC = "calc"
    FILE = "file"
    DESCRIPTIVE = "descriptive"
    SLIDER = "slider"
    SQL = "sql"


IMPLICIT_CHOICES = {
    FieldType.YESNO: [["1", "Yes"], ["0", "No"]],
    FieldType.TRUEFALSE: [["1", "True"], ["0", "False"]],
}

_CHECKBOX_CODE_DROP = re.compile(r"[^a-z0-9_]")


def checkbox_column(field_name: str, code: str) -> str:
    """REDCap's export column of one checkbox choice: `-` and `.` become `_`, lower-case, others dropped."""
    return f"{field_name}___{_CHECKBOX_CODE_DROP.sub('', code.replace('-', '_').replace('.', '_').lower())}"


class Field(models.Model):
    """One row of the data dictionary, parsed, with the row's raw cells kept alongside."""

    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="fields")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField()
    field_type = models.CharField(max_length=20, choices=FieldType.choices)
    label = models.TextField(blank=True)
    # Column F as exported: choices in canonical `code, label | ...` form, a calc expression, slider labels or SQL.
    choices_raw = models.TextField(blank=True)
    # [[code, label], ...] in file order; codes exactly as written ("-99", "Aa", "9..9").
    choices = models.JSONField(default=list, blank=True)
    section_header = models.TextField(blank=True)
    field_note = models.TextField(blank=True)
    validation = models.CharField(max_length=100, blank=True)
    validation_min = models.CharField(max_length=255, blank=True)
    validation_max = models.CharField(max_length=255, blank=True)
    identifier = models.BooleanField(default=False)
    branching_logic = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    custom_alignment = models.CharField(max_length=2, blank=True)
    question_number = models.TextField(blank=True)
    matrix_group = models.CharField(max_length=100, blank=True)
    matrix_ranking = models.BooleanField(default=False)
    annotation = models.TextField(blank=True)
    # [{"tag": "@DEFAULT", "argument": "1"}, ...] parsed from the annotation.
    action_tags = models.JSONField(default=list, blank=True)
    # The 18 cells exactly as read from the source file (17-column files get a blank 18th): provenance.
    raw = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="field_name_unique_per_version")]
        indexes = [models.Index(fields=["version", "order"])]

    def __str__(self) -> str:
        return self.name

    def choice_list(self) -> list[list[str]]:
        """Choices including the implicit ones of yesno and truefalse."""
        return IMPLICIT_CHOICES.get(self.field_type, self.choices)

    def choice_dict(self) -> dict[str, str]:
        return {code: label for code, label in self.choice_list()}

    def checkbox_columns(self) -> list[str]:
        """The `field___code` data columns of a checkbox, in choice order; [] for other types.

        Kept on the instance (a save asks for them a few times per field), and worked out again
        when the name or the choice list is replaced. Callers must not change the list.
        """
        if self.field_type != FieldType.CHECKBOX:
            return []
        return self.kept(
            "checkbox_columns",
            (self.choices, self.name),
            lambda: [checkbox_column(self.name, code) for code, _label in self.choices],
        )

    @property
    def is_calc(self) -> bool:
        return self.kept(
            "is_calc",
            (self.field_type, self.action_tags),
            lambda: (
                self.field_type == FieldType.CALC
                or any(t["tag"] in ("@CALCTEXT", "@CALCDATE") for t in self.action_tags)
            ),
        )

    def kept(self, name: str, inputs: tuple, compute: Callable[[], T]) -> T:
        """`compute()` kept on this field object until one of `inputs` is replaced or changed.

        A design's fields are loaded once per metadata version and asked the same things for every
        field of every save (is it a calc, its checkbox columns, its offered codes), so the answers
        are kept on them. Callers must not change what they get back.
        """
        cache = self.__dict__.setdefault("_kept", {})
        held = cache.get(name)
        # Tuple equality compares item by item, identity first: the same test as `a is b or a == b`
        # per input, without a generator (a save asks ~500 times).
        if held is None or held[0] != inputs:
            held = cache[name] = (inputs, compute())
        return held[1]

    @property
    def calc_expression(self) -> str | None:
        """The calculation as logic: column F of a calc field, else the @CALCTEXT argument or a
        `calcdate(...)` call made of the @CALCDATE arguments (as forms.logic.action_tags reads them)."""
        if self.field_type == FieldType.CALC:
            return self.choices_raw
        found = calc_tag_expressions(self.annotation or "")
        return found[0][1] if found else None

    @property
    def is_executable(self) -> bool:
        """False for sql fields: their SELECT is stored and exported but never run against any database."""
        return self.field_type != FieldType.SQL

    @property
    def has_data(self) -> bool:
        """Whether the field stores a value (descriptive fields only show text)."""
        return self.field_type != FieldType.DESCRIPTIVE


class Arm(models.Model):
    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="arms")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["version", "number"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="arm_number_unique_per_version")]

    def __str__(self) -> str:
        return f"Arm {self.number}: {self.name}"


class Event(models.Model):
    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="events")
    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="events")
    unique_name = models.CharField(max_length=100)
    label = models.CharField(max_length=255)
    day_offset = models.FloatField(default=0)
    offset_min = models.FloatField(default=0)
    offset_max = models.FloatField(default=0)
    custom_label = models.CharField(max_length=255, blank=True)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "unique_name"], name="event_unique_name_unique_per_version")
        ]

    def __str__(self) -> str:
        return self.unique_name


class EventInstrument(models.Model):
    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="event_instruments")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="event_instruments")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="event_instruments")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "instrument"], name="event_instrument_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.instrument_id}"


class RepeatingSetup(models.Model):
    """A repeating instrument (event null in classic projects) or, with instrument null, a repeating event."""

    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="repeating")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, null=True, blank=True, related_name="repeating")
    instrument = models.ForeignKey(
        Instrument, on_delete=models.CASCADE, null=True, blank=True, related_name="repeating"
    )
    custom_label = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "event", "instrument"], name="repeating_unique", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=models.Q(event__isnull=False) | models.Q(instrument__isnull=False),
                name="repeating_names_event_or_instrument",
            ),
        ]

    def __str__(self) -> str:
        return f"repeat {self.event_id}/{self.instrument_id}"


class MissingDataCode(models.Model):
    version = models.ForeignKey(ProjectVersion, on_delete=models.CASCADE, related_name="missing_data_codes")
    code = models.CharField(max_length=50)
    label = models.CharField(max_length=255)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [models.UniqueConstraint(fields=["version", "code"], name="missing_code_unique_per_version")]

    def __str__(self) -> str:
        return f"{self.code}, {self.label}"


class ValidationType(models.Model):
    """A project-defined text validation (REDCap installations add their own, e.g. `mrn_8d`).

    An unknown type met in a dictionary becomes a placeholder with an empty regex: values are then
    accepted as plain text until a data manager fills in the pattern.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="validation_types")
    name = models.CharField(max_length=100)
    label = models.CharField(max_length=255, blank=True)
    regex = models.TextField(blank=True)
    data_type = models.CharField(max_length=40, default="text")

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="validation_type_unique_per_project")]

    def __str__(self) -> str:
        return self.name
