"""Values written as the entry form would store them: numbers formatted by their field's validation.

The clinical simulation produces numbers in whatever shape was convenient ('5' for a global
assessment on a 0-10 scale); a `number_1dp` field only accepts '5.0', and an `integer` field
only '5'. Without this, rule C (validation type) flags hundreds of values nobody planted.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from forms.models import FieldType
from registry.demo.planted_errors import Forms
from registry.services.design import Design

_DECIMALS = re.compile(r"^number_(\d)dp$")


def decimals_of(validation: str) -> int | None:
    """Digits after the point a validation asks for: 0 for integer, N for number_Ndp, None otherwise."""
    if validation in ("integer", "int"):
        return 0
    match = _DECIMALS.match(validation)
    return int(match.group(1)) if match else None


def format_number(value: str, decimals: int) -> str:
    """`value` with exactly `decimals` digits after the point (half up, as a person would round); text stays."""
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return value
    if not number.is_finite():
        return value
    text = f"{number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"
    return "0" + text[2:] if text.startswith("-0") and not text.strip("-0.") else text


def format_by_validation(design: Design, forms: Forms) -> None:
    """Reformat, in place, every numeric value of a text field with an integer or number_Ndp validation."""
    for (_event, instrument, _instance), values in forms.items():
        for f in design.fields(instrument):
            if f.field_type != FieldType.TEXT or not f.validation or f.name not in values:
                continue
            decimals = decimals_of(f.validation)
            if decimals is not None and values[f.name] not in ("", None):
                values[f.name] = format_number(str(values[f.name]), decimals)
