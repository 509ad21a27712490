"""The 18 data dictionary columns and REDCap's fixed vocabularies (see docs/metadata.md)."""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    letter: str
    label: str  # the header REDCap writes on a UI download
    key: str  # the API / JSON key


COLUMNS: tuple[Column, ...] = (
    Column("A", "Variable / Field Name", "field_name"),
    Column("B", "Form Name", "form_name"),
    Column("C", "Section Header", "section_header"),
    Column("D", "Field Type", "field_type"),
    Column("E", "Field Label", "field_label"),
    Column("F", "Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    Column("G", "Field Note", "field_note"),
    Column("H", "Text Validation Type OR Show Slider Number", "text_validation_type_or_show_slider_number"),
    Column("I", "Text Validation Min", "text_validation_min"),
    Column("J", "Text Validation Max", "text_validation_max"),
    Column("K", "Identifier?", "identifier"),
    Column("L", "Branching Logic (Show field only if...)", "branching_logic"),
    Column("M", "Required Field?", "required_field"),
    Column("N", "Custom Alignment", "custom_alignment"),
    Column("O", "Question Number (surveys only)", "question_number"),
    Column("P", "Matrix Group Name", "matrix_group_name"),
    Column("Q", "Matrix Ranking?", "matrix_ranking"),
    Column("R", "Field Annotation", "field_annotation"),
)
KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
LABELS: tuple[str, ...] = tuple(c.label for c in COLUMNS)
BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}

FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "radio",
        "dropdown",
        "calc",
        "file",
        "checkbox",
        "yesno",
        "truefalse",
        "descriptive",
        "slider",
        "sql",
    }
)
LEGACY_FIELD_TYPES = {"select": "dropdown", "textarea": "notes"}
CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})
# REDCap clears column F for these types on import.
NO_F_TYPES = frozenset({"notes", "file", "yesno", "truefalse", "descriptive"})
ALIGNMENTS = frozenset({"LV", "LH", "RV", "RH"})

RESERVED_NAMES = frozenset(
    {
        "redcap_event_name",
        "redcap_csrf_token",
        "redcap_survey_timestamp",
        "redcap_survey_identifier",
        "redcap_survey_return_code",
        "redcap_data_access_group",
        "redcap_repeat_instance",
        "redcap_repeat_instrument",
        "hidden_edit_flag",
        "instance",
        # names that break the JavaScript of a data entry page
        "submit",
        "new",
        "return",
        "continue",
        "case",
        "switch",
        "class",
        "enum",
        "catch",
        "throw",
        "document",
        "super",
        "focus",
        "elements",
        "action",
        "event_id",
        "target",
        "field_label",
    }
)
FORM_SUFFIXES = ("_complete", "_timestamp", "_return_code")

MAX_NAME_LENGTH = 100
WARN_NAME_LENGTH = 26
MAX_FORM_LENGTH = 64
WARN_FORM_LENGTH = 50
MAX_MATRIX_LENGTH = 60
