"""Logic inside field annotations: @CALCTEXT(expr) and @CALCDATE(date, offset, unit).

Only the extent of the tag's parentheses is found here (quotes respected); the expression inside
is parsed by the grammar like any other logic. @CALCDATE's arguments become ``calcdate(...)``.
"""

from __future__ import annotations

import re

TAG_RE = re.compile(r"@(CALCTEXT|CALCDATE)[ \t]*\(", re.IGNORECASE)


def closing_paren(text: str, start: int) -> int | None:
    """Index of the ')' closing the '(' just before ``start``; quotes hide parentheses."""
    depth = 1
    quote = ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def calc_tag_expressions(annotation: str) -> list[tuple[str, str]]:
    """[(tag, logic source)] for each @CALCTEXT/@CALCDATE in a field annotation.

    @CALCTEXT(x) gives ('CALCTEXT', 'x'); @CALCDATE(d, n, 'd') gives ('CALCDATE', "calcdate(d, n, 'd')").
    An unclosed tag gives its text to the end, so that parsing reports the missing ')'.
    """
    found: list[tuple[str, str]] = []
    for match in TAG_RE.finditer(annotation):
        tag = match.group(1).upper()
        end = closing_paren(annotation, match.end())
        inner = annotation[match.end() : end] if end is not None else annotation[match.end() :]
        found.append((tag, inner if tag == "CALCTEXT" else f"calcdate({inner})"))
    return found
