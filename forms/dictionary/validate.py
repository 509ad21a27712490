"""Turn the rows of a dictionary into field specifications, listing every problem (docs/metadata.md).

Errors block the import; warnings do not. Every issue carries the file row and column. The checks
mirror REDCap's import checklist (names, types, choices, validation, min/max, logic, matrix groups,
contiguous forms, record-id first) and add the references REDCap only checks at runtime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forms.dictionary import columns as C
from forms.dictionary.action_tags import parse_action_tags
from forms.dictionary.choices import parse_choices
from forms.dictionary.issues import Issue
from forms.dictionary.logic_check import LogicChecker
from forms.dictionary.reader import SourceRow, issue_for
from forms.dictionary.validation_types import BUILTIN, LEGACY, NON_TEXT_H, BoundError, normalise_bound
from forms.models import checkbox_column
from forms.versions import FieldSpec

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MATRIX_NAME = re.compile(r"^[a-z0-9_]+$")
_INT = re.compile(r"^[-+]?\d+$")


@dataclass
class Validated:
    fields: list[FieldSpec] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    new_validation_types: dict[str, int] = field(default_factory=dict)  # unknown validation name -> first row
    logic_checked: bool = True


def _flag(value: str) -> tuple[bool, bool]:
    """(is yes, was something other than yes/blank): REDCap accepts `y`/`Y` with spaces and blanks the rest."""
    text = value.strip()
    return text.lower() == "y", bool(text) and text.lower() != "y"


class _Validator:
    def __init__(
        self, rows: list[SourceRow], project_types: set[str], event_names: set[str] | None, record_id: str | None
    ) -> None:
        self.rows = rows
        self.project_types = project_types
        self.event_names = event_names
        self.record_id = record_id
        self.out = Validated()

    def error(self, row: SourceRow | int | None, key: str | None, message: str) -> None:
        self.out.errors.append(issue_for(row, key, message))

    def warn(self, row: SourceRow | int | None, key: str | None, message: str) -> None:
        self.out.warnings.append(issue_for(row, key, message))

    def run(self) -> Validated:
        specs = [self.row_to_spec(row) for row in self.rows]
        self.check_names_and_forms(specs)
        self.check_record_id(specs)
        self.check_matrix_groups(specs)
        by_name = {s.name: s for s in specs if s.name}
        self.check_piped_bounds(specs, by_name)
        self.check_logic(specs, by_name)
        self.out.fields = specs
        return self.out

    # -- one row -------------------------------------------------------------------------------------
    def row_to_spec(self, row: SourceRow) -> FieldSpec:
        cell = row.get
        raw_type = cell("field_type").strip()
        field_type = C.LEGACY_FIELD_TYPES.get(raw_type.lower(), raw_type.lower())
        spec = FieldSpec(
            name=self.sanitised(row, "field_name"),
            form=self.sanitised(row, "form_name"),
            field_type=field_type,
            label=cell("field_label"),
            section_header=cell("section_header"),
            field_note=cell("field_note"),
            branching_logic=cell("branching_logic").strip(),
            question_number=cell("question_number"),
            matrix_group=cell("matrix_group_name").strip(),
            raw=list(row.cells),
            row=row.row,
        )
        if not raw_type:
            self.error(row, "field_type", "the field type is missing")
        elif field_type not in C.FIELD_TYPES:
            self.error(
                row,
                "field_type",
                f'"{raw_type}" is not a field type; use one of {", ".join(sorted(C.FIELD_TYPES))}',
            )
        self.check_column_f(row, spec)
        self.check_validation(row, spec)
        for key, attr in (
            ("identifier", "identifier"),
            ("required_field", "required"),
            ("matrix_ranking", "matrix_ranking"),
        ):
            yes, odd = _flag(cell(key))
            setattr(spec, attr, yes)
            if odd:
                self.warn(row, key, f'"{cell(key).strip()}" is not "y"; it was read as blank')
        if spec.required and field_type == "descriptive":
            spec.required = False
            self.warn(row, "required_field", "descriptive fields cannot be required; the flag was dropped")
        alignment = cell("custom_alignment").strip().upper()
        if alignment and alignment not in C.ALIGNMENTS:
            self.warn(row, "custom_alignment", f'"{alignment}" is not LV, LH, RV or RH; it was read as blank')
            alignment = ""
        spec.custom_alignment = alignment
        annotation = cell("field_annotation")
        if annotation.lstrip().startswith("@"):
            # REDCap's UI download prefixes a space so spreadsheets do not read "@..." as a formula.
            annotation = annotation.lstrip()
        spec.annotation = annotation
        spec.action_tags = parse_action_tags(annotation)
        return spec

    def sanitised(self, row: SourceRow, key: str) -> str:
        """A name lower-cased with spaces as "_", as REDCap does on import, with a warning when that changed it."""
        name = row.get(key).strip()
        fixed = re.sub(r"\s+", "_", name.lower())
        if fixed != name and NAME.match(fixed):
            self.warn(row, key, f'"{name}" was read as "{fixed}"')
            return fixed
        return name

    def check_column_f(self, row: SourceRow, spec: FieldSpec) -> None:
        raw = row.get("select_choices_or_calculations")
        kind = spec.field_type
        if kind in C.CHOICE_TYPES:
            if not raw.strip():
                # REDCap keeps such fields (modules fill the choices in later: Flight Tracker does), but
                # nothing can be entered until a later version gives choices.
                self.warn(row, "select_choices_or_calculations", f"this {kind} field has no choices yet")
                return
            parsed = parse_choices(raw)
            for message in parsed.errors:
                self.error(row, "select_choices_or_calculations", message)
            for message in parsed.warnings:
                self.warn(row, "select_choices_or_calculations", message)
            spec.choices, spec.choices_raw = parsed.choices, parsed.canonical
        elif kind in ("calc", "sql"):
            if not raw.strip():
                what = "a calculation" if kind == "calc" else "a SELECT statement"
                self.error(row, "select_choices_or_calculations", f"{kind} fields need {what}")
            spec.choices_raw = raw.strip() if kind == "sql" else raw
        elif kind in C.NO_F_TYPES:
            if raw.strip():
                self.warn(
                    row, "select_choices_or_calculations", f"column F is ignored for {kind} fields; it was cleared"
                )
        else:
            spec.choices_raw = raw  # slider labels; text keeps whatever was there

    def check_validation(self, row: SourceRow, spec: FieldSpec) -> None:
        raw = row.get("text_validation_type_or_show_slider_number").strip()
        low, high = row.get("text_validation_min").strip(), row.get("text_validation_max").strip()
        kind = spec.field_type
        name = LEGACY.get(raw, raw)
        spec.validation = name
        spec.validation_min, spec.validation_max = low, high
        h_key = "text_validation_type_or_show_slider_number"
        if kind == "text":
            data_type = None
            if name:
                if name in BUILTIN:
                    data_type = BUILTIN[name].data_type
                elif name in self.project_types:
                    data_type = "text"
                elif re.match(r"^[a-z][a-z0-9_]*$", name):
                    self.out.new_validation_types.setdefault(name, row.row)
                    self.warn(
                        row,
                        h_key,
                        f'"{name}" is not a built-in validation type; it was added to the '
                        "project as a placeholder (no pattern) for a data manager to define",
                    )
                    data_type = "text"
                else:
                    self.error(row, h_key, f'"{raw}" is not a validation type name')
                    return
            if (low or high) and not name:
                self.error(
                    row,
                    "text_validation_min" if low else "text_validation_max",
                    "a minimum or maximum needs a validation type in column H",
                )
                return
            bounds = []
            for key, value in (("text_validation_min", low), ("text_validation_max", high)):
                if not value:
                    bounds.append(None)
                    continue
                try:
                    normalised = normalise_bound(value, name, data_type or "text")
                except BoundError as exc:
                    self.error(row, key, f"{exc} for validation {name}")
                    bounds.append(None)
                    continue
                if normalised != value:
                    self.warn(row, key, f'"{value}" was read as "{normalised}"')
                setattr(spec, "validation_min" if key == "text_validation_min" else "validation_max", normalised)
                bounds.append(normalised)
            self._check_order(row, data_type, *bounds)
            return
        allowed = NON_TEXT_H.get(kind, set())
        if name and name not in allowed:
            hint = f"; only {', '.join(sorted(allowed))} is allowed" if allowed else " and must be empty"
            self.error(row, h_key, f'"{raw}" is not valid for a {kind} field{hint}')
        if kind == "slider":
            for key, value in (("text_validation_min", low), ("text_validation_max", high)):
                if value and not _INT.match(value):
                    self.error(row, key, f'slider bounds must be whole numbers, not "{value}"')
            if low and high and _INT.match(low) and _INT.match(high) and int(low) >= int(high):
                self.error(row, "text_validation_max", f"the slider maximum {high} is not above the minimum {low}")

    def _check_order(self, row: SourceRow, data_type: str | None, low: str | None, high: str | None) -> None:
        if (
            not low
            or not high
            or low.startswith("[")
            or high.startswith("[")
            or {low.lower(), high.lower()} & {"today", "now"}
        ):
            return
        try:
            if data_type in ("integer", "number"):
                wrong = float(low) > float(high)
            elif data_type == "number_comma_decimal":
                wrong = float(low.replace(",", ".")) > float(high.replace(",", "."))
            elif data_type in ("date", "datetime", "datetime_seconds", "time"):
                wrong = low > high  # ISO strings order like the values they stand for
            else:
                return
        except ValueError:
            return
        if wrong:
            self.error(row, "text_validation_max", f"the maximum {high} is below the minimum {low}")

    # -- across rows ---------------------------------------------------------------------------------
    def check_names_and_forms(self, specs: list[FieldSpec]) -> None:
        seen: dict[str, int] = {}
        form_rows: dict[str, int] = {}
        current_form = None
        ended: dict[str, int] = {}
        for spec in specs:
            row, name, form = spec.row, spec.name, spec.form
            if not name:
                self.error(row, "field_name", "the variable name is missing")
            elif not NAME.match(name):
                if NAME.match(name.lower().replace(" ", "_")):
                    hint = f' (did you mean "{name.lower().replace(" ", "_")}"?)'
                else:
                    hint = ""
                self.error(
                    row,
                    "field_name",
                    f'"{name}" is not a valid variable name: use lower-case letters, '
                    f"digits and _, starting with a letter{hint}",
                )
            elif name.endswith("_"):
                self.error(row, "field_name", f'"{name}" may not end with "_"')
            elif len(name) > C.MAX_NAME_LENGTH:
                self.error(row, "field_name", f'"{name}" is longer than {C.MAX_NAME_LENGTH} characters')
            elif name in C.RESERVED_NAMES:
                self.error(row, "field_name", f'"{name}" is a name REDCap reserves')
            elif len(name) > C.WARN_NAME_LENGTH:
                self.warn(
                    row,
                    "field_name",
                    f'"{name}" is longer than {C.WARN_NAME_LENGTH} characters; '
                    "some statistics packages shorten long names",
                )
            if name:
                if name in seen:
                    self.error(row, "field_name", f'"{name}" is a duplicate of the variable in row {seen[name]}')
                else:
                    seen[name] = row
            if not form:
                self.error(row, "form_name", "the form name is missing")
            elif not NAME.match(form) or len(form) > C.MAX_FORM_LENGTH:
                self.error(
                    row,
                    "form_name",
                    f'"{form}" is not a valid form name: up to {C.MAX_FORM_LENGTH} '
                    "lower-case letters, digits and _, starting with a letter",
                )
            elif form != current_form:
                if form in ended:
                    self.error(
                        row,
                        "form_name",
                        f'form "{form}" already ended at row {ended[form]}; the rows of a form must be together',
                    )
                if current_form is not None:
                    ended[current_form] = row - 1
                current_form = form
                if form not in form_rows:
                    form_rows[form] = row
                    self.out.forms.append(form)
                    if len(form) > C.WARN_FORM_LENGTH:
                        self.warn(
                            row, "form_name", f'form name "{form}" is longer than {C.WARN_FORM_LENGTH} characters'
                        )
        forms = set(form_rows)
        checkbox_columns = {
            checkbox_column(s.name, code): s.name for s in specs if s.field_type == "checkbox" for code, _ in s.choices
        }
        for spec in specs:
            if "___" not in spec.name:
                pass
            elif spec.name in checkbox_columns:
                self.error(
                    spec.row,
                    "field_name",
                    f'"{spec.name}" is the data column of a choice of checkbox "{checkbox_columns[spec.name]}"',
                )
            else:
                # REDCap reserves "___" for checkbox columns, yet real projects (Flight Tracker) hold such
                # names; only an actual clash with a checkbox column breaks exports.
                self.warn(
                    spec.row, "field_name", f'"{spec.name}" contains "___", which REDCap reserves for checkbox columns'
                )
            for suffix in C.FORM_SUFFIXES:
                if spec.name.endswith(suffix) and spec.name[: -len(suffix)] in forms:
                    self.error(
                        spec.row,
                        "field_name",
                        f'"{spec.name}" clashes with the {suffix[1:].replace("_", " ")} '
                        f'field REDCap creates for form "{spec.name[: -len(suffix)]}"',
                    )

    def check_record_id(self, specs: list[FieldSpec]) -> None:
        if not specs:
            return
        first = specs[0]
        if first.field_type and first.field_type != "text":
            self.error(
                first.row,
                "field_type",
                f'the first field "{first.name}" is the record id and must be a text field, not {first.field_type}',
            )
        if self.record_id and first.name != self.record_id:
            moved = next((s for s in specs if s.name == self.record_id), None)
            if moved is not None:
                self.error(
                    moved.row,
                    "field_name",
                    f'"{self.record_id}" is the record-id field of this project and must be the first row',
                )

    def check_matrix_groups(self, specs: list[FieldSpec]) -> None:
        first_of: dict[str, FieldSpec] = {}
        last_group = None
        for spec in specs:
            group = spec.matrix_group
            if not group:
                last_group = None
                continue
            if not MATRIX_NAME.match(group) or len(group) > C.MAX_MATRIX_LENGTH:
                self.error(
                    spec.row,
                    "matrix_group_name",
                    f'"{group}" is not a valid matrix group name (up to '
                    f"{C.MAX_MATRIX_LENGTH} lower-case letters, digits, _)",
                )
                continue
            if spec.field_type not in ("radio", "checkbox"):
                self.error(
                    spec.row,
                    "matrix_group_name",
                    f"only radio and checkbox fields may be in a matrix group, not {spec.field_type}",
                )
            head = first_of.get(group)
            if head is None:
                first_of[group] = spec
            else:
                if last_group != group:
                    self.error(
                        spec.row,
                        "matrix_group_name",
                        f'matrix group "{group}" started at row {head.row} but its rows are not together',
                    )
                if spec.field_type != head.field_type and spec.field_type in ("radio", "checkbox"):
                    self.error(
                        spec.row,
                        "field_type",
                        f'matrix group "{group}" mixes {head.field_type} (row {head.row}) and {spec.field_type}',
                    )
                if spec.choices != head.choices:
                    self.error(
                        spec.row,
                        "select_choices_or_calculations",
                        f'the choices differ from those of row {head.row} in matrix group "{group}"',
                    )
                if spec.form != head.form:
                    self.error(spec.row, "form_name", f'matrix group "{group}" spans two forms')
            last_group = group

    def check_piped_bounds(self, specs: list[FieldSpec], by_name: dict[str, FieldSpec]) -> None:
        for spec in specs:
            for key, value in (
                ("text_validation_min", spec.validation_min),
                ("text_validation_max", spec.validation_max),
            ):
                if value.startswith("[") and value.endswith("]") and spec.field_type == "text":
                    target = value[1:-1].strip()
                    if target not in by_name and "-" not in target and ":" not in target:
                        self.error(spec.row, key, f"[{target}] is not a field of this dictionary")

    def check_logic(self, specs: list[FieldSpec], by_name: dict[str, FieldSpec]) -> None:
        checker = LogicChecker(by_name, set(self.out.forms), self.event_names)
        if not checker.available:
            self.out.logic_checked = False
            self.out.warnings.append(
                Issue(
                    "branching logic and calculations were not checked: the logic "
                    "language (forms.logic) is not installed"
                )
            )
            return
        for spec in specs:
            if spec.branching_logic:
                checker.check(spec.branching_logic, spec.row, "branching_logic", "branching logic")
            if spec.field_type == "calc" and spec.choices_raw.strip():
                checker.check(spec.choices_raw, spec.row, "select_choices_or_calculations", "calculation")
            for tag in spec.action_tags:
                if tag["tag"] in ("@CALCTEXT", "@CALCDATE") and tag["argument"].strip():
                    source = tag["argument"] if tag["tag"] == "@CALCTEXT" else f"calcdate({tag['argument']})"
                    checker.check(source, spec.row, "field_annotation", tag["tag"])
        self.out.errors.extend(checker.errors)
        self.out.warnings.extend(checker.warnings)


def validate_rows(
    rows: list[SourceRow],
    *,
    project_validation_types: set[str] = frozenset(),
    event_names: set[str] | None = None,
    record_id: str | None = None,
) -> Validated:
    """Check every row and return the field specifications with all errors and warnings.

    `event_names` are the project's unique event names (None when it has none, so `[event][field]`
    references cannot be checked); `record_id` is the current record-id field, which must stay first.
    """
    return _Validator(rows, set(project_validation_types), event_names, record_id).run()
