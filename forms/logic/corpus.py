"""Reading the logic out of REDCap data dictionaries (CSV with label or API headers, JSON metadata).

Used by the corpus test and the parse benchmark; the dictionary importer has its own reader.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .action_tags import calc_tag_expressions

# REDCap reads columns by position (A..R); headers are matched by name first, as REDCap's own
# label headers or the API names, and fall back to the position.
COLUMNS = {
    "field_name": ({"variable / field name", "field_name"}, 0),
    "field_type": ({"field type", "field_type"}, 3),
    "choices": ({"choices, calculations, or slider labels", "select_choices_or_calculations"}, 5),
    "branching": ({"branching logic (show field only if...)", "branching_logic"}, 11),
    "annotation": ({"field annotation", "field_annotation"}, 17),
}


@dataclass(frozen=True, slots=True)
class CorpusExpression:
    file: str
    field: str
    kind: str  # "branching", "calc", "CALCTEXT", "CALCDATE"
    source: str


def default_corpus_dir() -> Path:
    """../shared/corpus/data-dictionaries beside the project checkout."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "data-dictionaries"


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")  # strips a BOM
    rows = csv.reader(io.StringIO(text, newline=""))  # newline="" keeps CR, CRLF and LF inside cells
    header = [cell.strip().lower() for cell in next(rows)]
    positions = {}
    for key, (names, position) in COLUMNS.items():
        matches = [index for index, cell in enumerate(header) if cell in names]
        positions[key] = matches[0] if matches else position
    for row in rows:
        yield {key: (row[index] if index < len(row) else "") for key, index in positions.items()}


def _json_rows(path: Path) -> Iterator[dict[str, str]]:
    for item in json.loads(path.read_text(encoding="utf-8")):
        yield {
            "field_name": item.get("field_name", ""),
            "field_type": item.get("field_type", ""),
            "choices": item.get("select_choices_or_calculations", ""),
            "branching": item.get("branching_logic", ""),
            "annotation": item.get("field_annotation", ""),
        }


def dictionary_expressions(path: Path) -> Iterator[CorpusExpression]:
    """Every branching logic, calc expression and @CALCTEXT/@CALCDATE of one dictionary."""
    rows = _json_rows(path) if path.suffix.lower() == ".json" else _csv_rows(path)
    for row in rows:
        field = row["field_name"].strip()
        if row["branching"].strip():
            yield CorpusExpression(path.name, field, "branching", row["branching"])
        if row["field_type"].strip().lower() == "calc" and row["choices"].strip():
            yield CorpusExpression(path.name, field, "calc", row["choices"])
        for tag, source in calc_tag_expressions(row["annotation"]):
            yield CorpusExpression(path.name, field, tag, source)


def corpus_dictionaries(directory: Path | None = None) -> list[Path]:
    folder = directory or default_corpus_dir()
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() == ".csv" or (path.suffix.lower() == ".json" and path.name != "index.json")
    )


def corpus_expressions(directory: Path | None = None) -> list[CorpusExpression]:
    return [expression for path in corpus_dictionaries(directory) for expression in dictionary_expressions(path)]
