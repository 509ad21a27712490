"""Checking one raw value against its field: validation types, choices, limits.

Used by every path that writes data (form save, API import, record import) and by the
data-quality rules, so a value means the same thing everywhere. Values are REDCap raw
strings; dates and times are stored ISO whatever the display format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from forms.dictionary.validation_types import BUILTIN as BUILTIN_TYPES
from forms.dictionary.validation_types import LEGACY as LEGACY_NAMES


@dataclass(frozen=True)
class ValidationType:
    name: str
    data_type: str  # date, datetime, datetime_seconds, time, integer, number, email, phone, ...
    pattern: re.Pattern | None = None
    label: str = ""


def _re(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


_NUMBER = r"[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"
# Value patterns per type (REDCap's, simplified where its PHP regexes only add spelling); names,
# labels and data types come from the dictionary's list of built-in types, kept in one place.
PATTERNS: dict[str, re.Pattern] = {
    "time": _re(r"^([0-9]|[0-1][0-9]|2[0-3]):([0-5][0-9])$"),
    "time_hh_mm_ss": _re(r"^(\d|[01]\d|2[0-3])(:[0-5]\d){2}$"),
    "time_mm_ss": _re(r"^[0-5]\d:[0-5]\d$"),
    "integer": _re(r"^[-+]?\d+$"),
    "number": _re(rf"^{_NUMBER}$"),
    **{f"number_{n}dp": _re(rf"^-?\d+\.\d{{{n}}}$") for n in range(1, 5)},
    "number_comma_decimal": _re(r"^[-+]?[0-9]*,?[0-9]+([eE][-+]?[0-9]+)?$"),
    **{f"number_{n}dp_comma_decimal": _re(rf"^-?\d+,\d{{{n}}}$") for n in range(1, 5)},
    "email": _re(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    "phone": _re(r"^\(?[2-9]\d{2}\)?[\s.-]?[2-9]\d{2}[\s.-]?\d{4}(\s*(x|ext\.?)\s*\d+)?$"),
    "phone_australia": _re(r"^(\(0[2-8]\)|0[2-8])\s*\d{4}\s*\d{4}$"),
    "phone_uk": _re(r"^(\+44\s?|0)\d[\d\s]{8,12}$"),
    "phone_france": _re(r"^(\+33\s?|0)[1-9](\s?\d{2}){4}$"),
    "zipcode": _re(r"^\d{5}(-\d{4})?$"),
    "postalcode_australia": _re(r"^\d{4}$"),
    "postalcode_canada": _re(r"^[ABCEGHJKLMNPRSTVXY]\d[A-Z]\s*\d[A-Z]\d$", re.I),
    "postalcode_germany": _re(r"^(0[1-9]|[1-9]\d)\d{3}$"),
    "postalcode_french": _re(r"^((0?[1-9])|([1-8][0-9])|(9[0-8]))[0-9]{3}$"),
    "postalcode_uk": _re(r"^(([A-Z]{1,2}\d{1,2})|([A-Z]{1,2}\d[A-Z])) \d[ABD-HJLNP-Z]{2}$", re.I),
    "ssn": _re(r"^\d{3}-\d\d-\d{4}$"),
    "mrn_10d": _re(r"^\d{10}$"),
    "mrn_generic": _re(r"^[a-z0-9-_]+$", re.I),
    "vmrn": _re(r"^[0-9]{4,9}$"),
    "alpha_only": _re(r"^[a-z]+$", re.I),
}
BUILT_IN: dict[str, ValidationType] = {
    name: ValidationType(name, builtin.data_type, PATTERNS.get(name), builtin.label)
    for name, builtin in BUILTIN_TYPES.items()
}
ALIASES = LEGACY_NAMES
NUMERIC_TYPES = {"integer", "number", "number_comma_decimal"}
DATE_TYPES = {"date", "datetime", "datetime_seconds"}


def validation_type(name: str, custom: dict[str, ValidationType] | None = None) -> ValidationType | None:
    name = ALIASES.get(name, name)
    if custom and name in custom:
        return custom[name]
    return BUILT_IN.get(name)


ISO_SHAPES = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"),
    "datetime_seconds": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"),
}


_ISO_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M", "datetime_seconds": "%Y-%m-%d %H:%M:%S"}


def parse_iso(value: str, data_type: str) -> date | datetime | None:
    """The stored ISO value as a date or datetime; None when it is not exactly that shape (strptime alone
    would accept '2024-1-2 0:0:0').

    ASCII text of the exact shape goes through the C-level fromisoformat, which accepts and refuses the same
    dates and times as strptime there (every edge of the calendar and the clock is checked in tests) at a
    tenth of its cost: a save of the workup parses a dozen dates, a quality run millions.
    """
    shape = ISO_SHAPES.get(data_type)
    if shape is None or not shape.match(value):
        return None
    if not value.isascii():  # other scripts' digits: as strptime reads them
        return parse_iso_strptime(value, data_type)
    try:
        return date.fromisoformat(value) if data_type == "date" else datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_iso_strptime(value: str, data_type: str) -> date | datetime | None:
    """`parse_iso` by strptime alone: the reading it must agree with."""
    shape = ISO_SHAPES.get(data_type)
    if shape is None or not shape.match(value):
        return None
    try:
        parsed = datetime.strptime(value, _ISO_FORMATS[data_type])
    except ValueError:
        return None
    return parsed.date() if data_type == "date" else parsed


def to_number(value: str) -> Decimal | None:
    try:
        number = Decimal(value.replace(",", ".") if value.count(",") == 1 and "." not in value else value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def check_type(value: str, vtype: ValidationType) -> str | None:
    """An error message when the value does not fit the validation type, else None."""
    if vtype.data_type in DATE_TYPES:
        return _not_a_date(value, vtype.data_type) if parse_iso(value, vtype.data_type) is None else None
    if vtype.pattern is not None and not vtype.pattern.match(value):
        return f"{value!r} is not a valid {vtype.label or vtype.name}"
    return None


_DATE_SHAPES = {"date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM", "datetime_seconds": "YYYY-MM-DD HH:MM:SS"}


def _not_a_date(value: str, data_type: str) -> str:
    return f"{value!r} is not a valid {data_type.replace('_', ' ')} ({_DATE_SHAPES[data_type]})"


def typed_value(value: str, vtype: ValidationType) -> tuple[str | None, object]:
    """(check_type's error, the comparable value) of a value; a date is parsed once for both."""
    if vtype.data_type in DATE_TYPES:
        parsed = parse_iso(value, vtype.data_type)
        return (_not_a_date(value, vtype.data_type) if parsed is None else None), parsed
    error = check_type(value, vtype)
    return error, None if error else comparable(value, vtype.data_type)


def comparable(value: str, data_type: str):
    """The value as something ordered for limit checks (number, date, or time string)."""
    if data_type in NUMERIC_TYPES:
        return to_number(value)
    if data_type in DATE_TYPES:
        return parse_iso(value, data_type)
    if data_type == "time":
        return value.zfill(5) if len(value) < 5 else value
    return None


FIELD_LIMIT = re.compile(r"\[([a-z0-9_]+)\]")


def resolve_limit(limit: str, data_type: str, values: dict[str, str], today: date | None = None):
    """A min/max cell as a comparable: a literal, 'today'/'now', or a [field] of the same form."""
    limit = limit.strip()
    if not limit:
        return None
    if limit.lower() in ("today", "now"):
        now = datetime.now()
        today = today or now.date()
        if data_type == "date":
            return today
        return datetime.combine(today, now.time().replace(second=0, microsecond=0))
    match = FIELD_LIMIT.fullmatch(limit)
    if match:
        other = values.get(match.group(1), "")
        return comparable(other, data_type) if other else None
    return comparable(limit, data_type)


@dataclass
class ValueProblem:
    field: str
    value: str
    message: str
    hard: bool  # True: the value cannot be stored; False: a warning (soft limit)


@dataclass(frozen=True)
class _Limit:
    text: str  # the cell as written, for the message
    is_min: bool
    value: object  # the literal's comparable (None: no limit)
    per_value: bool  # 'today', 'now' or a [field]: resolved at each check


@dataclass(frozen=True)
class _Check:
    """What checking a value of one field asks of the field, worked out once per field and definition."""

    kind: str  # "choice", "binary", "slider", "typed" or "" (nothing to check)
    codes: frozenset[str] = frozenset()
    codes_text: str = ""
    low: int = 0
    high: int = 100
    vtype: ValidationType | None = None
    force: bool = False  # @FORCE-MINMAX: out of range is an error
    limits: tuple[_Limit, ...] = ()


def _check_of(field, custom_types: dict[str, ValidationType] | None) -> _Check:
    ftype = field.field_type
    if ftype in ("radio", "dropdown"):
        codes = [code for code, _ in field.choices]
        return _Check("choice", codes=frozenset(codes), codes_text=", ".join(codes))
    if ftype in ("yesno", "truefalse"):
        return _Check("binary")
    if ftype == "slider":
        low = int(field.validation_min or 0) if (field.validation_min or "0").lstrip("-").isdigit() else 0
        high = int(field.validation_max or 100) if (field.validation_max or "100").lstrip("-").isdigit() else 100
        return _Check("slider", low=low, high=high)
    vtype = validation_type(field.validation, custom_types) if ftype == "text" and field.validation else None
    if vtype is None:
        return _Check("")  # not a validated text field, or an unknown site-defined type (flagged at import)
    limits = []
    for text, is_min in ((field.validation_min, True), (field.validation_max, False)):
        cell = (text or "").strip()
        if not cell:
            continue
        per_value = cell.lower() in ("today", "now") or FIELD_LIMIT.fullmatch(cell) is not None
        limits.append(_Limit(text, is_min, None if per_value else comparable(cell, vtype.data_type), per_value))
    force = "@FORCE-MINMAX" in (field.annotation or "").upper()
    return _Check("typed", vtype=vtype, force=force, limits=tuple(limits))


def check_value(
    field,
    value: str,
    *,
    values: dict[str, str] | None = None,
    custom_types: dict[str, ValidationType] | None = None,
    today: date | None = None,
) -> list[ValueProblem]:
    """Problems of one raw value of a field (an object with field_type, choices, validation...).

    Wrong type, unknown choice code: hard. Out of min/max: soft, unless @FORCE-MINMAX.
    """
    if value == "":
        return []
    kept = getattr(field, "kept", None)  # a design's Field keeps its check; other objects build it each time
    if kept is None:
        check = _check_of(field, custom_types)
    else:
        inputs = (field.field_type, field.choices, field.validation, field.validation_min, field.validation_max,
                  field.annotation, custom_types or None)  # fmt: skip
        check = kept("value_check", inputs, lambda: _check_of(field, custom_types))
    kind = check.kind
    if kind == "typed":
        return _typed_problems(field.name, value, check, values, today)
    if kind == "choice":
        if value not in check.codes:
            return [ValueProblem(field.name, value, f"{value!r} is not one of the choices ({check.codes_text})", True)]
    elif kind == "binary":
        if value not in ("0", "1"):
            return [ValueProblem(field.name, value, f"{value!r} must be 1 or 0", True)]
    elif kind == "slider":
        low, high = check.low, check.high
        if not re.fullmatch(r"-?\d+", value) or not low <= int(value) <= high:
            return [ValueProblem(field.name, value, f"{value!r} must be a whole number from {low} to {high}", True)]
    return []


def _typed_problems(
    name: str, value: str, check: _Check, values: dict[str, str] | None, today: date | None
) -> list[ValueProblem]:
    vtype = check.vtype
    assert vtype is not None
    error, current = typed_value(value, vtype)
    if error:
        return [ValueProblem(name, value, error, True)]
    problems: list[ValueProblem] = []
    if current is None:
        return problems
    for limit in check.limits:
        bound = resolve_limit(limit.text, vtype.data_type, values or {}, today) if limit.per_value else limit.value
        if bound is None:
            continue
        try:
            outside = current < bound if limit.is_min else current > bound
        except TypeError:
            continue
        if outside:
            word = "below the minimum" if limit.is_min else "above the maximum"
            problems.append(ValueProblem(name, value, f"{value} is {word} ({limit.text})", check.force))
    return problems
