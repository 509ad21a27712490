"""Write a data dictionary byte for byte as REDCap does (PHP fputcsv quoting, LF line ends)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from forms.dictionary.columns import KEYS, LABELS
from forms.versions import FieldSpec

# PHP fputcsv's quoting (REDCap's CSV): the delimiter, a quote, CR, LF, TAB or a space.
FPUTCSV_QUOTE_CHARS = ',"\r\n\t '
_NEEDS_QUOTES = frozenset(FPUTCSV_QUOTE_CHARS)


def csv_cell(value: str, delimiter: str = ",") -> str:
    """PHP fputcsv: quote iff the cell holds the delimiter, a quote, CR, LF, TAB or a space; double quotes."""
    if any(ch in _NEEDS_QUOTES or ch == delimiter for ch in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(cells: Iterable[str], delimiter: str = ",") -> str:
    return delimiter.join(csv_cell(c, delimiter) for c in cells) + "\n"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    return csv_line(header) + "".join(csv_line(r) for r in rows)


def dictionary_cells(spec: FieldSpec, *, excel_safe: bool = False) -> list[str]:
    """The 18 cells of one field. `excel_safe`: "@..." annotations get a leading space, as REDCap's UI download."""
    annotation = spec.annotation
    if excel_safe and annotation.startswith("@"):
        annotation = " " + annotation  # keeps spreadsheets from reading the tag as a formula
    alignment = spec.custom_alignment or ("RV" if spec.field_type == "slider" else "")
    return [
        spec.name,
        spec.form,
        spec.section_header,
        spec.field_type,
        spec.label,
        spec.choices_raw,
        spec.field_note,
        spec.validation,
        spec.validation_min,
        spec.validation_max,
        "y" if spec.identifier else "",
        spec.branching_logic,
        "y" if spec.required else "",
        alignment,
        spec.question_number,
        spec.matrix_group,
        "y" if spec.matrix_ranking else "",
        annotation,
    ]


def write_csv(specs: Iterable[FieldSpec], *, api_header: bool = False, excel_safe: bool = False) -> str:
    """The label-header CSV of a download, or with `api_header` the API's `content=metadata&format=csv`.

    `excel_safe` prefixes "@" annotations with a space as REDCap's UI download does, so a spreadsheet
    does not take them for formulas; the import trims it, so both forms read back the same.
    """
    rows = (dictionary_cells(s, excel_safe=excel_safe) for s in specs)
    return csv_text(KEYS if api_header else LABELS, rows)


def write_json(specs: Iterable[FieldSpec]) -> str:
    """The API JSON: objects with the 18 keys in order, all values strings, joined as REDCap joins them.

    Escaping follows PHP's json_encode defaults, which REDCap uses: non-ASCII as \\uXXXX and "/" as "\\/".
    """
    objects = [
        json.dumps(dict(zip(KEYS, dictionary_cells(s), strict=True)), separators=(",", ":")).replace("/", "\\/")
        for s in specs
    ]
    return "[" + ",\n".join(objects) + "]"
