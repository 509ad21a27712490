"""Value rules shared by every function and operator: REDCap's "everything is a string" world.

A value during evaluation is one of:
- ``str``: a raw stored value or a literal; ``''`` is *blank* (REDCap has no null);
- ``float``: the result of arithmetic or a numeric literal (always float, as in JavaScript);
- ``bool``: the result of a comparison or of and/or/not.

Every rule here has a twin in ``forms/static/crf/logic-runtime.js``; keep them in step (the
conformance table in tests/logic checks that they agree).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal

Value = str | float | bool

BLANK = ""

# What counts as a number when a string meets arithmetic or a comparison: PHP's is_numeric,
# without hex, without "inf"/"nan", without Python's "1_000" (checked before float()).
NUMERIC_RE = re.compile(r"[ \t\n\r]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r]*\Z")

# isnumber()/isinteger(): stricter, as REDCap's validation: no leading zeros, no exponent, no spaces.
STRICT_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?\Z")
STRICT_INTEGER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")

# [0-9], not \d: Python's \d also matches other scripts' digits, JavaScript's does not.
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?\Z")


def is_blank(value: Value) -> bool:
    return isinstance(value, str) and value == ""


# Texts already converted, and their numbers: a rule run meets the same few thousand texts millions of
# times, and a dict hit costs a sixth of the regex and float() (measured: 93 against 560-830 ns).
_NUMBERS: dict[str, float | None] = {}
_NUMBERS_MAX = 100_000  # entries; the cache starts again when full, so memory stays bounded
_NUMBER_TEXT_MAX = 40  # longer texts are not numbers anyone stores often
_MISS = object()


def to_number(value: Value) -> float | None:
    """The number a value stands for, or None (blank, non-numeric text, not finite)."""
    if type(value) is str:
        number = _NUMBERS.get(value, _MISS)
        if number is not _MISS:
            return number  # type: ignore[return-value]
        number = _text_to_number(value)
        if len(value) <= _NUMBER_TEXT_MAX:
            if len(_NUMBERS) >= _NUMBERS_MAX:
                _NUMBERS.clear()
            _NUMBERS[value] = number
        return number
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):  # ints only reach here from Python callers
        return float(value)
    return _text_to_number(value)


def _text_to_number(value: str) -> float | None:
    if value and NUMERIC_RE.match(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def number_result(number: float) -> Value:
    """Arithmetic results that are not finite numbers (1/0, sqrt(-1), overflow) become blank."""
    return number if math.isfinite(number) else BLANK


def format_number(number: float) -> str:
    """A number as text, exactly as JavaScript's Number#toString writes it.

    Both evaluators must turn numbers into the same text (for string comparison, concat(), and
    calculated values shown to users), so Python follows the ECMAScript algorithm: the shortest
    digits that round-trip (``repr``), laid out without exponent between 1e-7 and 1e21.
    """
    if number == 0:
        return "0"
    if not math.isfinite(number):
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    text = _TEXTS.get(number)  # calcs give the same scores and ratios again and again
    if text is None:
        if len(_TEXTS) >= _NUMBERS_MAX:
            _TEXTS.clear()
        text = _TEXTS[number] = _ecmascript_text(number)
    return text


_TEXTS: dict[float, str] = {}  # finite numbers already written (0.0 and -0.0 are answered above)


def _ecmascript_text(number: float) -> str:
    sign = "-" if number < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


def to_str(value: Value) -> str:
    """Text of a value: numbers as JavaScript writes them, booleans as '1'/'0' (REDCap's PHP-ish view)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float | int):
        return format_number(float(value))
    return value


def truthy(value: Value) -> bool:
    """Truth of a value in if(), and/or/not and branching logic.

    Blank is false; numbers and numeric text are true unless zero (so a checkbox's '0' is false);
    any other non-blank text is true.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return value != 0
    if value == "":
        return False
    number = to_number(value)
    return number != 0 if number is not None else True


def compare(op: str, left: Value, right: Value) -> bool:
    """REDCap comparison: numeric when both sides are numbers, text otherwise.

    A blank compared by order (< <= > >=) with a number is false either way: REDCap treats the
    blank as NaN there. In every other case a blank is the text ''.
    """
    a = to_number(left)
    b = to_number(right)
    if a is not None and b is not None:
        x: float | str = a
        y: float | str = b
    elif op not in ("=", "<>") and ((a is not None and is_blank(right)) or (b is not None and is_blank(left))):
        return False
    else:
        x, y = to_str(left), to_str(right)
    if op == "=":
        return x == y
    if op == "<>":
        return x != y
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def parse_datetime(value: Value, today: date, now: datetime) -> datetime | None:
    """An ISO date or date-time ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM[:SS]'), 'today' or 'now'; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    lowered = text.lower()
    if lowered == "today":
        return datetime(today.year, today.month, today.day)
    if lowered == "now":
        return now.replace(microsecond=0, tzinfo=None)
    match = DATE_RE.match(text)
    if not match:
        return None
    parts = [int(part) if part else 0 for part in match.groups()]
    try:
        return datetime(*parts)  # type: ignore[arg-type]
    except ValueError:  # 2023-02-30, 25:00
        return None
