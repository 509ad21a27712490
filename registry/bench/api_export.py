"""A full-project record export through the REDCap API with PyCap, as a statistician's script does it.

PyCap talks to the server under test over HTTP (`POST /api/`, content=record, flat CSV): the time
covers the API's work, the transfer and the client receiving every byte. The floor is the same
bare `COPY` of the project's form rows that the exports benchmark uses.
"""

from __future__ import annotations

import statistics
import time

import redcap

from registry.api.services.tokens import token_create
from registry.bench.floor import copy_form_rows
from registry.bench.registry_setup import ensure_bench_user
from registry.bench.server import Server
from registry.models import AuditSource


def bench_api_export(project, server: Server, *, repeats: int = 3) -> dict:
    token = token_create(user=ensure_bench_user(project), project=project, source=AuditSource.SYSTEM)
    # CSV, not JSON: PyCap's JSON decodes a 10,000-patient project into millions of dicts, a
    # cost of the client library rather than of the server.
    api = redcap.Project(f"{server.base_url}/api/", token)
    exports, floors, size = [], [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        text = api.export_records(format_type="csv")
        exports.append(time.perf_counter() - started)
        size = len(text)
        del text
        floors.append(copy_form_rows(project)[0])
    return {
        "api_export_s": round(statistics.median(exports), 2),
        "api_export_mb": round(size / 1e6, 1),
        "api_export_vs_copy_ratio": round(statistics.median(e / f for e, f in zip(exports, floors, strict=True)), 2),
    }
