"""The current study design of a project, loaded once per metadata version.

A version never changes after it is created, so the snapshot is cached per version id in the
process: a form save does not re-read the dictionary.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from forms.models import Field, MissingDataCode, Project, ProjectVersion, RepeatingSetup
from forms.models import ValidationType as ValidationTypeModel
from forms.values import ValidationType, _re

T = TypeVar("T")
_MISSING = object()


class DesignError(Exception):
    pass


@dataclass
class Design:
    project_id: int
    version_id: int
    version_number: int
    is_longitudinal: bool
    instruments: list[tuple[str, str]]  # (name, label) in order
    fields_by_instrument: dict[str, list[Field]]
    events: list[tuple[str, str]]  # (unique name, label) in order
    event_instruments: dict[str, list[str]]  # event -> instruments in instrument order
    repeating_instruments: set[tuple[str, str]]  # (event or '', instrument)
    repeating_events: set[str]
    missing_codes: dict[str, str]
    custom_types: dict[str, ValidationType] = field(default_factory=dict)

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for fields in self.fields_by_instrument.values() for f in fields}

    @cached_property
    def instrument_of(self) -> dict[str, str]:
        return {f.name: name for name, fields in self.fields_by_instrument.items() for f in fields}

    @property
    def record_id_field(self) -> str:
        first_instrument = self.instruments[0][0]
        return self.fields_by_instrument[first_instrument][0].name

    def fields(self, instrument: str) -> list[Field]:
        try:
            return self.fields_by_instrument[instrument]
        except KeyError:
            raise DesignError(f"{instrument!r} is not an instrument of this project") from None

    def field_names(self, instrument: str) -> frozenset[str]:
        names = self._field_names.get(instrument)
        if names is None:
            names = self._field_names[instrument] = frozenset(f.name for f in self.fields(instrument))
        return names

    @cached_property
    def _field_names(self) -> dict[str, frozenset[str]]:
        return {}

    def kept(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` worked out once per design version (a version never changes): what a save asks of an
        instrument's fields on every save."""
        found = self._kept.get(key, _MISSING)
        if found is _MISSING:
            found = self._kept[key] = compute()
        return found

    @cached_property
    def _kept(self) -> dict:
        return {}

    def instrument_label(self, instrument: str) -> str:
        return dict(self.instruments).get(instrument, instrument)

    def instruments_for_event(self, event: str) -> list[str]:
        if not self.is_longitudinal:
            return [name for name, _ in self.instruments]
        return self.event_instruments.get(event, [])

    def is_repeating(self, event: str, instrument: str) -> bool:
        key_event = event if self.is_longitudinal else ""
        return (key_event, instrument) in self.repeating_instruments or event in self.repeating_events

    def default_event(self) -> str:
        return self.events[0][0] if self.events else "event_1_arm_1"

    def check_form_key(self, event: str, instrument: str, instance: int) -> None:
        self.fields(instrument)
        if self.is_longitudinal:
            if event not in dict(self.events):
                raise DesignError(f"{event!r} is not an event of this project")
            if instrument not in self.event_instruments.get(event, []):
                raise DesignError(f"instrument {instrument!r} is not used at event {event!r}")
        if instance < 1 or (instance > 1 and not self.is_repeating(event, instrument)):
            raise DesignError(f"{instrument!r} does not repeat at {event!r}: instance must be 1")


_cache: dict[int, Design] = {}


def design_of(project: Project, *, reload: bool = True) -> Design:
    """The project's current design. `reload=False` trusts `project.current_version_id` as loaded,
    for a project read in the same request (a page's scope), sparing a query."""
    if reload:
        project.refresh_from_db(fields=["current_version"])
    if project.current_version_id is None:
        raise DesignError(f"project {project.code} has no design yet: import a data dictionary first")
    design = _cache.get(project.current_version_id)
    if design is None:
        design = load_design(ProjectVersion.objects.get(pk=project.current_version_id))
        _cache[project.current_version_id] = design
    return design


def load_design(version: ProjectVersion) -> Design:
    project = version.project
    instruments = list(version.instruments.order_by("order").values_list("name", "label"))
    fields_by_instrument: dict[str, list[Field]] = {name: [] for name, _ in instruments}
    for f in Field.objects.filter(version=version).select_related("instrument").order_by("order"):
        fields_by_instrument[f.instrument.name].append(f)
    events = list(version.events.order_by("order").values_list("unique_name", "label"))
    instrument_order = {name: i for i, (name, _) in enumerate(instruments)}
    event_instruments: dict[str, list[str]] = {}
    for event_name, instrument_name in version.event_instruments.values_list("event__unique_name", "instrument__name"):
        event_instruments.setdefault(event_name, []).append(instrument_name)
    for names in event_instruments.values():
        names.sort(key=lambda n: instrument_order.get(n, 0))
    repeating_instruments: set[tuple[str, str]] = set()
    repeating_events: set[str] = set()
    for setup in RepeatingSetup.objects.filter(version=version).select_related("event", "instrument"):
        if setup.instrument is None:
            repeating_events.add(setup.event.unique_name)
        else:
            repeating_instruments.add((setup.event.unique_name if setup.event else "", setup.instrument.name))
    missing = dict(MissingDataCode.objects.filter(version=version).order_by("order").values_list("code", "label"))
    custom = {
        vt.name: ValidationType(vt.name, vt.data_type, _re(vt.regex) if vt.regex else None, vt.label)
        for vt in ValidationTypeModel.objects.filter(project=project)
    }
    return Design(
        project_id=project.pk,
        version_id=version.pk,
        version_number=version.number,
        is_longitudinal=project.is_longitudinal,
        instruments=instruments,
        fields_by_instrument=fields_by_instrument,
        events=events,
        event_instruments=event_instruments,
        repeating_instruments=repeating_instruments,
        repeating_events=repeating_events,
        missing_codes=missing,
        custom_types=custom,
    )
