"""Reading the SoJIA fixture files without any importer: plain csv + the REDCap rules they must follow."""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from pathlib import Path

from forms.logic.action_tags import calc_tag_expressions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sojia"

REDCAP_HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number",'
    '"Text Validation Min","Text Validation Max",Identifier?,"Branching Logic (Show field only if...)",'
    '"Required Field?","Custom Alignment","Question Number (surveys only)","Matrix Group Name",'
    '"Matrix Ranking?","Field Annotation"'
)

# Smart variables that may stand where a field or an event name stands in this study's logic.
EVENT_SMART = {"event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
FIELD_SMART = EVENT_SMART | {"record-name", "record-dag-name", "user-dag-name", "project-id"}
INSTANCE_WORDS = {"previous-instance", "current-instance", "next-instance", "first-instance", "last-instance"}


def read_rows(name: str) -> list[dict[str, str]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def dictionary() -> list[dict[str, str]]:
    text = (FIXTURES / "data_dictionary.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    keys = [
        "field_name",
        "form_name",
        "section_header",
        "field_type",
        "field_label",
        "choices",
        "field_note",
        "validation",
        "min",
        "max",
        "identifier",
        "branching",
        "required",
        "alignment",
        "question_number",
        "matrix_group",
        "matrix_ranking",
        "annotation",
    ]
    return [dict(zip(keys, row, strict=True)) for row in reader]


def fields_by_name() -> dict[str, dict[str, str]]:
    return {f["field_name"]: f for f in dictionary()}


def parse_choices(text: str) -> dict[str, str]:
    out = {}
    for part in text.split("|"):
        code, _, label = part.strip().partition(",")
        out[code.strip()] = label.strip()
    return out


def calctext_of(annotation: str) -> str | None:
    """The expression inside @CALCTEXT(...), read the way the engine reads it (forms.logic.action_tags)."""
    found = [source for tag, source in calc_tag_expressions(annotation) if tag == "CALCTEXT"]
    return found[0] if found else None


def expression_of(field_name: str) -> str:
    """The calc expression (calc field) or @CALCTEXT expression (text field) of a field, from the CSV."""
    field = fields_by_name()[field_name]
    if field["field_type"] == "calc":
        return field["choices"]
    expr = calctext_of(field["annotation"])
    assert expr is not None, f"{field_name} is neither a calc nor a @CALCTEXT field"
    return expr


STRING_RE = re.compile(r"'[^']*'|\"[^\"]*\"")
BRACKET_RUN_RE = re.compile(r"(?:\[[^\[\]]+\])+")
PART_RE = re.compile(r"\[([^\[\]]+)\]")
FIELD_PART_RE = re.compile(r"^(?P<name>[a-z][a-z0-9_-]*)(?:\((?P<code>[^()]+)\))?(?::(?P<param>.+))?$")


def references(expr: str, event_names: set[str]) -> list[tuple[str | None, str, str | None]]:
    """(event, field, checkbox code) for every [..] reference in an expression or piped text."""
    refs = []
    for run in BRACKET_RUN_RE.findall(STRING_RE.sub("''", expr)):
        parts = PART_RE.findall(run)
        event = None
        if len(parts) >= 2 and (parts[0] in event_names or parts[0] in EVENT_SMART):
            event, parts = parts[0], parts[1:]
        match = FIELD_PART_RE.match(parts[0].strip())
        assert match, f"unparseable reference {run!r} in {expr!r}"
        for extra in parts[1:]:
            assert extra.isdigit() or extra in INSTANCE_WORDS, f"bad instance {extra!r} in {expr!r}"
        refs.append((event, match["name"], match["code"]))
    return refs


def logic_cells() -> list[tuple[str, str]]:
    """(where, expression) for every piece of logic in the study files."""
    cells = []
    for f in dictionary():
        name = f["field_name"]
        if f["branching"]:
            cells.append((f"{name} branching", f["branching"]))
        if f["field_type"] == "calc":
            cells.append((f"{name} calc", f["choices"]))
        expr = calctext_of(f["annotation"])
        if expr is not None:
            cells.append((f"{name} @CALCTEXT", expr))
    for rule in read_rows("dq_rules.csv"):
        cells.append((f"rule {rule['rule_name']}", rule["rule_logic"]))
    return cells
