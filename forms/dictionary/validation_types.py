"""REDCap's built-in text validation types (REDCap 15.7 install data) and the min/max rules they imply."""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple


class BuiltinType(NamedTuple):
    label: str
    data_type: str


BUILTIN: dict[str, BuiltinType] = {
    "date_ymd": BuiltinType("Date (Y-M-D)", "date"),
    "date_mdy": BuiltinType("Date (M-D-Y)", "date"),
    "date_dmy": BuiltinType("Date (D-M-Y)", "date"),
    "datetime_ymd": BuiltinType("Datetime (Y-M-D H:M)", "datetime"),
    "datetime_mdy": BuiltinType("Datetime (M-D-Y H:M)", "datetime"),
    "datetime_dmy": BuiltinType("Datetime (D-M-Y H:M)", "datetime"),
    "datetime_seconds_ymd": BuiltinType("Datetime w/ seconds (Y-M-D H:M:S)", "datetime_seconds"),
    "datetime_seconds_mdy": BuiltinType("Datetime w/ seconds (M-D-Y H:M:S)", "datetime_seconds"),
    "datetime_seconds_dmy": BuiltinType("Datetime w/ seconds (D-M-Y H:M:S)", "datetime_seconds"),
    "time": BuiltinType("Time (HH:MM)", "time"),
    "time_hh_mm_ss": BuiltinType("Time (HH:MM:SS)", "time"),
    "time_mm_ss": BuiltinType("Time (MM:SS)", "time"),
    "integer": BuiltinType("Integer", "integer"),
    "number": BuiltinType("Number", "number"),
    **{
        f"number_{n}dp": BuiltinType(f"Number ({n} decimal place{'s' if n > 1 else ''})", "number") for n in range(1, 5)
    },
    "number_comma_decimal": BuiltinType("Number (comma as decimal)", "number_comma_decimal"),
    **{
        f"number_{n}dp_comma_decimal": BuiltinType(
            f"Number ({n} decimal place{'s' if n > 1 else ''} - comma as decimal)", "number_comma_decimal"
        )
        for n in range(1, 5)
    },
    "email": BuiltinType("Email", "email"),
    "phone": BuiltinType("Phone (North America)", "phone"),
    "phone_australia": BuiltinType("Phone (Australia)", "phone"),
    "phone_uk": BuiltinType("Phone (UK)", "phone"),
    "phone_france": BuiltinType("Phone (France)", "phone"),
    "zipcode": BuiltinType("Zipcode (U.S.)", "postal_code"),
    "postalcode_australia": BuiltinType("Postal Code (Australia)", "postal_code"),
    "postalcode_canada": BuiltinType("Postal Code (Canada)", "postal_code"),
    "postalcode_germany": BuiltinType("Postal Code (Germany)", "postal_code"),
    "postalcode_french": BuiltinType("Code Postal 5 caracteres (France)", "postal_code"),
    "postalcode_uk": BuiltinType("Postal Code (UK)", "postal_code"),
    "ssn": BuiltinType("Social Security Number (U.S.)", "ssn"),
    "mrn_10d": BuiltinType("MRN (10 digits)", "mrn"),
    "mrn_generic": BuiltinType("MRN (generic)", "mrn"),
    "vmrn": BuiltinType("Vanderbilt MRN", "mrn"),
    "alpha_only": BuiltinType("Letters only", "text"),
}
LEGACY = {
    "int": "integer",
    "float": "number",
    "date": "date_ymd",
    "datetime": "datetime_ymd",
    "datetime_seconds": "datetime_seconds_ymd",
}
# Column H values that are not text validations, per field type.
NON_TEXT_H = {"file": {"signature"}, "dropdown": {"autocomplete"}, "sql": {"autocomplete"}, "slider": {"number"}}

# Validations whose stored values mean the same thing: changing between them reinterprets nothing,
# because dates and datetimes are always stored ISO whatever their display order.
STORAGE_FAMILY = {name: t.data_type for name, t in BUILTIN.items() if t.data_type.startswith(("date", "time"))}

_NUMBER = re.compile(r"^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$")
_COMMA_NUMBER = re.compile(r"^[-+]?[0-9]*[.,]?[0-9]+([eE][-+]?[0-9]+)?$")
_INTEGER = re.compile(r"^[-+]?\d+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class BoundError(ValueError):
    """A min/max that cannot be read for the field's validation type."""


def _year(text: str) -> int:
    # Two-digit years come from spreadsheets that reformatted the cell; Excel's pivot is 2029/1930.
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 30 else 1900
    return year


def _date(text: str, order: str) -> str:
    """An ISO date from ISO or slash forms; `order` is the field's display order (ymd, mdy, dmy)."""
    m = _ISO_DATE.match(text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            raise BoundError(f'"{text}" is not a valid date') from None
    m = _SLASH_DATE.match(text)
    if not m:
        raise BoundError(f'"{text}" is not a date (YYYY-MM-DD)')
    a, b, year = int(m[1]), int(m[2]), _year(m[3])
    # Try the field's own order first, then the other one (US spreadsheets write M/D/Y everywhere).
    attempts = [(b, a), (a, b)] if order == "dmy" else [(a, b), (b, a)]
    for month, day in attempts:
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    raise BoundError(f'"{text}" is not a valid date')


def _time(text: str, seconds: bool) -> str:
    m = _TIME.match(text)
    if not m or int(m[1]) > 23 or int(m[2]) > 59 or (m[3] and int(m[3]) > 59):
        raise BoundError(f'"{text}" is not a time (HH:MM)')
    out = f"{int(m[1]):02d}:{m[2]}"
    if seconds:
        out += f":{m[3] or '00'}"
    return out


def normalise_bound(value: str, validation: str, data_type: str) -> str:
    """Check a min/max against its validation and return it as REDCap stores it (dates ISO, times padded).

    `today`, `now` and a piped `[field]` are accepted as they are; the caller checks that the field exists.
    """
    text = value.strip()
    if text.lower() in ("today", "now") or (text.startswith("[") and text.endswith("]")):
        return text
    if data_type == "integer":
        if not _INTEGER.match(text):
            raise BoundError(f'"{text}" is not an integer')
        return text
    if data_type == "number":
        if not _NUMBER.match(text):
            raise BoundError(f'"{text}" is not a number')
        return text
    if data_type == "number_comma_decimal":
        if not _COMMA_NUMBER.match(text):
            raise BoundError(f'"{text}" is not a number')
        return text
    order = validation.rsplit("_", 1)[-1] if validation.endswith(("_ymd", "_mdy", "_dmy")) else "ymd"
    if data_type == "date":
        return _date(text, order)
    if data_type in ("datetime", "datetime_seconds"):
        day, _, clock = text.partition(" ")
        if not clock:
            raise BoundError(f'"{text}" is not a date and time (YYYY-MM-DD HH:MM)')
        return f"{_date(day, order)} {_time(clock.strip(), data_type == 'datetime_seconds')}"
    if data_type == "time":
        if validation == "time_mm_ss":
            if not re.match(r"^[0-5]\d:[0-5]\d$", text):
                raise BoundError(f'"{text}" is not a time (MM:SS)')
            return text
        return _time(text, validation == "time_hh_mm_ss")
    # Other types (email, phone, project-defined) have no ordering REDCap checks.
    return text
