"""Read-side queries of the study metadata, for data entry, exports and the API.

Versions are immutable, so what is derived from one is cached per version id in the process.
"""

from __future__ import annotations

from functools import lru_cache

from forms.models import EventInstrument, Field, Instrument, Project, ProjectVersion, RepeatingSetup


def current_version(project: Project) -> ProjectVersion | None:
    return project.current_version


def _version_id(version: ProjectVersion | int) -> int:
    return version if isinstance(version, int) else version.pk


@lru_cache(maxsize=64)
def _fields(version_id: int) -> tuple[Field, ...]:
    return tuple(Field.objects.filter(version_id=version_id).select_related("instrument").order_by("order"))


def fields_of(version: ProjectVersion | int, instrument: str | Instrument | None = None) -> list[Field]:
    """Fields in dictionary order, of the whole version or of one instrument (by name or object).

    The Field objects are shared by callers in the process: read them, do not modify them.
    """
    fields = _fields(_version_id(version))
    if instrument is None:
        return list(fields)
    name = instrument if isinstance(instrument, str) else instrument.name
    return [f for f in fields if f.instrument.name == name]


@lru_cache(maxsize=64)
def _event_forms(version_id: int) -> dict[str | None, tuple[str, ...]]:
    forms = tuple(Instrument.objects.filter(version_id=version_id).order_by("order").values_list("name", flat=True))
    mapping: dict[str | None, list[str]] = {}
    rows = EventInstrument.objects.filter(version_id=version_id).order_by("event__order", "instrument__order")
    for event, form in rows.values_list("event__unique_name", "instrument__name"):
        mapping.setdefault(event, []).append(form)
    result: dict[str | None, tuple[str, ...]] = {event: tuple(names) for event, names in mapping.items()}
    result[None] = forms  # classic projects: every instrument
    return result


def instruments_for_event(version: ProjectVersion | int, event_name: str | None) -> list[str]:
    """Instrument names designated for an event, in form order; all instruments when event_name is None."""
    return list(_event_forms(_version_id(version)).get(event_name, ()))


@lru_cache(maxsize=64)
def _repeating(version_id: int) -> frozenset[tuple[str | None, str | None]]:
    rows = RepeatingSetup.objects.filter(version_id=version_id).values_list("event__unique_name", "instrument__name")
    return frozenset(rows)


def repeating_kind(version: ProjectVersion | int, instrument_name: str, event_name: str | None = None) -> str | None:
    """ "instrument" when the form repeats on its own, "event" when its whole event repeats, else None."""
    setup = _repeating(_version_id(version))
    if (event_name, instrument_name) in setup:
        return "instrument"
    if event_name is not None and (event_name, None) in setup:
        return "event"
    return None


def is_repeating(version: ProjectVersion | int, instrument_name: str, event_name: str | None = None) -> bool:
    return repeating_kind(version, instrument_name, event_name) is not None


def clear_caches() -> None:
    """Forget cached metadata (tests reuse database ids across transactions)."""
    for cached in (_fields, _event_forms, _repeating):
        cached.cache_clear()
