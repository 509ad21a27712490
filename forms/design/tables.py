"""Read the small design tables (arms, events, mapping, repeating setup) as CSV or JSON, by header name."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field

from forms.dictionary.issues import Issue, IssueList
from forms.dictionary.reader import decode, read_csv_table


@dataclass
class TableRow:
    row: int
    values: dict[str, str]

    def get(self, key: str) -> str:
        return self.values.get(key, "").strip()


@dataclass
class Table:
    columns: list[str] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    errors: IssueList = field(default_factory=IssueList)
    warnings: IssueList = field(default_factory=IssueList)

    def issue(self, row: int | None, column: str | None, message: str) -> Issue:
        letter = None
        if column in self.columns:
            letter = chr(ord("A") + self.columns.index(column)) if self.columns.index(column) < 26 else None
        return Issue(message, row, column, letter)


def read_table(data: bytes, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Table:
    table = Table()
    text = decode(data, table.warnings)
    if not text.strip():
        table.errors.add("the file is empty")
        return table
    known = set(required) | set(optional)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            table.errors.add(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}")
            return table
        table.columns = list(required) + list(optional)
        for position, item in enumerate(items if isinstance(items, list) else [], start=1):
            if not isinstance(item, dict):
                table.errors.add("each element must be an object", row=position + 1)
                continue
            table.rows.append(TableRow(position + 1, {str(k): "" if v is None else str(v) for k, v in item.items()}))
    else:
        try:
            records = read_csv_table(text, expected=())  # the widest split of the header wins
        except csv.Error as exc:
            table.errors.add(f"the file is not valid CSV: {exc}")
            return table
        header = [h.strip().lower() for h in records[0][1]]
        table.columns = header
        missing = [c for c in required if c not in header]
        if missing:
            table.errors.add(
                f"the header lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(expected {','.join(required + optional)})",
                row=1,
            )
            return table
        unknown = [c for c in header if c and c not in known]
        if unknown:
            table.warnings.add(f"columns ignored: {', '.join(unknown)}", row=1)
        for number, cells in records[1:]:
            if not any(c.strip() for c in cells):
                continue
            table.rows.append(TableRow(number, dict(zip(header, cells, strict=False))))
    return table
