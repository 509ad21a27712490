"""What every release carries beside its data: the data dictionary, a codebook, a JSON schema, a manifest."""

from __future__ import annotations

import hashlib
import json
from html import escape
from pathlib import Path

from forms.dictionary.writer import write_csv
from forms.versions import MODEL_FIELDS, FieldSpec
from registry.exports.flat import KIND_CHECKBOX, KIND_COMPLETE, KIND_RECORD_ID, KIND_VALUE
from registry.exports.formats import MISSING_SUFFIX, TIDY_KEYS, choice_codes, stat_type, strip_html
from registry.exports.profiles import HASHED, REMOVED, SHIFTED, STUDY_DAYS, ColumnPlan

JSON_TYPES = {
    "integer": "integer",
    "number": "number",
    "code": "string",
    "checkbox": "string",
    "string": "string",
    "date": "string",
    "datetime": "string",
    "datetime_seconds": "string",
    "time": "string",
}
JSON_FORMATS = {"date": "date", "time": "time"}


def exported_fields(design, plans: list[ColumnPlan]) -> list:
    """Dictionary fields with at least one exported column (the record-id field always), in project order."""
    kept = {p.column.field for p in plans if p.exported and p.column.field}
    kept.add(design.record_id_field)
    return [f for form, _ in design.instruments for f in design.fields_by_instrument[form] if f.name in kept]


def write_dictionary(path: Path, design, plans: list[ColumnPlan]) -> int:
    specs = []
    for f in exported_fields(design, plans):
        spec = FieldSpec(name=f.name, form=design.instrument_of[f.name], field_type=f.field_type)
        for attr in MODEL_FIELDS:
            setattr(spec, attr, getattr(f, attr))
        specs.append(spec)
    path.write_text(write_csv(specs, api_header=False), encoding="utf-8")
    return len(specs)


def column_entry(p: ColumnPlan, design) -> dict:
    entry = {
        "name": p.column.name,
        "kind": p.column.kind,
        "field": p.column.field,
        "instrument": p.column.instrument,
        "label": strip_html(p.column.label),
        "type": p.data_type,
        "action": p.action,
    }
    if p.reason:
        entry["reason"] = p.reason
    pairs = choice_codes(p, design)
    if pairs:
        entry["values"] = [{"code": code, "label": strip_html(label)} for code, label in pairs]
    return entry


def json_property(p: ColumnPlan, design) -> dict:
    prop: dict = {"description": strip_html(p.column.label) or p.column.name}
    json_type = "integer" if p.column.name == "redcap_repeat_instance" else JSON_TYPES.get(p.data_type, "string")
    prop["type"] = [json_type, "null"]
    if p.data_type in JSON_FORMATS:
        prop["format"] = JSON_FORMATS[p.data_type]
    elif p.data_type in ("datetime", "datetime_seconds"):
        prop["pattern"] = r"^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$"
    pairs = choice_codes(p, design)
    codes = list(design.missing_codes)
    if pairs:
        prop["enum"] = [code for code, _ in pairs] + (codes if p.column.kind == KIND_VALUE else []) + [None]
    prop["x-action"] = p.action
    prop["x-storage-type"] = stat_type(p, design)
    if p.column.field:
        prop["x-field"] = p.column.field
    return prop


def schema_for(file_columns: dict[str, list], design, title: str) -> dict:
    """A JSON Schema (2020-12) of one row of each data file, keyed by file name."""
    files = {}
    for name, columns in file_columns.items():
        properties = {}
        for col in columns:
            if isinstance(col, ColumnPlan):
                properties[col.column.name] = json_property(col, design)
            else:
                properties[col["name"]] = {k: v for k, v in col.items() if k != "name"}
        files[name] = {
            "type": "object",
            "properties": properties,
            "x-column-order": list(properties),
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": "One object per CSV row; blank cells are null. x-action says what the export profile did.",
        "files": files,
    }


def tidy_schema_columns(form_plans: list[ColumnPlan], layout, design) -> list:
    keys = [
        {"name": "record", "type": ["string"], "description": "record id (hashed in de-identified releases)"},
        {"name": "site", "type": ["string"], "description": "site (data access group)"},
        {"name": "event", "type": ["string"], "description": "unique event name"},
        {"name": "instance", "type": ["integer"], "description": "repeat instance (1 when not repeating)"},
    ]
    assert [k["name"] for k in keys] == TIDY_KEYS
    cols: list = list(keys)
    for kind, item in layout:
        if kind == "value":
            cols.append(item)
        else:
            cols.append(
                {
                    "name": f"{item}{MISSING_SUFFIX}",
                    "type": ["string", "null"],
                    "enum": [*design.missing_codes, None],
                    "description": f"missing-data code of {item}",
                }
            )
    return cols


def write_codebook(path: Path, design, project, plans: list[ColumnPlan], manifest: dict) -> None:
    """A self-contained HTML page: every exported variable with its label, type, values and treatment."""
    by_form: dict[str, list[ColumnPlan]] = {}
    for p in plans:
        by_form.setdefault(p.column.instrument or "", []).append(p)
    action_text = {
        "kept": "kept",
        REMOVED: "removed",
        HASHED: "replaced by a keyed hash",
        SHIFTED: "shifted by the record's offset",
        STUDY_DAYS: "days since enrolment",
    }
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Codebook: {escape(project.code)} ({escape(manifest['profile'])})</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}th{background:#eee}"
        ".removed{color:#999;text-decoration:line-through}</style></head><body>",
        f"<h1>Codebook: {escape(project.title)}</h1>",
        "<table><tbody>",
        f"<tr><th>Project</th><td>{escape(project.code)}, design version {design.version_number}</td></tr>",
        f"<tr><th>Profile</th><td>{escape(manifest['profile'])}</td></tr>",
        f"<tr><th>Format</th><td>{escape(manifest['format'])}</td></tr>",
        f"<tr><th>Dates</th><td>{escape(manifest['dates'])}</td></tr>",
        f"<tr><th>Record ids</th><td>{escape(manifest['record_ids'])}</td></tr>",
        "</tbody></table>",
    ]
    if design.missing_codes:
        parts.append(
            "<h2>Missing-data codes</h2><table><thead><tr><th>Code</th><th>Meaning</th>"
            "<th>SPSS value</th><th>Stata value</th></tr></thead><tbody>"
        )
        for i, (code, label) in enumerate(design.missing_codes.items()):
            parts.append(
                f"<tr><td>{escape(code)}</td><td>{escape(label)}</td><td>{-99991 - i}</td>"
                f"<td>.{chr(ord('a') + i) if i < 26 else ''}</td></tr>"
            )
        parts.append("</tbody></table>")
    for form, form_plans in by_form.items():
        title = design.instrument_label(form) if form else "Identification"
        parts.append(f"<h2>{escape(title)} <small>({escape(form)})</small></h2>" if form else f"<h2>{title}</h2>")
        parts.append(
            "<table><thead><tr><th>Variable</th><th>Label</th><th>Type</th><th>Values</th>"
            "<th>In this release</th></tr></thead><tbody>"
        )
        for p in form_plans:
            pairs = choice_codes(p, design)
            values = "<br>".join(f"{escape(code)} = {escape(strip_html(label))}" for code, label in pairs)
            f = design.field_map.get(p.column.field) if p.column.field else None
            extra = ""
            if f is not None and p.column.kind == KIND_VALUE and f.validation:
                extra = f" ({escape(f.validation)})"
            css = " class='removed'" if p.action == REMOVED else ""
            treatment = action_text.get(p.action, p.action) + (f": {p.reason}" if p.reason else "")
            parts.append(
                f"<tr{css}><td><code>{escape(p.column.name)}</code></td><td>{escape(strip_html(p.column.label))}</td>"
                f"<td>{escape(p.data_type)}{extra}</td><td>{values}</td><td>{escape(treatment)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, payload) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


__all__ = [
    "KIND_CHECKBOX",
    "KIND_COMPLETE",
    "KIND_RECORD_ID",
    "column_entry",
    "schema_for",
    "sha256_of",
    "tidy_schema_columns",
    "write_codebook",
    "write_dictionary",
    "write_json",
]
