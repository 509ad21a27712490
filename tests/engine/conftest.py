"""Fixtures of the eCRF engine tests: the shared corpus and small dictionaries written inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus" / "data-dictionaries"
CORPUS_INDEX = json.loads((CORPUS / "index.json").read_text())
HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note","Text Validation Type OR Show Slider Number",'
    '"Text Validation Min","Text Validation Max",Identifier?,"Branching Logic (Show field only if...)",'
    '"Required Field?","Custom Alignment","Question Number (surveys only)","Matrix Group Name",'
    '"Matrix Ranking?","Field Annotation"\n'
)


def dd(*rows: str) -> bytes:
    """A label-header dictionary from short rows `name,form,type,label[,choices,...]` padded to 18 cells."""
    lines = []
    for row in rows:
        cells = row.split("\t") if "\t" in row else _split(row)
        lines.append(",".join(cells + [""] * (18 - len(cells))))
    return (HEADER + "\n".join(lines) + "\n").encode()


def _split(row: str) -> list[str]:
    import csv
    import io

    cells = next(csv.reader(io.StringIO(row)))
    return [('"' + c.replace('"', '""') + '"') if any(ch in c for ch in ',"\n ') else c for c in cells]


def row(name: str, form: str, field_type: str, label: str = "", choices: str = "", **columns: str) -> str:
    """One dictionary row built by column name, for readable tests."""
    from forms.dictionary.columns import KEYS

    cells = dict.fromkeys(KEYS, "")
    cells.update(
        field_name=name,
        form_name=form,
        field_type=field_type,
        field_label=label or name,
        select_choices_or_calculations=choices,
        **columns,
    )
    return "\t".join(cells[k] for k in KEYS)


def dd_rows(*rows: str) -> bytes:
    """A dictionary from `row(...)` rows (tab-joined cells), written with REDCap's own quoting."""
    from forms.dictionary.writer import csv_line

    text = HEADER + "".join(csv_line(r.split("\t")) for r in rows)
    return text.encode()


@pytest.fixture
def corpus():
    return CORPUS


def store_value(project_code: str, field: str, value: str, instrument: str = "demo") -> None:
    """A stored value, so the engine's destructive-change check sees real data (the registry tells it)."""
    from forms.models import Project
    from registry.models import FormInstance, Record, Site

    project = Project.objects.get(code=project_code)
    site, _ = Site.objects.get_or_create(project=project, code="s", defaults={"name": "Site", "record_prefix": "S"})
    record, _ = Record.objects.get_or_create(project=project, record_id="S-0001", defaults={"site": site})
    FormInstance.objects.update_or_create(
        record=record, event="event_1_arm_1", instrument=instrument, instance=1, defaults={"data": {field: value}}
    )
