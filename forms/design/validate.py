"""Check arms, events, form-event mapping and repeating setup tables against a design.

Each `apply_*` function replaces one part of `design` with the rows of a table and returns the
errors and warnings it found. The formats are REDCap's (API `content=arm|event|formEventMapping|
repeatingFormsEvents`, CSV headers as REDCap exports them).
"""

from __future__ import annotations

import re

from forms.design.tables import Table
from forms.dictionary.issues import Issue
from forms.versions import ArmSpec, Design, EventSpec, RepeatSpec

ARM_COLUMNS = ("arm_num", "name")
EVENT_COLUMNS = (
    "event_name",
    "arm_num",
    "day_offset",
    "offset_min",
    "offset_max",
    "unique_event_name",
    "custom_event_label",
)
MAPPING_COLUMNS = ("arm_num", "unique_event_name", "form")
REPEATING_COLUMNS = ("event_name", "form_name", "custom_form_label")

UNIQUE_EVENT = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def unique_event_name(label: str, arm: int, taken: set[str]) -> str:
    """REDCap's unique name for a new event: the label cleaned and cut to 18 characters, then `_arm_N`."""
    stem = re.sub(r"[^a-z0-9_]", "", re.sub(r"\s+", "_", label.strip().lower()))[:18].strip("_") or "event"
    name, n = f"{stem}_arm_{arm}", 1
    while name in taken:
        n += 1
        name = f"{stem[:16]}{chr(ord('a') + n - 2)}_arm_{arm}" if n < 28 else f"{stem}_{n}_arm_{arm}"
    return name


def _number(table: Table, errors: list[Issue], row, column: str, *, integer: bool = False) -> float | int | None:
    text = row.get(column)
    if not text:
        return 0
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        errors.append(table.issue(row.row, column, f'"{text}" is not a{"n integer" if integer else " number"}'))
        return None
    return value


def apply_arms(design: Design, table: Table) -> tuple[list[Issue], list[Issue]]:
    errors: list[Issue] = list(table.errors)
    warnings: list[Issue] = list(table.warnings)
    arms: list[ArmSpec] = []
    seen: dict[int, int] = {}
    for row in table.rows:
        number = _number(table, errors, row, "arm_num", integer=True)
        name = row.get("name")
        if number is None:
            continue
        if number < 1:
            errors.append(table.issue(row.row, "arm_num", "arm numbers start at 1"))
        elif number in seen:
            errors.append(table.issue(row.row, "arm_num", f"arm {number} is already defined in row {seen[number]}"))
        if not name:
            errors.append(table.issue(row.row, "name", "the arm has no name"))
        seen.setdefault(number, row.row)
        arms.append(ArmSpec(number, name))
    design.arms = arms
    return errors, warnings


def apply_events(design: Design, table: Table) -> tuple[list[Issue], list[Issue]]:
    errors: list[Issue] = list(table.errors)
    warnings: list[Issue] = list(table.warnings)
    arms = {a.number for a in design.arms}
    events: list[EventSpec] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        label = row.get("event_name")
        arm = _number(table, errors, row, "arm_num", integer=True)
        offsets = [_number(table, errors, row, c) for c in ("day_offset", "offset_min", "offset_max")]
        if not label:
            errors.append(table.issue(row.row, "event_name", "the event has no name"))
        if arm is None or None in offsets:
            continue
        if arm not in arms:
            if not design.arms and arm == 1:
                # A study with one arm often ships no arms file: REDCap's default arm is "Arm 1".
                design.arms = [ArmSpec(1, "Arm 1")]
                arms = {1}
            else:
                errors.append(table.issue(row.row, "arm_num", f"arm {arm} is not defined"))
                continue
        unique = row.get("unique_event_name") or unique_event_name(label, arm, set(seen))
        if not UNIQUE_EVENT.match(unique) or len(unique) > 100:
            errors.append(
                table.issue(
                    row.row,
                    "unique_event_name",
                    f'"{unique}" is not a valid unique event name (lower-case letters, digits, _)',
                )
            )
            continue
        if unique in seen:
            errors.append(
                table.issue(row.row, "unique_event_name", f'"{unique}" is already used in row {seen[unique]}')
            )
            continue
        seen[unique] = row.row
        events.append(EventSpec(unique, arm, label, offsets[0], offsets[1], offsets[2], row.get("custom_event_label")))
    kept = {e.unique_name for e in events}
    dropped = sorted({e for e, _f in design.mapping if e not in kept})
    for name in dropped:
        warnings.append(Issue(f'event "{name}" is gone, so its form mapping was dropped'))
    design.mapping = [(e, f) for e, f in design.mapping if e in kept]
    design.repeating = [r for r in design.repeating if r.event is None or r.event in kept]
    design.events = events
    return errors, warnings


def check_arms_in_use(design: Design) -> list[Issue]:
    arms = {a.number for a in design.arms}
    return [
        Issue(f'event "{e.unique_name}" belongs to arm {e.arm}, which is not defined')
        for e in design.events
        if e.arm not in arms
    ]


def apply_mapping(design: Design, table: Table) -> tuple[list[Issue], list[Issue]]:
    errors: list[Issue] = list(table.errors)
    warnings: list[Issue] = list(table.warnings)
    events = {e.unique_name: e for e in design.events}
    forms = design.form_names()
    mapping: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for row in table.rows:
        event, form, arm = row.get("unique_event_name"), row.get("form"), row.get("arm_num")
        problem = False
        if event not in events:
            errors.append(table.issue(row.row, "unique_event_name", f'"{event}" is not an event of this project'))
            problem = True
        elif arm and arm != str(events[event].arm):
            errors.append(
                table.issue(row.row, "arm_num", f'event "{event}" belongs to arm {events[event].arm}, not {arm}')
            )
            problem = True
        if form not in forms:
            errors.append(table.issue(row.row, "form", f'"{form}" is not a form of this project'))
            problem = True
        if problem:
            continue
        if (event, form) in seen:
            warnings.append(table.issue(row.row, None, f'"{form}" is mapped to "{event}" twice'))
            continue
        seen.add((event, form))
        mapping.append((event, form))
    # Keep REDCap's order: events in schedule order, forms in dictionary order.
    event_order = {e.unique_name: i for i, e in enumerate(design.events)}
    form_order = {f.name: i for i, f in enumerate(design.forms)}
    design.mapping = sorted(mapping, key=lambda m: (event_order[m[0]], form_order[m[1]]))
    design.repeating = [r for r in design.repeating if r.event is None or r.form is None or (r.event, r.form) in seen]
    return errors, warnings


def apply_repeating(design: Design, table: Table, *, longitudinal: bool) -> tuple[list[Issue], list[Issue]]:
    errors: list[Issue] = list(table.errors)
    warnings: list[Issue] = list(table.warnings)
    events = design.event_names()
    forms = design.form_names()
    mapped = set(design.mapping)
    repeating: list[RepeatSpec] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    for row in table.rows:
        event = row.get("event_name") or None
        form = row.get("form_name") or None
        if longitudinal:
            if event is None:
                errors.append(table.issue(row.row, "event_name", "a longitudinal project names the event"))
                continue
            if event not in events:
                errors.append(table.issue(row.row, "event_name", f'"{event}" is not an event of this project'))
                continue
        elif event is not None:
            errors.append(table.issue(row.row, "event_name", "a classic project has no events; leave event_name blank"))
            continue
        if form is None and event is None:
            errors.append(table.issue(row.row, "form_name", "name the repeating form"))
            continue
        if form is not None and form not in forms:
            errors.append(table.issue(row.row, "form_name", f'"{form}" is not a form of this project'))
            continue
        if longitudinal and form is not None and (event, form) not in mapped:
            errors.append(table.issue(row.row, "form_name", f'"{form}" is not mapped to event "{event}"'))
            continue
        if (event, form) in seen:
            errors.append(table.issue(row.row, "form_name", f"already set up in row {seen[(event, form)]}"))
            continue
        if event is not None and (
            any(k[0] == event for k in seen if k[1] is None) or (form is None and any(k[0] == event for k in seen))
        ):
            errors.append(
                table.issue(
                    row.row, "form_name", f'event "{event}" cannot both repeat as a whole and have repeating forms'
                )
            )
            continue
        seen[(event, form)] = row.row
        repeating.append(RepeatSpec(event, form, row.get("custom_form_label")))
    design.repeating = repeating
    return errors, warnings


def unmapped_form_warnings(design: Design) -> list[Issue]:
    if not design.events:
        return []
    mapped = {form for _event, form in design.mapping}
    return [Issue(f'form "{f.name}" is not mapped to any event') for f in design.forms if f.name not in mapped]


def design_diff(old: Design, new: Design) -> dict:
    """What changed in arms, events, mapping, repeating setup and missing-data codes."""

    def changes(before: dict, after: dict) -> dict:
        return {
            "added": [k for k in after if k not in before],
            "removed": [k for k in before if k not in after],
            "changed": [k for k in after if k in before and after[k] != before[k]],
        }

    return {
        "arms": changes({a.number: a.name for a in old.arms}, {a.number: a.name for a in new.arms}),
        "events": changes({e.unique_name: e for e in old.events}, {e.unique_name: e for e in new.events}),
        "mapping": changes({f"{e}:{f}": 1 for e, f in old.mapping}, {f"{e}:{f}": 1 for e, f in new.mapping}),
        "repeating": changes(
            {f"{r.event or ''}:{r.form or ''}": r.custom_label for r in old.repeating},
            {f"{r.event or ''}:{r.form or ''}": r.custom_label for r in new.repeating},
        ),
        "missing_codes": changes(dict(old.missing_codes), dict(new.missing_codes)),
    }
