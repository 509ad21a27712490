"""Reading a submitted data-entry form straight from the POST data, without building the Django form.

Building the Django form of a large instrument (a form field, a widget and a choice list per REDCap
field, and a crispy layout) costs more than the save itself: on the 114-field SoJIA workup it was
about a third of a save's time. A save only needs the submitted values, and every value check lives
in the save service (forms.values), so the form page reads the POST here and builds the Django form
only to show the page again.

`read_submission` accepts exactly what the Django form would accept and gives what
`values_from_form` gives. Anything the form would refuse (a choice that is not offered, a status
that is not one, a null character) returns None: the page then falls back to the Django form, so
the messages a user sees stay the form's own.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from forms.rendering import field_choices, is_read_only_field, missing_name, values_from_form
from forms.values import DATE_TYPES, validation_type

STATUSES = frozenset({"0", "1", "2"})
# What Django's IntegerField takes: a sign, digits, and a ".0" it drops (the group is the number).
ROW_VERSION = re.compile(r"([+-]?\d{1,18})(?:\.0*)?\s*")


@dataclass(frozen=True)
class Submission:
    values: dict[str, str]
    missing: dict[str, str]
    status: int
    row_version: int | None
    reason: str


def _text(post, name: str) -> str | None:
    """A CharField's cleaned value (stripped), or None when the form would refuse it."""
    value = post.get(name)
    if value is None:
        return ""
    if "\x00" in value:
        return None
    return value.strip()


@dataclass(frozen=True, slots=True)
class _Read:
    """How one shown field is read from a post, worked out once per field (the field's kept answers)."""

    name: str
    kind: str  # "checkbox", "choice", "text", or "" (descriptive: nothing to read)
    disabled: bool
    offered: frozenset[str]
    columns: tuple[tuple[str, str], ...]  # (code, column) of a checkbox
    missing_key: str  # the name of its missing-data selector
    has_missing: bool  # a missing-data selector may stand beside it (not beside a calc)
    dates: bool  # a date or datetime text field: a browser's 'T' separator is turned into a space


_CHOICE_TYPES = frozenset({"radio", "yesno", "truefalse", "dropdown", "sql"})


def _read_of(field) -> _Read:
    return field.kept(
        "submission_read",
        (field.field_type, field.choices, field.action_tags, field.name, field.validation),
        lambda: _make_read(field),
    )


def _make_read(field) -> _Read:
    ftype = field.field_type
    vtype = validation_type(field.validation) if ftype == "text" and field.validation else None
    return _Read(
        name=field.name,
        kind="" if ftype == "descriptive" else "checkbox" if ftype == "checkbox" else
        "choice" if ftype in _CHOICE_TYPES else "text",
        disabled=is_read_only_field(field),
        offered=frozenset(code for code, _ in field_choices(field)),
        columns=tuple(zip((code for code, _ in field.choices), field.checkbox_columns(), strict=True))
        if ftype == "checkbox" else (),
        missing_key=missing_name(field.name),
        has_missing=ftype != "calc",
        dates=vtype is not None and vtype.data_type in DATE_TYPES,
    )  # fmt: skip


def read_submission(
    fields: Sequence,
    post,
    *,
    missing_codes: Collection[str] = (),
    locked: Collection[str] = (),
) -> Submission | None:
    """The values of a posted instrument form, or None when the Django form would show an error.

    `fields` are the fields shown on the form, `missing_codes` the project's codes (a missing-data
    selector is offered beside each field when there are any), `locked` fields never taken from
    the post (the record id).
    """
    # A post's last value per name, as QueryDict.get gives it, read from a plain dict (~200 reads a save).
    lists = dict(post.lists()) if hasattr(post, "lists") else {k: [v] for k, v in post.items()}
    last = {k: v[-1] for k, v in lists.items() if v}
    values: dict[str, str] = {}
    missing: dict[str, str] = {}
    for read in map(_read_of, fields):
        kind = read.kind
        if not kind:
            continue
        name = read.name
        taken = not read.disabled and name not in locked
        if taken:
            if kind == "checkbox":
                chosen = lists.get(name, ())
                offered = read.offered
                if any(code not in offered for code in chosen):
                    return None
                for code, column in read.columns:
                    values[column] = "1" if code in chosen else "0"
            elif kind == "choice":
                value = last.get(name) or ""
                if value and value not in read.offered:
                    return None
                values[name] = value.strip()
            else:
                value = last.get(name, "")
                if "\x00" in value:
                    return None  # the CharField refuses a null character
                value = value.strip()
                if read.dates and "T" in value:
                    value = value.replace("T", " ")  # datetime-local gives 2026-01-02T10:30
                values[name] = value
        if missing_codes and read.has_missing:
            code = last.get(read.missing_key) or ""
            if code and code not in missing_codes:
                return None  # the form checks the selector even beside a read-only field
            if code and taken:
                missing[name] = code
    status = last.get("status") or ""
    if status not in STATUSES:
        return None
    row_version = (last.get("row_version") or "").strip()
    if row_version:
        number = ROW_VERSION.fullmatch(row_version)
        if number is None:
            return None
        row_version = number.group(1)
    reason = _text(last, "reason")
    if reason is None:
        return None
    return Submission(
        values=values,
        missing=missing,
        status=int(status),
        row_version=int(row_version) if row_version else None,
        reason=reason,
    )


def submission_from_form(form) -> Submission:
    """The same Submission from a valid bound Django form (the fallback path)."""
    values, missing = values_from_form(form)
    return Submission(
        values=values,
        missing=missing,
        status=form.cleaned_data["status"],
        row_version=form.cleaned_data.get("row_version"),
        reason=form.cleaned_data.get("reason", ""),
    )
