"""Errors and warnings of an import, each pinned to a row and column of the source file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    message: str
    row: int | None = None  # the file's row number: the header is row 1 (JSON: the object's position + 1)
    column: str | None = None  # the column header as REDCap writes it, e.g. "Field Type"
    letter: str | None = None  # the spreadsheet column letter, e.g. "D"
    file: str | None = None  # set when several files are imported together (import_study)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.letter} ({self.column})" if self.letter else f"column {self.column}")
        prefix = f"{self.file}: " if self.file else ""
        return f"{prefix}{', '.join(where)}: {self.message}" if where else f"{prefix}{self.message}"

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "letter": self.letter,
            "file": self.file,
            "message": self.message,
        }

    def in_file(self, file: str) -> Issue:
        return Issue(self.message, self.row, self.column, self.letter, file)


class IssueList(list):
    """A list of issues with a helper to add one."""

    def add(self, message: str, row: int | None = None, column: str | None = None, letter: str | None = None) -> None:
        self.append(Issue(message, row, column, letter))
