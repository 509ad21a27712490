"""Check branching logic and calculations with the project's one logic language (forms.logic).

Each distinct expression is parsed once per import (real dictionaries repeat the same logic on many
fields). References are then checked against the dictionary being imported: fields, `<form>_complete`
fields, checkbox choice codes and, when the project has events, event names. Smart variables are not
field references and are left to the language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from forms.dictionary.issues import Issue
from forms.dictionary.reader import issue_for
from forms.versions import FieldSpec


def _load_parser() -> tuple[Callable | None, type[Exception] | None]:
    try:
        from forms.logic import LogicSyntaxError, parse
    except ImportError:
        return None, None
    return parse, LogicSyntaxError


@dataclass
class _Parsed:
    expression: object | None = None
    error: str | None = None


@dataclass
class LogicChecker:
    fields: dict[str, FieldSpec]
    forms: set[str]
    event_names: set[str] | None  # None: the project has no events yet, so event names cannot be checked
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    _cache: dict[str, _Parsed] = field(default_factory=dict)
    _parse: Callable | None = None
    _syntax_error: type[Exception] | None = None
    available: bool = True

    def __post_init__(self) -> None:
        self._parse, self._syntax_error = _load_parser()
        self.available = self._parse is not None

    def _parsed(self, source: str) -> _Parsed:
        cached = self._cache.get(source)
        if cached is None:
            try:
                cached = _Parsed(expression=self._parse(source))
            except self._syntax_error as exc:
                # The language's message already names the place ("... at line 1, column 14").
                cached = _Parsed(error=f"syntax error: {exc.message}")
            self._cache[source] = cached
        return cached

    def check(self, source: str, row: int, key: str, what: str) -> None:
        """Parse `source` (a cell of column `key`) and check what it refers to."""
        if not self.available or not source.strip():
            return
        parsed = self._parsed(source)
        if parsed.error:
            self.errors.append(issue_for(row, key, f"{what}: {parsed.error}"))
            return
        for ref in sorted(parsed.expression.references, key=lambda r: (r.field, str(r.event), str(r.code))):
            problem = self._reference_problem(ref)
            if problem:
                self.errors.append(issue_for(row, key, f"{what}: {problem}"))

    def _reference_problem(self, ref) -> str | None:
        name, event, code = ref.field, ref.event, ref.code
        if (
            event is not None
            and self.event_names is not None
            and not _is_smart(event)
            and event not in self.event_names
        ):
            return f"[{event}] is not an event of this project"
        spec = self.fields.get(name)
        if spec is None:
            if name.endswith("_complete") and name[: -len("_complete")] in self.forms:
                return None
            if _is_smart(name):
                return None
            return f"[{name}] is not a field of this dictionary"
        if code is not None:
            if spec.field_type != "checkbox":
                return f"[{name}({code})]: only checkbox fields take a choice code in brackets"
            if code not in {c for c, _label in spec.choices}:
                return f'[{name}({code})]: "{code}" is not a choice code of checkbox {name}'
        return None


def _is_smart(name: str) -> bool:
    # Smart variables contain a hyphen or a colon (record-name, event-name, aggregate-min:x); field names cannot.
    return "-" in name or ":" in name
