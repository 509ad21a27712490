"""Success bodies in REDCap's shapes: JSON, CSV with PHP fputcsv quoting, and REDCap's XML."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

from django.http import HttpResponse, StreamingHttpResponse

from forms.dictionary.writer import csv_line
from registry.api.errors import CONTENT_TYPES

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n'


def _cdata(value) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_item(row: dict, tag: str = "item") -> str:
    cells = "".join(f"<{escape(k)}>{_cdata(v)}</{escape(k)}>" for k, v in row.items())
    return f"<{tag}>{cells}</{tag}>\n"


def csv_cell_text(value) -> str:
    return "" if value is None else str(value)


def iter_json(rows: Iterable[dict]) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        yield ("" if first else ",") + json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        first = False
    yield "]"


def iter_csv(header: Sequence[str], rows: Iterable[Sequence], delimiter: str = ",") -> Iterator[str]:
    yield csv_line(header, delimiter)
    for row in rows:
        yield csv_line([csv_cell_text(v) for v in row], delimiter)


def iter_xml(rows: Iterable[dict], root: str = "records") -> Iterator[str]:
    yield f"{XML_HEAD}<{root}>\n"
    for row in rows:
        yield xml_item(row)
    yield f"</{root}>"


def _batched(chunks: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Join small pieces into blocks of about `size` bytes: one socket write per row would be slow."""
    buffer: list[str] = []
    length = 0
    for chunk in chunks:
        buffer.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


def table_response(fmt: str, columns: Sequence[str], rows: Iterable[dict], *, stream: bool = False,
                   delimiter: str = ",", header: Sequence[str] | None = None) -> HttpResponse:  # fmt: skip
    """A list of objects (JSON), a header plus rows (CSV) or `<records><item>` (XML)."""
    fmt = fmt if fmt in CONTENT_TYPES else "xml"
    if fmt == "json":
        chunks = iter_json(rows)
    elif fmt == "csv":
        chunks = iter_csv(header or columns, ([row.get(c, "") for c in columns] for row in rows), delimiter)
    else:
        chunks = iter_xml(rows)
    if stream:
        return StreamingHttpResponse(_batched(chunks), content_type=CONTENT_TYPES[fmt])
    return HttpResponse("".join(chunks), content_type=CONTENT_TYPES[fmt])


def object_response(fmt: str, obj: dict) -> HttpResponse:
    """One object: a JSON object, a CSV header plus one row, or XML `<items>`."""
    fmt = fmt if fmt in CONTENT_TYPES else "xml"
    if fmt == "json":
        body = json.dumps(obj, ensure_ascii=False)
    elif fmt == "csv":
        body = "".join(iter_csv(list(obj), [list(obj.values())]))
    else:
        body = XML_HEAD + xml_item(obj, "items")
    return HttpResponse(body, content_type=CONTENT_TYPES[fmt])


def scalar_response(fmt: str, value) -> HttpResponse:
    """A bare value (an import count): JSON `3`, or the plain text."""
    if fmt == "json":
        return HttpResponse(json.dumps(value), content_type=CONTENT_TYPES["json"])
    return HttpResponse(str(value), content_type=CONTENT_TYPES["csv" if fmt == "csv" else "xml"])


def text_response(text: str, content_type: str = CONTENT_TYPES["csv"]) -> HttpResponse:
    return HttpResponse(text, content_type=content_type)
