"""What the evaluator asks of its caller: stored values, instances, smart variables, today.

Callers subclass ``EvalContext`` (the form engine over a record's JSONB rows, the data-quality
runner, ...) and implement ``value`` and ``checkbox`` at least; ``DictContext`` keeps values in
plain dicts for tests and simple callers. The JavaScript runtime takes an object with the same
members (``CrfLogic.dictContext(spec)`` builds one from the same spec as ``DictContext.from_spec``).

Conventions:
- ``event=None`` is the current event; ``instance=None`` is the current instance (or the only one
  of a non-repeating form). The evaluator resolves ``previous-instance``, ``last-instance`` etc.
  to numbers before asking, using ``current_instance`` and ``instances()``.
- ``value`` returns the raw stored string, ``''`` when blank (never None).
- Missing-data codes (NA, UNK, ...) may be stored beside the value (the registry's choice, so
  ``value`` is ``''``) or in it (REDCap's choice); ``missing_code`` answers for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

INSTANCE_WORDS = frozenset(
    {"previous-instance", "current-instance", "next-instance", "first-instance", "last-instance"}
)


class EvalContext:
    """Base class (and protocol) of evaluation contexts; override what your storage knows."""

    record_name: str = ""
    event_name: str = ""  # unique name of the current event, '' in a classic project
    record_dag_name: str = ""
    user_dag_name: str = ""
    current_instance: int | None = None  # None outside a repeating form/event
    missing_codes: frozenset[str] = frozenset()

    @property
    def today(self) -> date:
        return date.today()

    @property
    def now(self) -> datetime:
        return datetime.now().replace(microsecond=0)

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        """Raw stored value of a field ('' when blank)."""
        raise NotImplementedError

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        """'1' when the checkbox option ``code`` is ticked, else '0'."""
        raise NotImplementedError

    def instances(self, field: str, event: str | None = None) -> list[int]:
        """Instance numbers that exist for the field's repeating form or event (any order)."""
        return [self.current_instance] if self.current_instance else []

    def missing_code(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        """The missing-data code recorded for the field, '' if none."""
        stored = self.value(field, event, instance)
        return stored if stored in self.missing_codes else ""

    def resolve_event(self, name: str) -> str | None:
        """Unique event name for an event smart variable (``previous-event-name``...); None if unknown."""
        return (self.event_name or None) if name == "event-name" else None

    def smart_variable(self, name: str, param: str | None = None) -> str:
        """Text of a smart variable such as ``record-name``; '' for the ones this context does not know."""
        if name == "record-name":
            return self.record_name
        if name == "event-name":
            return self.event_name
        if name == "record-dag-name":
            return self.record_dag_name
        if name == "user-dag-name":
            return self.user_dag_name
        if name in INSTANCE_WORDS:
            number = resolve_instance(self, name, None, None)
            return "" if number is None else str(number)
        return ""


def resolve_instance(ctx: EvalContext, instance: str, field: str | None, event: str | None) -> int | None:
    """The instance number an instance word (or digits) stands for; None if there is none (previous of 1)."""
    current = ctx.current_instance
    if instance.isascii() and instance.isdigit():
        return int(instance)
    if instance == "current-instance":
        return current
    if instance == "previous-instance":
        return current - 1 if current and current > 1 else None
    if instance == "next-instance":
        return current + 1 if current else None
    existing = ctx.instances(field, event) if field else ([current] if current else [])
    if not existing:
        return None
    return min(existing) if instance == "first-instance" else max(existing)


class DictContext(EvalContext):
    """A context over plain dicts.

    ``values``: the current event and instance, ``{field: value}``. A checkbox is either a list of
    ticked codes (``{"cb": ["1", "3"]}``) or REDCap export columns (``{"cb___1": "1"}``).
    ``events``: other events (their instance 1 or only instance), ``{event: {field: value}}``.
    ``instances``: other repeating instances of the current event, ``{n: {field: value}}``.
    ``event_instances``: repeating instances of other events, ``{event: {n: {field: value}}}``.
    ``missing``: missing codes stored beside values, ``{field: code}`` (current event and instance).
    ``smart``: extra smart variables, ``{"project-id": "12", "aggregate-mean:weight": "71.5"}``.
    """

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        events: Mapping[str, Mapping[str, Any]] | None = None,
        instances: Mapping[int | str, Mapping[str, Any]] | None = None,
        event_instances: Mapping[str, Mapping[int | str, Mapping[str, Any]]] | None = None,
        missing: Mapping[str, str] | None = None,
        record_name: str = "",
        event_name: str = "",
        record_dag_name: str = "",
        user_dag_name: str = "",
        current_instance: int | None = None,
        missing_codes: Iterable[str] = (),
        today: date | None = None,
        now: datetime | None = None,
        smart: Mapping[str, str] | None = None,
    ) -> None:
        self.values = dict(values or {})
        self.events = {name: dict(fields) for name, fields in (events or {}).items()}
        self.repeats: dict[str, dict[int, dict[str, Any]]] = {
            "": {int(n): dict(fields) for n, fields in (instances or {}).items()}
        }
        for name, by_instance in (event_instances or {}).items():
            self.repeats[name] = {int(n): dict(fields) for n, fields in by_instance.items()}
        self.missing = dict(missing or {})
        self.record_name = record_name
        self.event_name = event_name
        self.record_dag_name = record_dag_name
        self.user_dag_name = user_dag_name
        self.current_instance = current_instance
        self.missing_codes = frozenset(missing_codes)
        self._today = today
        self._now = now
        self.smart = dict(smart or {})

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> DictContext:
        """Build from the JSON shape of the conformance table (the shape CrfLogic.dictContext takes)."""
        return cls(
            spec.get("values"),
            events=spec.get("events"),
            instances=spec.get("instances"),
            event_instances=spec.get("event_instances"),
            missing=spec.get("missing"),
            record_name=spec.get("record_name", ""),
            event_name=spec.get("event_name", ""),
            record_dag_name=spec.get("record_dag_name", ""),
            user_dag_name=spec.get("user_dag_name", ""),
            current_instance=spec.get("current_instance"),
            missing_codes=spec.get("missing_codes", ()),
            today=date.fromisoformat(spec["today"]) if spec.get("today") else None,
            now=datetime.fromisoformat(spec["now"]) if spec.get("now") else None,
            smart=spec.get("smart"),
        )

    @property
    def today(self) -> date:
        if self._today is not None:
            return self._today
        return self._now.date() if self._now is not None else date.today()

    @property
    def now(self) -> datetime:
        if self._now is not None:
            return self._now
        if self._today is not None:
            return datetime(self._today.year, self._today.month, self._today.day)
        return datetime.now().replace(microsecond=0)

    def _is_current_event(self, event: str | None) -> bool:
        return event is None or event == self.event_name

    def _fields(self, event: str | None, instance: int | None) -> Mapping[str, Any]:
        """The dict holding the fields of (event, instance); {} when there is none."""
        current_event = self._is_current_event(event)
        key = "" if current_event else str(event)
        repeats = self.repeats.get(key, {})
        if instance is not None and instance in repeats:
            return repeats[instance]
        plain = self.values if current_event else self.events.get(key, {})
        if instance is None or instance == ((self.current_instance or 1) if current_event else 1):
            return plain
        return {}

    def value(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        stored = self._fields(event, instance).get(field, "")
        if isinstance(stored, list | tuple | set):
            return ""  # a checkbox has no single value
        return "" if stored is None else str(stored)

    def checkbox(self, field: str, code: str, event: str | None = None, instance: int | None = None) -> str:
        fields = self._fields(event, instance)
        stored = fields.get(field)
        if isinstance(stored, list | tuple | set):
            return "1" if code in {str(ticked) for ticked in stored} else "0"
        return "1" if str(fields.get(field + "___" + export_code(code), "")) == "1" else "0"

    def instances(self, field: str, event: str | None = None) -> list[int]:
        current_event = self._is_current_event(event)
        numbers = set(self.repeats.get("" if current_event else str(event), {}))
        if current_event and self.current_instance:
            numbers.add(self.current_instance)
        return sorted(numbers)

    def missing_code(self, field: str, event: str | None = None, instance: int | None = None) -> str:
        if self._is_current_event(event) and instance in (None, self.current_instance):
            code = self.missing.get(field)
            if code:
                return code
        return super().missing_code(field, event, instance)

    def smart_variable(self, name: str, param: str | None = None) -> str:
        key = f"{name}:{param}" if param is not None else name
        if key in self.smart:
            return self.smart[key]
        return super().smart_variable(name, param)


def export_code(code: str) -> str:
    """REDCap's checkbox column suffix for a raw code: '-99' -> '_99', 'Aa' -> 'aa', '1.5' -> '1_5'."""
    cleaned = code.replace("-", "_").replace(".", "_").lower()
    return "".join(char for char in cleaned if char.isascii() and (char.isalnum() or char == "_"))
