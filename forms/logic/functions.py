"""The function whitelist: arity (checked at parse time) and the Python implementation.

Each implementation takes the evaluation context and the evaluated arguments. ``if`` and the
missing-code tests are special forms handled by the evaluator (``if`` evaluates one branch only;
the missing-code tests look at a field's missing code, not its value), so they have no entry in
``IMPLEMENTATIONS``. The JavaScript twins live in forms/static/crf/logic-runtime.js.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from .values import (
    BLANK,
    STRICT_INTEGER_RE,
    STRICT_NUMBER_RE,
    Value,
    is_blank,
    number_result,
    parse_datetime,
    to_number,
    to_str,
    truthy,
)

if TYPE_CHECKING:
    from .context import EvalContext

MANY = 10_000


@dataclass(frozen=True, slots=True)
class Arity:
    minimum: int
    maximum: int

    def describe(self) -> str:
        if self.minimum == self.maximum:
            return f"{self.minimum} argument{'s' if self.minimum != 1 else ''}"
        if self.maximum >= MANY:
            return f"at least {self.minimum} argument{'s' if self.minimum != 1 else ''}"
        return f"{self.minimum} to {self.maximum} arguments"


ARITY: dict[str, Arity] = {
    "if": Arity(3, 3),
    "datediff": Arity(3, 5),
    "calcdate": Arity(3, 3),
    "calctext": Arity(1, 1),
    "round": Arity(1, 2),
    "roundup": Arity(1, 2),
    "rounddown": Arity(1, 2),
    "abs": Arity(1, 1),
    "sqrt": Arity(1, 1),
    "exponential": Arity(1, 1),
    "log": Arity(1, 2),
    "mod": Arity(2, 2),
    "min": Arity(1, MANY),
    "max": Arity(1, MANY),
    "mean": Arity(1, MANY),
    "median": Arity(1, MANY),
    "sum": Arity(1, MANY),
    "stdev": Arity(1, MANY),
    "isnumber": Arity(1, 1),
    "isinteger": Arity(1, 1),
    "contains": Arity(2, 2),
    "not_contain": Arity(2, 2),
    "starts_with": Arity(2, 2),
    "ends_with": Arity(2, 2),
    "find": Arity(2, 2),
    "left": Arity(2, 2),
    "right": Arity(2, 2),
    "mid": Arity(3, 3),
    "length": Arity(1, 1),
    "trim": Arity(1, 1),
    "upper": Arity(1, 1),
    "lower": Arity(1, 1),
    "concat": Arity(1, MANY),
    "concat_ws": Arity(2, MANY),
    "replace_text": Arity(3, 3),
    "year": Arity(1, 1),
    "month": Arity(1, 1),
    "day": Arity(1, 1),
    "isblankormissingcode": Arity(1, 1),
    "isblanknotmissingcode": Arity(1, 1),
    "ismissingcode": Arity(1, 1),
}

MISSING_CODE_FUNCTIONS = frozenset({"isblankormissingcode", "isblanknotmissingcode", "ismissingcode"})

DATEDIFF_UNITS: dict[str, float] = {
    # Seconds per unit; REDCap's year is 365.2425 days and its month 30.44 days.
    "y": 31556952.0,
    "M": 2630016.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
}
LEGACY_DATE_FORMATS = frozenset({"ymd", "mdy", "dmy"})


def round_half_up(number: float) -> float:
    """JavaScript's Math.round: the nearest integer, halves toward +infinity (exact, no +0.5 error)."""
    floor = math.floor(number)
    return float(floor + 1 if number - floor >= 0.5 else floor)


# --- rounding -------------------------------------------------------------------------------------
# Rounding works on the shortest decimal text of the number (repr in Python, toExponential() in
# JavaScript) so that round(1.005, 2) is 1.01 as a person expects, and both evaluators agree.


# Shifting by more than 400 places changes nothing more for any double (|x| * 1e400 is past 2**52,
# |x| * 1e-400 rounds to 0 or 1), so the places are clamped; both runtimes do the same.
MAX_PLACES = 400


def _shift(number: float, places: int) -> float:
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    text = ("-" if sign else "") + "".join(map(str, digits)) + f"e{int(exponent) + places}"
    return float(text)  # like JavaScript's Number(text): correctly rounded, inf/0 past the range


def _unshift(integer: float, places: int) -> float:
    return float(f"{int(integer)}e{-places}")


def _round_with(number: float, places: int, mode: str) -> float:
    shifted = _shift(number, places)
    if not math.isfinite(shifted) or abs(shifted) >= 2**52:
        return number  # already an integer at that precision
    if mode == "half":
        integer = math.copysign(round_half_up(abs(shifted)), shifted)  # halves away from zero, as PHP
    elif mode == "up":
        integer = math.ceil(shifted)
    else:
        integer = math.floor(shifted)
    return _unshift(integer, places)


def _rounding(mode: str) -> Callable[..., Value]:
    def implementation(ctx: EvalContext, value: Value, places: Value = 0.0) -> Value:
        number = to_number(value)
        digits = to_number(places)
        if number is None or digits is None:
            return BLANK
        places_clamped = max(-MAX_PLACES, min(MAX_PLACES, int(digits)))
        return number_result(_round_with(number, places_clamped, mode))

    return implementation


# --- numbers ---------------------------------------------------------------------------------------


def _unary_math(operation: Callable[[float], float]) -> Callable[..., Value]:
    def implementation(ctx: EvalContext, value: Value) -> Value:
        number = to_number(value)
        if number is None:
            return BLANK
        try:
            return number_result(operation(number))
        except (ValueError, OverflowError):  # sqrt(-1), exp(1000): JavaScript gives NaN/Infinity
            return BLANK

    return implementation


def _log(ctx: EvalContext, value: Value, base: Value = BLANK) -> Value:
    number = to_number(value)
    if number is None or number <= 0:
        return BLANK
    if is_blank(base):
        return number_result(math.log(number))
    base_number = to_number(base)
    if base_number is None or base_number <= 0 or base_number == 1:
        return BLANK
    return number_result(math.log(number) / math.log(base_number))


def _mod(ctx: EvalContext, dividend: Value, divisor: Value) -> Value:
    a = to_number(dividend)
    b = to_number(divisor)
    if a is None or b is None or b == 0:
        return BLANK
    return number_result(math.fmod(a, b))  # sign of the dividend, as JavaScript's %


def _numbers(args: tuple[Value, ...]) -> list[float]:
    """The numeric arguments of an aggregate; blanks and text are skipped, as REDCap does."""
    return [number for number in map(to_number, args) if number is not None]


def _sum(ctx: EvalContext, *args: Value) -> Value:
    numbers = _numbers(args)
    if not numbers:
        return BLANK
    total = 0.0
    for number in numbers:  # left to right, as the JavaScript loop (not math.fsum)
        total += number
    return number_result(total)


def _mean(ctx: EvalContext, *args: Value) -> Value:
    numbers = _numbers(args)
    if not numbers:
        return BLANK
    total = 0.0
    for number in numbers:
        total += number
    return number_result(total / len(numbers))


def _median(ctx: EvalContext, *args: Value) -> Value:
    numbers = sorted(_numbers(args))
    if not numbers:
        return BLANK
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return number_result((numbers[middle - 1] + numbers[middle]) / 2)


def _stdev(ctx: EvalContext, *args: Value) -> Value:
    """Sample standard deviation (n - 1); fewer than two numbers give blank."""
    numbers = _numbers(args)
    if len(numbers) < 2:
        return BLANK
    total = 0.0
    for number in numbers:
        total += number
    mean = total / len(numbers)
    squares = 0.0
    for number in numbers:
        squares += (number - mean) * (number - mean)
    return number_result(math.sqrt(squares / (len(numbers) - 1)))


def _min(ctx: EvalContext, *args: Value) -> Value:
    numbers = _numbers(args)
    return min(numbers) if numbers else BLANK


def _max(ctx: EvalContext, *args: Value) -> Value:
    numbers = _numbers(args)
    return max(numbers) if numbers else BLANK


def _isnumber(ctx: EvalContext, value: Value) -> Value:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return bool(STRICT_NUMBER_RE.match(value))


def _isinteger(ctx: EvalContext, value: Value) -> Value:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value) and value == math.floor(value)
    return bool(STRICT_INTEGER_RE.match(value))


# --- text ------------------------------------------------------------------------------------------

_SPACE = " \t\n\r\f\v"


def _contains(ctx: EvalContext, haystack: Value, needle: Value) -> Value:
    return to_str(needle).lower() in to_str(haystack).lower()


def _not_contain(ctx: EvalContext, haystack: Value, needle: Value) -> Value:
    return to_str(needle).lower() not in to_str(haystack).lower()


def _starts_with(ctx: EvalContext, haystack: Value, needle: Value) -> Value:
    return to_str(haystack).lower().startswith(to_str(needle).lower())


def _ends_with(ctx: EvalContext, haystack: Value, needle: Value) -> Value:
    return to_str(haystack).lower().endswith(to_str(needle).lower())


def _find(ctx: EvalContext, needle: Value, haystack: Value) -> Value:
    return float(to_str(haystack).lower().find(to_str(needle).lower()) + 1)


def _count(value: Value) -> int | None:
    number = to_number(value)
    return None if number is None else int(number)


def _left(ctx: EvalContext, text: Value, count: Value) -> Value:
    n = _count(count)
    if n is None:
        return BLANK
    return to_str(text)[: max(n, 0)]


def _right(ctx: EvalContext, text: Value, count: Value) -> Value:
    n = _count(count)
    if n is None:
        return BLANK
    return to_str(text)[-n:] if n > 0 else BLANK


def _mid(ctx: EvalContext, text: Value, start: Value, count: Value) -> Value:
    first = _count(start)
    n = _count(count)
    if first is None or n is None:
        return BLANK
    begin = max(first, 1) - 1
    return to_str(text)[begin : begin + max(n, 0)]


def _length(ctx: EvalContext, text: Value) -> Value:
    return float(len(to_str(text)))


def _trim(ctx: EvalContext, text: Value) -> Value:
    return to_str(text).strip(_SPACE)


def _upper(ctx: EvalContext, text: Value) -> Value:
    return to_str(text).upper()


def _lower(ctx: EvalContext, text: Value) -> Value:
    return to_str(text).lower()


def _concat(ctx: EvalContext, *args: Value) -> Value:
    return "".join(map(to_str, args))


def _concat_ws(ctx: EvalContext, separator: Value, *args: Value) -> Value:
    """Joins the non-blank arguments with the separator (blanks are skipped, no doubled separators)."""
    return to_str(separator).join(to_str(arg) for arg in args if not is_blank(arg))


def _replace_text(ctx: EvalContext, text: Value, find: Value, replacement: Value) -> Value:
    needle = to_str(find)
    if needle == "":
        return to_str(text)
    return to_str(text).replace(needle, to_str(replacement))


def _calctext(ctx: EvalContext, value: Value) -> Value:
    return value


# --- dates -----------------------------------------------------------------------------------------


def _parse(ctx: EvalContext, value: Value) -> datetime | None:
    if not isinstance(value, str):
        return None
    # The clock is asked only for 'today' and 'now': reading it for every stored date cost a third of datediff.
    if value[-1:].isalpha() and value.strip().lower() in ("today", "now"):
        return parse_datetime(value, ctx.today, ctx.now)
    moment = _MOMENTS.get(value, _UNSEEN)  # a record's dates come back in rule after rule
    if moment is _UNSEEN:
        moment = parse_datetime(value, _NO_DAY, _NO_TIME)
        if len(value) <= 40:
            if len(_MOMENTS) >= 50_000:
                _MOMENTS.clear()
            _MOMENTS[value] = moment
    return moment  # type: ignore[return-value]


_MOMENTS: dict[str, datetime | None] = {}  # parsed texts (datetimes are immutable, so sharing them is safe)
_UNSEEN = object()


_NO_DAY, _NO_TIME = date.min, datetime.min  # never read: parse_datetime uses them only for 'today' and 'now'


def _signed_flag(value: Value) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return truthy(value)


def _datediff(ctx: EvalContext, first: Value, second: Value, unit: Value, *rest: Value) -> Value:
    """second - first in the unit; absolute unless the signed flag is true.

    The 4th argument may be the legacy date format ('ymd', 'mdy', 'dmy'): stored dates are ISO, so
    it is ignored and the signed flag is then the 5th argument.
    """
    options = list(rest)
    if options and isinstance(options[0], str) and options[0].strip().lower() in LEGACY_DATE_FORMATS:
        options.pop(0)
    signed = _signed_flag(options[0]) if options else False
    seconds_per_unit = DATEDIFF_UNITS.get(to_str(unit).strip())
    start = _parse(ctx, first)
    end = _parse(ctx, second)
    if seconds_per_unit is None or start is None or end is None:
        return BLANK
    difference = (end - start).total_seconds() / seconds_per_unit
    return float(difference if signed else abs(difference))


def _date_part(part: str) -> Callable[..., Value]:
    def implementation(ctx: EvalContext, value: Value) -> Value:
        moment = _parse(ctx, value)
        return BLANK if moment is None else float(getattr(moment, part))

    return implementation


def _calcdate(ctx: EvalContext, value: Value, offset: Value, unit: Value) -> Value:
    """The date plus offset units. A date stays a date (time of day dropped); a date-time keeps its time."""
    start = _parse(ctx, value)
    amount = to_number(offset)
    seconds_per_unit = DATEDIFF_UNITS.get(to_str(unit).strip())
    if start is None or amount is None or seconds_per_unit is None:
        return BLANK
    text = to_str(value).strip()
    try:
        moment = start + timedelta(seconds=round_half_up(amount * seconds_per_unit))
    except OverflowError:
        return BLANK
    if moment.year < 1 or moment.year > 9999:
        return BLANK
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"  # strftime drops zeros of years < 1000
    if len(text) == 10 or text.lower() == "today":
        return day
    if len(text) == 16:
        return f"{day} {moment.hour:02d}:{moment.minute:02d}"
    return f"{day} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"


IMPLEMENTATIONS: dict[str, Callable[..., Value]] = {
    "datediff": _datediff,
    "calcdate": _calcdate,
    "calctext": _calctext,
    "round": _rounding("half"),
    "roundup": _rounding("up"),
    "rounddown": _rounding("down"),
    "abs": _unary_math(abs),
    "sqrt": _unary_math(math.sqrt),
    "exponential": _unary_math(math.exp),
    "log": _log,
    "mod": _mod,
    "min": _min,
    "max": _max,
    "mean": _mean,
    "median": _median,
    "sum": _sum,
    "stdev": _stdev,
    "isnumber": _isnumber,
    "isinteger": _isinteger,
    "contains": _contains,
    "not_contain": _not_contain,
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "find": _find,
    "left": _left,
    "right": _right,
    "mid": _mid,
    "length": _length,
    "trim": _trim,
    "upper": _upper,
    "lower": _lower,
    "concat": _concat,
    "concat_ws": _concat_ws,
    "replace_text": _replace_text,
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
}

FUNCTION_NAMES = frozenset(ARITY)
