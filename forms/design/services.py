"""Import and export of arms, events, form-event mapping and repeating setup, and of a whole study folder.

Each import creates a new version that copies the rest of the current design. `import_study` reads
a folder (project.json, data_dictionary.csv and optionally arms.csv, events.csv,
instrument_event_mapping.csv, repeating_instruments.csv) into ONE version in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.db import transaction

from forms.design.tables import read_table
from forms.design.validate import (
    ARM_COLUMNS,
    EVENT_COLUMNS,
    MAPPING_COLUMNS,
    REPEATING_COLUMNS,
    apply_arms,
    apply_events,
    apply_mapping,
    apply_repeating,
    check_arms_in_use,
    design_diff,
    unmapped_form_warnings,
)
from forms.dictionary.diff import empty_diff
from forms.dictionary.issues import Issue
from forms.dictionary.reader import read_dictionary
from forms.dictionary.services import (
    ImportResult,
    check_project_code,
    create_validation_placeholders,
    lock_or_create_project,
    plan_dictionary,
    read_source,
    refuse_destructive,
)
from forms.dictionary.writer import csv_text
from forms.models import Project, ProjectVersion
from forms.versions import Design, load_design, save_design

WHAT = ("arms", "events", "mapping", "repeating")
STUDY_FILES = {
    "arms": "arms.csv",
    "events": "events.csv",
    "mapping": "instrument_event_mapping.csv",
    "repeating": "repeating_instruments.csv",
}


def _apply(design: Design, what: str, data: bytes, *, longitudinal: bool) -> tuple[list[Issue], list[Issue]]:
    if what == "arms":
        errors, warnings = apply_arms(design, read_table(data, required=ARM_COLUMNS))
        return errors + check_arms_in_use(design), warnings
    if what == "events":
        return apply_events(design, read_table(data, required=("event_name", "arm_num"), optional=EVENT_COLUMNS[2:]))
    if what == "mapping":
        return apply_mapping(design, read_table(data, required=MAPPING_COLUMNS[1:], optional=("arm_num",)))
    if what == "repeating":
        required = ("form_name",) if not longitudinal else ("event_name", "form_name")
        table = read_table(data, required=required, optional=("event_name", "custom_form_label"))
        return apply_repeating(design, table, longitudinal=longitudinal)
    raise ValueError(f"unknown design table {what!r}; use one of {', '.join(WHAT)}")


def import_design(
    *,
    project_code: str,
    what: str,
    source: bytes | str | Path,
    user=None,
    dry_run: bool = False,
    source_name: str | None = None,
) -> ImportResult:
    """Replace the project's arms, events, mapping or repeating setup (`what`) with a REDCap-format table."""
    if what not in WHAT:
        raise ValueError(f"unknown design table {what!r}; use one of {', '.join(WHAT)}")
    data, default_name = read_source(source)
    result = ImportResult(dry_run=dry_run, source_sha256=hashlib.sha256(data).hexdigest())
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(code=project_code).first()
        if project is None or project.current_version_id is None:
            result.errors.append(Issue(f'project "{project_code}" has no data dictionary yet; import one first'))
            return result
        before = load_design(project.current_version)
        design = load_design(project.current_version)
        longitudinal = project.is_longitudinal or what in ("arms", "events") or bool(design.events)
        errors, warnings = _apply(design, what, data, longitudinal=longitudinal)
        result.errors.extend(errors)
        result.warnings.extend(warnings)
        result.field_count, result.form_count = len(design.fields), len(design.forms)
        if what == "events" and not project.is_longitudinal and design.events:
            result.warnings.append(Issue("the project had no events; it is now longitudinal"))
        result.warnings.extend(unmapped_form_warnings(design))
        result.diff = {**empty_diff(), **design_diff(before, design)}
        if result.errors or dry_run:
            return result
        if design.events and not project.is_longitudinal:
            project.is_longitudinal = True
            project.save(update_fields=["is_longitudinal"])
        result.version = save_design(
            project,
            design,
            user=user,
            source_sha256=result.source_sha256,
            source_name=source_name or default_name,
            note=f"{what} import",
            diff=result.diff,
        )
    return result


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def export_design(project: Project, *, what: str, version: ProjectVersion | None = None) -> str:
    """One design table as CSV with REDCap's headers and quoting."""
    version = version or project.current_version
    design = load_design(version)
    arm_of = {e.unique_name: e.arm for e in design.events}
    if what == "arms":
        return csv_text(ARM_COLUMNS, [[str(a.number), a.name] for a in design.arms])
    if what == "events":
        return csv_text(
            EVENT_COLUMNS,
            [
                [
                    e.label,
                    str(e.arm),
                    _number(e.day_offset),
                    _number(e.offset_min),
                    _number(e.offset_max),
                    e.unique_name,
                    e.custom_label,
                ]
                for e in design.events
            ],
        )
    if what == "mapping":
        return csv_text(MAPPING_COLUMNS, [[str(arm_of[e]), e, f] for e, f in design.mapping])
    if what == "repeating":
        if project.is_longitudinal or design.events:
            return csv_text(
                REPEATING_COLUMNS, [[r.event or "", r.form or "", r.custom_label] for r in design.repeating]
            )
        return csv_text(REPEATING_COLUMNS[1:], [[r.form or "", r.custom_label] for r in design.repeating])
    raise ValueError(f"unknown design table {what!r}; use one of {', '.join(WHAT)}")


def parse_missing_codes(value) -> list[tuple[str, str]]:
    """Missing-data codes as REDCap writes them ("NA, Not applicable | UNK, Unknown") or as a JSON list."""
    if not value:
        return []
    if isinstance(value, str):
        pairs = []
        for part in value.split("|"):
            code, _, label = part.strip().partition(",")
            if code.strip():
                pairs.append((code.strip(), label.strip() or code.strip()))
        return pairs
    pairs = []
    for item in value:
        if isinstance(item, dict):
            pairs.append((str(item["code"]), str(item.get("label", item["code"]))))
        else:
            pairs.append((str(item[0]), str(item[1])))
    return pairs


def import_study(
    *,
    directory: str | Path,
    project_code: str | None = None,
    user=None,
    confirm_destructive: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Import a study folder (project.json, data_dictionary.csv, optional design tables) as one version."""
    folder = Path(directory)
    result = ImportResult(dry_run=dry_run)
    try:
        meta = json.loads((folder / "project.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        result.errors.append(Issue("the folder has no project.json", file="project.json"))
        return result
    except json.JSONDecodeError as exc:
        result.errors.append(Issue(f"not valid JSON: {exc.msg} at line {exc.lineno}", file="project.json"))
        return result
    code = project_code or str(meta.get("code", ""))
    bad_code = check_project_code(code)
    if bad_code:
        result.errors.append(bad_code.in_file("project.json"))
        return result
    dictionary_path = folder / "data_dictionary.csv"
    if not dictionary_path.exists():
        result.errors.append(Issue("the folder has no data_dictionary.csv", file="data_dictionary.csv"))
        return result
    dictionary = dictionary_path.read_bytes()
    tables = {what: (folder / name).read_bytes() for what, name in STUDY_FILES.items() if (folder / name).exists()}
    digest = hashlib.sha256(dictionary)
    for what in sorted(tables):
        digest.update(tables[what])
    result.source_sha256 = digest.hexdigest()
    longitudinal = bool(meta.get("is_longitudinal", "events" in tables))

    def collect(file: str, errors: list[Issue], warnings: list[Issue]) -> None:
        result.errors.extend(e.in_file(file) for e in errors)
        result.warnings.extend(w.in_file(file) for w in warnings)

    with transaction.atomic():
        if dry_run:
            project = Project.objects.filter(code=code).first()
        else:
            project = lock_or_create_project(code, meta.get("title"), is_longitudinal=longitudinal)
        before = load_design(project.current_version) if project and project.current_version_id else Design()
        design = load_design(project.current_version) if project and project.current_version_id else Design()
        for what in ("arms", "events"):
            if what in tables:
                collect(STUDY_FILES[what], *_apply(design, what, tables[what], longitudinal=longitudinal))
        read = read_dictionary(dictionary)
        collect("data_dictionary.csv", read.errors, read.warnings)
        plan = None
        if not read.errors:
            dictionary_result = ImportResult()
            plan = plan_dictionary(
                project, read.rows, design, dictionary_result, event_names=design.event_names() or None
            )
            collect("data_dictionary.csv", dictionary_result.errors, dictionary_result.warnings)
            result.field_count, result.form_count = dictionary_result.field_count, dictionary_result.form_count
        if plan is not None:
            design = plan.design
            for what in ("mapping", "repeating"):
                if what in tables:
                    collect(STUDY_FILES[what], *_apply(design, what, tables[what], longitudinal=longitudinal))
            if "missing_data_codes" in meta:
                design.missing_codes = parse_missing_codes(meta["missing_data_codes"])
            result.warnings.extend(unmapped_form_warnings(design))
            result.diff = {**plan.diff, **design_diff(before, design)}
            result.destructive = plan.destructive
            if plan.destructive and not confirm_destructive:
                refuse_destructive(result, plan.destructive)
        if result.errors or dry_run:
            transaction.set_rollback(True)
            return result
        update = []
        if meta.get("title") and project.title != meta["title"]:
            project.title = meta["title"]
            update.append("title")
        if project.is_longitudinal != longitudinal:
            project.is_longitudinal = longitudinal
            update.append("is_longitudinal")
        if update:
            project.save(update_fields=update)
        create_validation_placeholders(project, plan.new_validation_types)
        result.version = save_design(
            project,
            design,
            user=user,
            source_sha256=result.source_sha256,
            source_name=folder.name,
            note="study import" + (" (destructive changes confirmed)" if plan.destructive else ""),
            diff=result.diff,
        )
    return result
