"""Action tags in column R: `@TAG`, `@TAG=value`, `@TAG="value"`, `@TAG(argument)`.

The annotation itself is kept verbatim; this list is what the data entry engine reads.
"""

from __future__ import annotations

import re

from forms.logic.action_tags import closing_paren

_TAG = re.compile(r"(?<![\w@.])@[A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*")


def _balanced(text: str, start: int) -> int:
    """Index just after the `)` closing the `(` at `start`, skipping quoted strings; len(text) if unclosed."""
    close = closing_paren(text, start + 1)
    return len(text) if close is None else close + 1


def parse_action_tags(annotation: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    pos = 0
    while True:
        m = _TAG.search(annotation, pos)
        if not m:
            return tags
        tag, end, argument = m.group(0), m.end(), ""
        if end < len(annotation) and annotation[end] == "(":
            close = _balanced(annotation, end)
            argument = (
                annotation[end + 1 : close - 1] if annotation[close - 1 : close] == ")" else annotation[end + 1 :]
            )
            end = close
        elif end < len(annotation) and annotation[end] == "=":
            rest = annotation[end + 1 :]
            if rest[:1] in ("'", '"'):
                close = rest.find(rest[0], 1)
                close = len(rest) if close < 0 else close
                argument, end = rest[1:close], end + 1 + close + 1
            else:
                value = re.match(r"\S*", rest).group(0)
                argument, end = value, end + 1 + len(value)
        tags.append({"tag": tag, "argument": argument})
        pos = end
