"""Export profiles: what happens to every column of a release.

- `full`: every column as stored.
- `limited`: identifier fields removed (fields flagged as identifiers, and fields whose validation
  says what they hold: e-mail, phone, social security number, MRN, postal code).
- `deidentified`: as `limited`, and free text removed (unvalidated text, notes, file and sql
  fields), the record id replaced by a keyed hash, every date and datetime shifted by a per-record
  offset of 0-364 days or, with `date_mode="study_day"`, turned into days since enrolment.

The hash and the offset come from HMAC-SHA256 with the project's secret (`ExportKey`), so they
are the same in every release and cannot be recomputed without the secret. PostgreSQL computes
the same values with pgcrypto's `hmac` (see `sqlflat.py`); both must agree bit for bit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from forms.models import FieldType
from forms.values import validation_type
from registry.exports.flat import (
    KIND_CHECKBOX,
    KIND_COMPLETE,
    KIND_RECORD_ID,
    KIND_VALUE,
    PSEUDO_KINDS,
    FlatColumn,
)

FULL, LIMITED, DEIDENTIFIED = "full", "limited", "deidentified"
PROFILES = (FULL, LIMITED, DEIDENTIFIED)
DATE_SHIFT, STUDY_DAY = "shift", "study_day"
DATE_MODES = (DATE_SHIFT, STUDY_DAY)

KEPT, REMOVED, HASHED, SHIFTED, STUDY_DAYS = "kept", "removed", "hashed", "shifted", "study_day"
HASH_HEX_CHARS = 16  # 64 bits: no collision to expect below billions of records
IDENTIFYING_DATA_TYPES = frozenset({"email", "phone", "ssn", "mrn", "postal_code"})
DATE_DATA_TYPES = ("date", "datetime", "datetime_seconds")
SQL_DATE_FORMATS = {"date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH24:MI", "datetime_seconds": "YYYY-MM-DD HH24:MI:SS"}
PY_DATE_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M", "datetime_seconds": "%Y-%m-%d %H:%M:%S"}
DATE_PATTERNS = {
    "date": r"^\d{4}-\d\d-\d\d$",
    "datetime": r"^\d{4}-\d\d-\d\d \d\d:\d\d$",
    "datetime_seconds": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
}


class ProfileError(ValueError):
    pass


def data_type_of(f, custom_types=None) -> str:
    """The column type of a field: string, integer, number, date, datetime, datetime_seconds, time, code."""
    ftype = f.field_type
    if ftype in (FieldType.RADIO, FieldType.DROPDOWN, FieldType.YESNO, FieldType.TRUEFALSE):
        return "code"
    if ftype == FieldType.CALC:
        return "number"
    if ftype == FieldType.SLIDER:
        return "integer"
    if ftype == FieldType.TEXT and f.validation:
        vtype = validation_type(f.validation, custom_types)
        if vtype is not None:
            if vtype.data_type in ("integer",):
                return "integer"
            if vtype.data_type in ("number", "number_comma_decimal"):
                return "number" if vtype.data_type == "number" else "string"
            if vtype.data_type in DATE_DATA_TYPES or vtype.data_type == "time":
                return vtype.data_type
    return "string"


def identifier_reason(f, custom_types=None) -> str:
    """Why a field identifies a patient ('' when it does not)."""
    if f.identifier:
        return "identifier field"
    if f.field_type == FieldType.TEXT and f.validation:
        vtype = validation_type(f.validation, custom_types)
        if vtype is not None and vtype.data_type in IDENTIFYING_DATA_TYPES:
            return f"identifying validation ({f.validation})"
    return ""


def free_text_reason(f, custom_types=None) -> str:
    """Why a field is free text ('' when it is not): unvalidated text, notes, file names, sql."""
    if f.field_type == FieldType.NOTES:
        return "free text (notes)"
    if f.field_type == FieldType.FILE:
        return "free text (file name)"
    if f.field_type == FieldType.SQL:
        return "free text (sql field)"
    if f.field_type == FieldType.TEXT and (not f.validation or validation_type(f.validation, custom_types) is None):
        return "free text (unvalidated text)"
    return ""


@dataclass(frozen=True)
class ColumnPlan:
    """One flat column and what the profile does with it."""

    column: FlatColumn
    action: str  # kept, removed, hashed, shifted, study_day
    reason: str
    data_type: str  # the type of the exported values (after the action)
    source_type: str  # the type of the stored values

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def exported(self) -> bool:
        return self.action != REMOVED


def plan_columns(design, columns: list[FlatColumn], profile: str, date_mode: str = DATE_SHIFT) -> list[ColumnPlan]:
    if profile not in PROFILES:
        raise ProfileError(f"{profile!r} is not an export profile ({', '.join(PROFILES)})")
    if date_mode not in DATE_MODES:
        raise ProfileError(f"{date_mode!r} is not a date mode ({', '.join(DATE_MODES)})")
    custom = getattr(design, "custom_types", None)
    plans = []
    for c in columns:
        if c.kind == KIND_RECORD_ID:
            if profile == DEIDENTIFIED:
                plans.append(ColumnPlan(c, HASHED, "record id replaced by a keyed hash", "string", "string"))
            else:
                plans.append(ColumnPlan(c, KEPT, "", "string", "string"))
            continue
        if c.kind in PSEUDO_KINDS:
            plans.append(ColumnPlan(c, KEPT, "", "integer" if c.name == "redcap_repeat_instance" else "string", ""))
            continue
        if c.kind == KIND_COMPLETE:
            plans.append(ColumnPlan(c, KEPT, "", "code", "code"))
            continue
        f = design.field_map[c.field]
        source = "checkbox" if c.kind == KIND_CHECKBOX else data_type_of(f, custom)
        if profile in (LIMITED, DEIDENTIFIED):
            reason = identifier_reason(f, custom)
            if reason:
                plans.append(ColumnPlan(c, REMOVED, reason, source, source))
                continue
        if profile == DEIDENTIFIED and c.kind == KIND_VALUE:
            reason = free_text_reason(f, custom)
            if reason:
                plans.append(ColumnPlan(c, REMOVED, reason, source, source))
                continue
            if source in DATE_DATA_TYPES:
                if date_mode == STUDY_DAY:
                    plans.append(
                        ColumnPlan(
                            c, STUDY_DAYS, "days since enrolment", "integer" if source == "date" else "number", source
                        )
                    )
                else:
                    plans.append(ColumnPlan(c, SHIFTED, "shifted by the record's offset (0-364 days)", source, source))
                continue
        plans.append(ColumnPlan(c, KEPT, "", source, source))
    return plans


# -- the keyed transforms -----------------------------------------------------------------------


def hash_record_id(secret: str, record_id: str) -> str:
    return hmac.new(secret.encode(), record_id.encode(), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]


def date_offset(secret: str, record_id: str) -> int:
    """The record's date shift in days, 0-364: the first 32 bits of HMAC(secret, 'dateshift:' + id) mod 365."""
    digest = hmac.new(secret.encode(), f"dateshift:{record_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % 365


def _parse(value: str, data_type: str):
    try:
        parsed = datetime.strptime(value, PY_DATE_FORMATS[data_type])
    except ValueError:
        return None
    return parsed.date() if data_type == "date" else parsed


def shift_value(value: str, data_type: str, offset: int) -> str:
    """A date or datetime moved forward by `offset` days; '' for a value that is not one."""
    parsed = _parse(value, data_type)
    if parsed is None:
        return ""
    return (parsed + timedelta(days=offset)).strftime(PY_DATE_FORMATS[data_type])


def study_day_value(value: str, data_type: str, anchor: date | None) -> str:
    """Days since enrolment: whole days for a date, days to three decimals for a datetime."""
    parsed = _parse(value, data_type)
    if parsed is None or anchor is None:
        return ""
    if data_type == "date":
        return str((parsed - anchor).days)
    seconds = int((parsed - datetime.combine(anchor, datetime.min.time())).total_seconds())
    return str((Decimal(seconds) / Decimal(86400)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def anchor_field(design, project) -> tuple[str, str] | None:
    """(instrument, field) of the enrolment date: project setting `enrolment_date_field`, else the first
    date field whose name starts with 'enrol' or 'enroll', else None (then the record's creation day)."""
    configured = (project.settings or {}).get("enrolment_date_field") or (project.settings or {}).get(
        "enrollment_date_field"
    )
    candidates = [configured] if configured else []
    for name, f in design.field_map.items():
        if name.startswith(("enrol", "enroll")) and data_type_of(f, design.custom_types) == "date":
            candidates.append(name)
    for name in candidates:
        f = design.field_map.get(name)
        if f is not None and data_type_of(f, design.custom_types) == "date":
            return design.instrument_of[name], name
    return None


def record_anchor(design, info, anchor: tuple[str, str] | None) -> date | None:
    """The enrolment date of a record (earliest event holding it), else the day the record was created."""
    if anchor is not None:
        instrument, name = anchor
        order = {e: i for i, (e, _l) in enumerate(design.events)}
        found = sorted(
            (order.get(f.event, len(order)), f.instance, f.data.get(name))
            for f in info.forms
            if f.instrument == instrument and f.data.get(name)
        )
        for _o, _i, value in found:
            parsed = _parse(str(value), "date")
            if parsed is not None:
                return parsed
    return info.created_on


class RowTransformer:
    """Applies a column plan to flat rows, record by record."""

    def __init__(self, plans: list[ColumnPlan], *, secret: str, design=None, anchor=None):
        self.plans = [p for p in plans if p.exported]
        self.secret = secret
        self.design = design
        self.anchor = anchor
        self.needs_offset = any(p.action == SHIFTED for p in self.plans)
        self.needs_anchor = any(p.action == STUDY_DAYS for p in self.plans)
        self.identity = all(p.action == KEPT for p in self.plans)
        self._record = None
        self._hash = ""
        self._offset = 0
        self._anchor_date = None

    def _prepare(self, info) -> None:
        if self._record == info.pk:
            return
        self._record = info.pk
        self._hash = hash_record_id(self.secret, info.record_id)
        if self.needs_offset:
            self._offset = date_offset(self.secret, info.record_id)
        if self.needs_anchor:
            self._anchor_date = record_anchor(self.design, info, self.anchor)

    def hashed_id(self, info) -> str:
        self._prepare(info)
        return self._hash

    def apply(self, info, row: dict) -> dict:
        """The exported columns of one row, transformed."""
        if self.identity:
            return {p.column.name: row[p.column.name] for p in self.plans}
        self._prepare(info)
        out = {}
        for p in self.plans:
            value = row[p.column.name]
            if p.action == HASHED:
                value = self._hash
            elif p.action == SHIFTED and value != "":
                value = (
                    shift_value(value, p.source_type, self._offset)
                    if _parse(value, p.source_type)
                    else (value if value in getattr(self.design, "missing_codes", {}) else "")
                )
            elif p.action == STUDY_DAYS and value != "":
                value = (
                    study_day_value(value, p.source_type, self._anchor_date)
                    if _parse(value, p.source_type)
                    else (value if value in getattr(self.design, "missing_codes", {}) else "")
                )
            out[p.column.name] = value
        return out
