"""The record status dashboard's first page: time and number of SQL queries (design §9).

Rendered in process through the real view (URL, middleware, template) so every query it sends can
be counted; the count must not grow with the number of records, the time stays under 200 ms.
"""

from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.bench.registry_setup import ensure_bench_user


class DashboardError(Exception):
    pass


def bench_dashboard(project, *, repeats: int = 5) -> dict:
    client = Client()
    client.force_login(ensure_bench_user(project))
    url = reverse("record-dashboard", kwargs={"code": project.code})
    client.get(url)  # warm: the design cache and the first connection are not the dashboard's cost
    timings, queries = [], []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            answer = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise DashboardError(f"the dashboard answered {answer.status_code}")
        queries.append(len(captured.captured_queries))
    return {
        "dashboard_first_page_ms": round(statistics.median(timings), 1),
        "dashboard_queries": max(queries),
    }
