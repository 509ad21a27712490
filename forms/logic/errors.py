"""The one error of the logic language, raised at parse time (dictionary import), never at data entry."""

from __future__ import annotations


def line_and_column(source: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based offset; CRLF, CR and LF all end a line."""
    line = 1
    line_start = 0
    index = 0
    while index < position and index < len(source):
        char = source[index]
        if char == "\r" and index + 1 < len(source) and source[index + 1] == "\n":
            index += 1
        if char in "\r\n":
            line += 1
            line_start = index + 1
        index += 1
    return line, position - line_start + 1


class LogicSyntaxError(ValueError):
    """A logic expression that cannot be parsed.

    ``message`` is written for a data manager and already names the place
    ("unexpected ')' at line 1, column 14"); ``position`` is the 0-based offset in the source,
    ``line`` and ``column`` are 1-based.
    """

    def __init__(self, message: str, position: int, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.line = line
        self.column = column

    @classmethod
    def at(cls, source: str, position: int, what: str) -> LogicSyntaxError:
        line, column = line_and_column(source, position)
        return cls(f"{what} at line {line}, column {column}", position, line, column)

    def __str__(self) -> str:
        return self.message
