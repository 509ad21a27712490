"""Import and export of the REDCap data dictionary, with versioning (docs/metadata.md).

`import_dictionary` is all or nothing: one transaction, and on any error nothing is stored and every
error is returned. A change that would orphan or reinterpret stored values needs
`confirm_destructive=True`; stored values are never deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from forms.design.validate import design_diff, unmapped_form_warnings
from forms.dictionary.diff import DestructiveChange, destructive_changes, diff_fields
from forms.dictionary.issues import Issue
from forms.dictionary.reader import SourceRow, issue_for, read_dictionary
from forms.dictionary.validate import validate_rows
from forms.dictionary.writer import write_csv, write_json
from forms.models import Field, Project, ProjectVersion, ValidationType, project_code_validator
from forms.versions import Design, FormSpec, form_label, load_design, save_design

DataPresenceProvider = Callable[[Project], set[str]]
_data_presence_provider: DataPresenceProvider | None = None


def register_data_presence_provider(provider: DataPresenceProvider | None) -> None:
    """Let the registry say which fields hold stored values (None restores the conservative default)."""
    global _data_presence_provider
    _data_presence_provider = provider


def fields_with_data(project: Project) -> set[str]:
    """Names of fields that have stored values; by default every field of the current version."""
    if _data_presence_provider is not None:
        return set(_data_presence_provider(project))
    if project.current_version_id is None:
        return set()
    return set(Field.objects.filter(version_id=project.current_version_id).values_list("name", flat=True))


@dataclass
class ImportResult:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    diff: dict = field(default_factory=dict)
    version: ProjectVersion | None = None
    destructive: list[DestructiveChange] = field(default_factory=list)
    field_count: int = 0
    form_count: int = 0
    dry_run: bool = False
    source_sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def read_source(source: bytes | str | Path) -> tuple[bytes, str]:
    """The bytes of a source and a name for it (the file name of a path)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    path = Path(source)
    return path.read_bytes(), path.name


def check_project_code(code: str) -> Issue | None:
    try:
        project_code_validator(code)
    except ValidationError as exc:
        return Issue(f'project code "{code}": {" ".join(exc.messages)}')
    return None


def lock_or_create_project(code: str, title: str | None, **defaults) -> Project:
    """The project row, locked for the rest of the transaction so two imports cannot both take number N+1."""
    project, created = Project.objects.get_or_create(code=code, defaults={"title": title or code, **defaults})
    project = Project.objects.select_for_update().get(pk=project.pk)
    if not created and title and project.title != title:
        project.title = title
        project.save(update_fields=["title"])
    return project


@dataclass
class DictionaryPlan:
    """A validated dictionary applied to a design, with its diff, ready to be saved."""

    design: Design
    diff: dict
    destructive: list[DestructiveChange]
    new_validation_types: dict[str, int]


def plan_dictionary(
    project: Project | None,
    rows: list[SourceRow],
    base: Design,
    result: ImportResult,
    *,
    event_names: set[str] | None = None,
) -> DictionaryPlan | None:
    """Validate `rows` against `base` (the design they replace the fields of) and add issues to `result`."""
    project_types = set(project.validation_types.values_list("name", flat=True)) if project else set()
    previous = load_design(project.current_version) if project and project.current_version_id else Design()
    record_id = previous.fields[0].name if previous.fields else None
    if event_names is None:
        event_names = base.event_names() or None
    checked = validate_rows(rows, project_validation_types=project_types, event_names=event_names, record_id=record_id)
    result.errors.extend(checked.errors)
    result.warnings.extend(checked.warnings)
    result.field_count, result.form_count = len(checked.fields), len(checked.forms)
    if checked.errors:
        return None
    labels = {f.name: f.label for f in base.forms}
    design = Design(
        forms=[FormSpec(name, labels.get(name) or form_label(name)) for name in checked.forms],
        fields=checked.fields,
        arms=base.arms,
        events=base.events,
        missing_codes=base.missing_codes,
    )
    keep = set(checked.forms)
    for event, form in base.mapping:
        if form in keep:
            design.mapping.append((event, form))
        else:
            result.warnings.append(Issue(f'form "{form}" is gone, so it is no longer mapped to event "{event}"'))
    for rep in base.repeating:
        if rep.form is None or rep.form in keep:
            design.repeating.append(rep)
        else:
            result.warnings.append(Issue(f'form "{rep.form}" is gone, so its repeating setup was dropped'))
    diff = diff_fields(previous.fields, design.fields, [f.name for f in previous.forms], checked.forms)
    with_data = fields_with_data(project) if project and project.current_version_id else set()
    destructive = destructive_changes(diff, design.fields, with_data)
    return DictionaryPlan(design, diff, destructive, checked.new_validation_types)


def refuse_destructive(result: ImportResult, destructive: list[DestructiveChange]) -> None:
    for change in destructive:
        result.errors.append(
            issue_for(
                change.row,
                change.column,
                f"{change.reason}; confirm the destructive change to import it (stored values are kept)",
            )
        )


def create_validation_placeholders(project: Project, names: dict[str, int]) -> None:
    existing = set(project.validation_types.values_list("name", flat=True))
    ValidationType.objects.bulk_create(
        [
            ValidationType(project=project, name=name, label=f"{name} (placeholder from dictionary import)")
            for name in names
            if name not in existing
        ]
    )


def import_dictionary(
    *,
    project_code: str,
    source: bytes | str | Path,
    title: str | None = None,
    user=None,
    confirm_destructive: bool = False,
    dry_run: bool = False,
    source_name: str | None = None,
) -> ImportResult:
    """Import a data dictionary as the project's next version (creating the project when it is new)."""
    data, default_name = read_source(source)
    result = ImportResult(dry_run=dry_run, source_sha256=hashlib.sha256(data).hexdigest())
    bad_code = check_project_code(project_code)
    if bad_code:
        result.errors.append(bad_code)
        return result
    read = read_dictionary(data)
    result.errors.extend(read.errors)
    result.warnings.extend(read.warnings)
    if read.errors:
        return result
    with transaction.atomic():
        if dry_run:
            project = Project.objects.filter(code=project_code).first()
        else:
            project = lock_or_create_project(project_code, title)
        base = load_design(project.current_version) if project and project.current_version_id else Design()
        plan = plan_dictionary(project, read.rows, base, result)
        if plan is not None:
            result.diff = plan.diff
            result.destructive = plan.destructive
            if plan.destructive and not confirm_destructive:
                refuse_destructive(result, plan.destructive)
            result.warnings.extend(unmapped_form_warnings(plan.design))
            result.diff = {**plan.diff, **design_diff(base, plan.design)}
        if result.errors or dry_run:
            transaction.set_rollback(True)  # a project created for this import goes too
            return result
        create_validation_placeholders(project, plan.new_validation_types)
        result.version = save_design(
            project,
            plan.design,
            user=user,
            source_sha256=result.source_sha256,
            source_name=source_name or default_name,
            note="data dictionary import" + (" (destructive changes confirmed)" if plan.destructive else ""),
            diff=result.diff,
        )
    return result


def export_dictionary(
    project: Project,
    *,
    format: str = "csv",
    version: ProjectVersion | None = None,
    api_header: bool = False,
    excel_safe: bool = False,
) -> str:
    """The dictionary as REDCap writes it: label-header CSV, API-header CSV (`api_header`) or API JSON.

    `excel_safe` adds the space REDCap's UI download puts before "@" annotations (see writer.write_csv).
    """
    if format not in ("csv", "json"):
        raise ValueError(f"unknown dictionary format {format!r}; use csv or json")
    version = version or project.current_version
    if version is None:
        raise ValueError(f"project {project.code} has no data dictionary yet")
    design = load_design(version)
    if format == "json":
        return write_json(design.fields)
    return write_csv(design.fields, api_header=api_header, excel_safe=excel_safe)
