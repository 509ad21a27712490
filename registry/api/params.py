"""The parameters of an API call, parsed as REDCap parses them.

The body is parsed here rather than through `request.POST`: a full export request from PyCap
carries one `fields[i]` per field of the project (thousands), far above Django's field-count
limit, and a record import carries its whole payload in one `data` field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from registry.api.errors import ApiError

_ARRAY_KEY = re.compile(r"^(\w+)\[(\d*)\]$")
FORMATS = ("json", "csv", "xml", "odm")


@dataclass
class ApiParams:
    values: dict[str, str] = field(default_factory=dict)
    # name -> [(index or None, value)] for `name[N]` / `name[]` keys
    arrays: dict[str, list[tuple[int | None, str]]] = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs, files=None) -> ApiParams:
        params = cls(files=files.dict() if hasattr(files, "dict") else dict(files or {}))
        for key, value in pairs:
            match = _ARRAY_KEY.match(key)
            if match:
                index = int(match.group(2)) if match.group(2) else None
                params.arrays.setdefault(match.group(1), []).append((index, value))
            else:
                params.values[key] = value
        return params

    @classmethod
    def from_body(cls, body: bytes, *, strict: bool = True) -> ApiParams:
        text = body.decode("utf-8", errors="replace")
        # Unbounded on purpose: the request size is limited before this point.
        return cls.from_pairs(parse_qsl(text, keep_blank_values=True, max_num_fields=None, strict_parsing=False))

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.values or name in self.arrays

    def flag(self, name: str) -> bool:
        """REDCap's boolean: true iff '1' or 'true' in any case (PyCap sends 'True', R 'TRUE')."""
        return self.get(name).strip().lower() in ("1", "true")

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.get(name).strip()
        return value if value in allowed else default

    def list(self, name: str, *, require_array: bool = False) -> list[str]:
        """`name[N]` (by index), `name[]` (in order) or one comma-separated string; duplicates dropped."""
        if name in self.arrays:
            items = self.arrays[name]
            indexed = sorted((i, v) for i, v in items if i is not None)
            ordered = [v for _, v in indexed] + [v for i, v in items if i is None]
        elif name in self.values:
            if require_array:
                raise ApiError(
                    f"Incorrect format for '{name}' parameter. It must be passed as an array, even if it only "
                    "contains a single record name."
                )
            ordered = self.values[name].split(",")
        else:
            return []
        seen: dict[str, None] = {}
        for value in ordered:
            value = value.strip()
            if value:
                seen.setdefault(value, None)
        return list(seen)

    @property
    def format(self) -> str:
        value = self.get("format").strip().lower()
        return value if value in FORMATS else "xml"

    @property
    def return_format(self) -> str:
        """The format of errors and scalar replies: returnFormat, else format, else xml."""
        value = (self.get("returnFormat").strip() or self.get("format").strip()).lower()
        return value if value in ("json", "csv", "xml") else "xml"


def sniff_error_format(prefix: bytes) -> str:
    """The error format of a request whose body is not read in full (too large): from its first bytes."""
    pairs = parse_qsl(prefix.decode("utf-8", errors="replace"), keep_blank_values=True)
    return ApiParams.from_pairs(pairs[:-1] if pairs else pairs).return_format
