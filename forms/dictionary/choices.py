"""Column F choices: `code, label | code, label`, split on the first comma, codes kept exactly as written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SEPARATOR = re.compile(r"\||\\n|\n")
CODE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class ParsedChoices:
    choices: list[list[str]] = field(default_factory=list)  # [[code, label], ...]
    canonical: str = ""  # the cell as REDCap exports it: trimmed choices joined by " | "
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def suggest_code(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "", code.replace(" ", "_")) or "1"


def parse_choices(raw: str) -> ParsedChoices:
    result = ParsedChoices()
    parts = [p.strip() for p in _SEPARATOR.split(raw)]
    if parts and (not parts[0] or not parts[-1]) and any(parts):
        result.warnings.append("the choices start or end with a separator; the empty choice was dropped")
    kept = [p for p in parts if p]
    seen: dict[str, int] = {}
    for position, part in enumerate(kept, start=1):
        code, comma, label = part.partition(",")
        code, label = code.strip(), label.strip() if comma else code.strip()
        if not code:
            result.errors.append(f'choice {position} ("{part}") has no code before the comma')
            continue
        if not CODE.match(code):
            result.errors.append(
                f'choice code "{code}" may only hold letters, digits, ".", "-" and "_" (e.g. "{suggest_code(code)}")'
            )
            continue
        if code in seen:
            result.errors.append(f'choice code "{code}" appears twice (choices {seen[code]} and {position})')
            continue
        seen[code] = position
        result.choices.append([code, label])
    if not kept:
        result.errors.append("no choices are given")
    result.canonical = " | ".join(kept)
    return result
