"""A full export of a 10,000-patient registry streams in one call, with memory flat as the project grows."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
import requests

from registry.api.services.tokens import token_create
from registry.models import FormInstance, Record
from tests.api.conftest import import_classic_api
from tests.registry.factories import build_world


def enrol_many(world, first: int, count: int) -> None:
    """Records and forms written in bulk: setting up 10,000 patients through form saves would take minutes."""
    records = Record.objects.bulk_create(
        Record(project=world.project, site=world.site_a if n % 2 else world.site_b, record_id=f"P-{n:05d}")
        for n in range(first, first + count)
    )
    FormInstance.objects.bulk_create(
        FormInstance(record=r, event="event_1_arm_1", instrument="demographics", status=2,
                     data={"name": "Synthetic Person", "age": "9", "consent": "1", "consent_date": "2025-01-10",
                           "weight": "30", "height": "130", "bmi": "17.8", "symptoms___1": "1"})
        for r in records
    )  # fmt: skip


def streamed_peak(client, token: str) -> tuple[int, int]:
    """(rows, peak bytes allocated) of one in-process full JSON export."""
    response = client.post("/api/", {"token": token, "content": "record", "format": "json"})
    assert response.streaming
    tracemalloc.start()
    size = 0
    body = []
    for chunk in response.streaming_content:
        size += len(chunk)
        body.append(chunk.count(b'"record_id":'))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return sum(body), peak


@pytest.mark.django_db
def test_memory_stays_flat_as_the_project_grows(client):
    world = build_world(project=import_classic_api(repeating=False))
    token = token_create(user=world.users["dm"], project=world.project)
    enrol_many(world, 1, 1000)
    rows_small, peak_small = streamed_peak(client, token)
    enrol_many(world, 1001, 9000)
    rows_large, peak_large = streamed_peak(client, token)
    assert (rows_small, rows_large) == (1000, 10000)
    assert peak_large < 2 * peak_small, (peak_small, peak_large)  # 10x the records, not 10x the memory


def test_full_export_of_10000_patients_over_http(live_server, transactional_db):
    world = build_world(project=import_classic_api(repeating=False))
    token = token_create(user=world.users["dm"], project=world.project)
    enrol_many(world, 1, 10000)
    started = time.monotonic()
    response = requests.post(live_server.url + "/api/", data={"token": token, "content": "record", "format": "json"},
                             stream=True, timeout=120)  # fmt: skip
    assert response.status_code == 200
    assert "Content-Length" not in response.headers  # streamed, not built in memory first
    rows = json.loads(response.content)
    assert len(rows) == 10000 and rows[-1]["record_id"] == "P-10000"
    assert time.monotonic() - started < 60
