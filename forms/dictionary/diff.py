"""Field-level difference between two designs, and which changes would orphan or reinterpret stored data.

The diff is stored on the new version (ProjectVersion.diff) and shown before an import is confirmed:

    {"added": [name, ...], "removed": [name, ...],
     "retyped": [{"field", "from", "to"}],
     "recoded": [{"field", "removed_codes": [...], "relabelled": [{"code", "from", "to"}], "added_codes": [...]}],
     "validation_changed": [{"field", "from": {...}, "to": {...}}],
     "moved": [{"field", "from", "to"}],
     "changed": [{"field", "columns": [...]}],
     "forms_added": [...], "forms_removed": [...]}
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.dictionary.validation_types import STORAGE_FAMILY
from forms.versions import FieldSpec

# Columns compared for the "changed" list (type, choices, validation and form have lists of their own).
_OTHER_COLUMNS = {
    "label": "Field Label",
    "section_header": "Section Header",
    "field_note": "Field Note",
    "identifier": "Identifier?",
    "branching_logic": "Branching Logic",
    "required": "Required Field?",
    "custom_alignment": "Custom Alignment",
    "question_number": "Question Number",
    "matrix_group": "Matrix Group Name",
    "matrix_ranking": "Matrix Ranking?",
    "annotation": "Field Annotation",
}
# Radio and dropdown store the same code; swapping them reinterprets nothing.
_SAME_STORAGE = {frozenset({"radio", "dropdown"})}


def empty_diff() -> dict:
    return {
        "added": [],
        "removed": [],
        "retyped": [],
        "recoded": [],
        "validation_changed": [],
        "moved": [],
        "changed": [],
        "forms_added": [],
        "forms_removed": [],
    }


def diff_fields(old: list[FieldSpec], new: list[FieldSpec], old_forms: list[str], new_forms: list[str]) -> dict:
    result = empty_diff()
    before = {f.name: f for f in old}
    after = {f.name: f for f in new}
    result["added"] = [f.name for f in new if f.name not in before]
    result["removed"] = [f.name for f in old if f.name not in after]
    result["forms_added"] = [f for f in new_forms if f not in set(old_forms)]
    result["forms_removed"] = [f for f in old_forms if f not in set(new_forms)]
    for spec in new:
        prev = before.get(spec.name)
        if prev is None:
            continue
        if prev.field_type != spec.field_type:
            result["retyped"].append({"field": spec.name, "from": prev.field_type, "to": spec.field_type})
        old_choices, new_choices = dict(_pairs(prev)), dict(_pairs(spec))
        removed = [c for c in old_choices if c not in new_choices]
        relabelled = [
            {"code": c, "from": old_choices[c], "to": new_choices[c]}
            for c in old_choices
            if c in new_choices and old_choices[c] != new_choices[c]
        ]
        added = [c for c in new_choices if c not in old_choices]
        if removed or relabelled:
            result["recoded"].append(
                {"field": spec.name, "removed_codes": removed, "relabelled": relabelled, "added_codes": added}
            )
        old_v, new_v = _validation(prev), _validation(spec)
        if old_v != new_v:
            result["validation_changed"].append({"field": spec.name, "from": old_v, "to": new_v})
        if prev.form != spec.form:
            result["moved"].append({"field": spec.name, "from": prev.form, "to": spec.form})
        columns = [label for attr, label in _OTHER_COLUMNS.items() if getattr(prev, attr) != getattr(spec, attr)]
        if added and not (removed or relabelled):
            columns.append("choices added")
        if prev.field_type == spec.field_type == "calc" and prev.choices_raw != spec.choices_raw:
            columns.append("calculation")
        if columns:
            result["changed"].append({"field": spec.name, "columns": columns})
    return result


def _pairs(spec: FieldSpec) -> list[list[str]]:
    if spec.field_type in ("radio", "dropdown", "checkbox"):
        return spec.choices
    if spec.field_type == "yesno":
        return [["1", "Yes"], ["0", "No"]]
    if spec.field_type == "truefalse":
        return [["1", "True"], ["0", "False"]]
    return []


def _validation(spec: FieldSpec) -> dict:
    return {"validation": spec.validation, "min": spec.validation_min, "max": spec.validation_max}


@dataclass(frozen=True)
class DestructiveChange:
    field: str
    reason: str
    row: int | None  # row of the field in the new file; None when the field was removed
    column: str | None = None  # API key of the column that changed


def destructive_changes(diff: dict, new: list[FieldSpec], with_data: set[str]) -> list[DestructiveChange]:
    """Changes that would orphan or reinterpret values already stored for fields in `with_data`.

    Removing a field or a choice code, relabelling a code, and changing the type or the validation
    type count; radio<->dropdown and changes within one date/datetime family (all stored ISO) do not,
    nor does dropping a validation (stored values stay valid text). Stored values are never deleted.
    """
    rows = {f.name: f.row for f in new}
    out: list[DestructiveChange] = []
    for name in diff["removed"]:
        if name in with_data:
            out.append(DestructiveChange(name, f'field "{name}" is removed but has stored data', None, "field_name"))
    for item in diff["retyped"]:
        name = item["field"]
        if name in with_data and frozenset({item["from"], item["to"]}) not in _SAME_STORAGE:
            out.append(
                DestructiveChange(
                    name,
                    f'field "{name}" changes type from {item["from"]} to {item["to"]} but has stored data',
                    rows.get(name),
                    "field_type",
                )
            )
    for item in diff["recoded"]:
        name = item["field"]
        if name not in with_data:
            continue
        if item["removed_codes"]:
            codes = ", ".join(item["removed_codes"])
            out.append(
                DestructiveChange(
                    name,
                    f'choice codes {codes} of "{name}" are removed but the field has stored data',
                    rows.get(name),
                    "select_choices_or_calculations",
                )
            )
        if item["relabelled"]:
            codes = ", ".join(r["code"] for r in item["relabelled"])
            out.append(
                DestructiveChange(
                    name,
                    f'choice codes {codes} of "{name}" get new labels, which changes the meaning of stored values',
                    rows.get(name),
                    "select_choices_or_calculations",
                )
            )
    for item in diff["validation_changed"]:
        name = item["field"]
        old, new_v = item["from"]["validation"], item["to"]["validation"]
        if name not in with_data or old == new_v or not new_v:
            continue
        if old and STORAGE_FAMILY.get(old) and STORAGE_FAMILY.get(old) == STORAGE_FAMILY.get(new_v):
            continue
        out.append(
            DestructiveChange(
                name,
                f'field "{name}" changes validation from {old or "none"} to {new_v} but has stored data',
                rows.get(name),
                "text_validation_type_or_show_slider_number",
            )
        )
    return out


def _names(names: list, limit: int = 25) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f" ... and {len(names) - limit} more" if len(names) > limit else "")


def summary(diff: dict) -> list[str]:
    """One line per kind of change, for command output and the preview page."""
    lines = []
    for key, title in (
        ("forms_added", "forms added"),
        ("forms_removed", "forms removed"),
        ("added", "fields added"),
        ("removed", "fields removed"),
    ):
        if diff.get(key):
            lines.append(f"{title} ({len(diff[key])}): {_names(diff[key])}")
    for item in diff.get("retyped", []):
        lines.append(f"retyped: {item['field']} {item['from']} -> {item['to']}")
    for item in diff.get("recoded", []):
        parts = []
        if item["removed_codes"]:
            parts.append(f"codes removed {', '.join(item['removed_codes'])}")
        for r in item["relabelled"]:
            parts.append(f"code {r['code']} relabelled {r['from']!r} -> {r['to']!r}")
        if item["added_codes"]:
            parts.append(f"codes added {', '.join(item['added_codes'])}")
        lines.append(f"recoded: {item['field']}: {'; '.join(parts)}")
    for item in diff.get("validation_changed", []):
        a, b = item["from"], item["to"]
        lines.append(
            f"validation: {item['field']} {a['validation'] or 'none'} [{a['min']}, {a['max']}] -> "
            f"{b['validation'] or 'none'} [{b['min']}, {b['max']}]"
        )
    for item in diff.get("moved", []):
        lines.append(f"moved: {item['field']} {item['from']} -> {item['to']}")
    for item in diff.get("changed", []):
        lines.append(f"changed: {item['field']} ({', '.join(item['columns'])})")
    for key, title in (
        ("events", "events"),
        ("arms", "arms"),
        ("mapping", "event mapping"),
        ("repeating", "repeating setup"),
    ):
        section = diff.get(key)
        if section:
            for change, names in section.items():
                if names:
                    lines.append(f"{title} {change} ({len(names)}): {_names(names)}")
    return lines or ["no changes"]


def has_changes(diff: dict) -> bool:
    """Whether a stored diff records any change (design sections hold added/removed/changed lists)."""
    return any(any(v.values()) if isinstance(v, dict) else bool(v) for v in diff.values())
