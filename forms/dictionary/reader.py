"""Read a data dictionary as REDCap does: label-header CSV (18 or 17 columns), API-header CSV, or JSON metadata.

Bytes in, rows of 18 strings out. Encoding, BOM, line endings and delimiter are sniffed; the meaning
of the cells is judged later by validate.py.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

from forms.dictionary.columns import COLUMNS, KEYS, LABELS
from forms.dictionary.issues import Issue, IssueList

DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True)
class SourceRow:
    row: int  # row number in the file (header = 1)
    cells: tuple[str, ...]  # the 18 cells in column order A..R

    def get(self, key: str) -> str:
        return self.cells[KEYS.index(key)]


@dataclass
class ReadResult:
    rows: list[SourceRow] = field(default_factory=list)
    layout: str = ""  # "labels", "api", "positional" or "json"
    columns: int = 18
    errors: IssueList = field(default_factory=IssueList)
    warnings: IssueList = field(default_factory=IssueList)


def decode(data: bytes, warnings: IssueList) -> str:
    """UTF-8 with or without BOM; a file saved by a spreadsheet in Windows-1252 is read with a warning."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.add(f"the file is not UTF-8 (byte {exc.start}); it was read as Windows-1252")
        text = data.decode("cp1252", errors="replace")
    return text


def _normalise_newlines(cell: str) -> str:
    # REDCap stores multi-line cells with LF whatever the file used.
    return cell.replace("\r\n", "\n").replace("\r", "\n") if "\r" in cell else cell


def sniff_delimiter(text: str, expected: tuple[int, ...] = (17, 18)) -> str:
    """The delimiter whose header row splits into the expected number of columns (else the widest)."""
    header_rows = {}
    for delimiter in DELIMITERS:
        try:
            header_rows[delimiter] = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        except csv.Error:
            header_rows[delimiter] = []
    for delimiter in DELIMITERS:
        if len(header_rows[delimiter]) in expected:
            return delimiter
    return max(DELIMITERS, key=lambda d: len(header_rows[d]))


def read_csv_table(text: str, expected: tuple[int, ...] = (17, 18)) -> list[tuple[int, list[str]]]:
    """All records of a CSV text as (row number, cells); cells keep embedded newlines as LF."""
    delimiter = sniff_delimiter(text, expected)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    return [(number, [_normalise_newlines(c) for c in cells]) for number, cells in enumerate(reader, start=1)]


def _header_map(header: list[str]) -> tuple[str, list[int | None]]:
    """How file columns map onto A..R: by API names, by label names, else by position."""
    names = [h.strip().strip('"').strip() for h in header]
    lowered = [n.lower() for n in names]
    for layout, vocabulary in (("api", KEYS), ("labels", LABELS)):
        wanted = [v.lower() for v in vocabulary]
        if lowered and all(n in wanted for n in lowered) and len(set(lowered)) == len(lowered):
            return layout, [lowered.index(w) if w in lowered else None for w in wanted]
    return "positional", [i if i < len(header) else None for i in range(len(COLUMNS))]


def read_dictionary(data: bytes) -> ReadResult:
    result = ReadResult()
    text = decode(data, result.warnings)
    if not text.strip():
        result.errors.add("the file is empty")
        return result
    if text.lstrip().startswith("["):
        return _read_json(text, result)
    return _read_csv(text, result)


def _read_csv(text: str, result: ReadResult) -> ReadResult:
    try:
        table = read_csv_table(text)
    except csv.Error as exc:
        result.errors.add(f"the file is not valid CSV: {exc}")
        return result
    (_, header), body = table[0], table[1:]
    width = len(header)
    while width > 0 and not header[width - 1].strip():
        width -= 1  # spreadsheets often add empty trailing columns
    header = header[:width]
    layout, mapping = _header_map(header)
    result.layout = layout
    result.columns = width
    if layout == "positional":
        if width not in (17, 18):
            result.errors.add(
                f"the header has {width} columns; a data dictionary has 18 (A to R), or 17 in files from before "
                "Field Annotation existed",
                row=1,
            )
            return result
        if header[2].strip().lower() == "field units":
            result.errors.add(
                "this is a pre-4.0 REDCap dictionary (column C is Field Units); export it again from REDCap",
                row=1,
                column="Section Header",
                letter="C",
            )
            return result
        result.warnings.add("the header names are not REDCap's; columns were read by position (A to R)", row=1)
    else:
        missing = [COLUMNS[i] for i, source in enumerate(mapping) if source is None]
        for col in missing:
            if col.key != "field_annotation":
                result.errors.add(f'the header has no "{col.label}" column', row=1, column=col.label, letter=col.letter)
        if result.errors:
            return result
    for number, cells in body:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            result.errors.add(f"the row has {len(cells)} cells but the header only {width}", row=number)
            continue
        if not any(c.strip() for c in cells):
            continue  # REDCap skips blank rows
        values = tuple(cells[src] if src is not None and src < len(cells) else "" for src in mapping)
        result.rows.append(SourceRow(number, values))
    if not result.rows and not result.errors:
        result.errors.add("the file has a header but no fields")
    return result


def _read_json(text: str, result: ReadResult) -> ReadResult:
    result.layout = "json"
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        result.errors.add(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
        return result
    if not isinstance(items, list):
        result.errors.add("JSON metadata must be a list of objects")
        return result
    for position, item in enumerate(items, start=1):
        number = position + 1  # the row the object would have in the CSV form of the same dictionary
        if not isinstance(item, dict):
            result.errors.add("each element must be an object with the 18 metadata keys", row=number)
            continue
        unknown = sorted(set(item) - set(KEYS))
        if unknown:
            result.errors.add(f"unknown metadata keys: {', '.join(unknown)}", row=number)
            continue
        values = []
        for key in KEYS:
            value = item.get(key, "")
            if value is None:
                value = ""
            values.append(_normalise_newlines(value if isinstance(value, str) else str(value)))
        if any(v.strip() for v in values):
            result.rows.append(SourceRow(number, tuple(values)))
    if not result.rows and not result.errors:
        result.errors.add("the file has no fields")
    return result


def issue_for(row: SourceRow | int | None, key: str | None, message: str) -> Issue:
    """An issue pinned to a dictionary cell named by its API key."""
    number = row.row if isinstance(row, SourceRow) else row
    if key is None:
        return Issue(message, number)
    col = COLUMNS[KEYS.index(key)]
    return Issue(message, number, col.label, col.letter)
