"""`content=record` as plain CSV goes through the release engine's COPY: the same bytes as the row-by-row path.

The demo cohort (40 SoJIA patients, planted errors and all) is exported through `POST /api/` by a data manager
(full), a statistician (de-identified: hashed ids, shifted dates, no identifiers) and a coordinator (her site only),
with form, field, event, label and DAG options; each answer must equal, byte for byte, what the Python flat rows
give for the same call (the path every other shape of the call still takes).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

import registry.api.handlers  # noqa: F401 - the API's modules in the app's import order (they import record_export)
from registry.api import record_export
from registry.api.services.tokens import token_create
from registry.models import AuditEvent

pytestmark = pytest.mark.django_db

CALLS = [
    ("datamanager", {}),
    ("datamanager", {"forms[0]": "enrollment", "forms[1]": "disease_activity", "exportDataAccessGroups": "true"}),
    ("datamanager", {"fields[0]": "record_id", "fields[1]": "wt_kg", "fields[2]": "dob", "events[0]": "month_3_arm_1"}),
    ("datamanager", {"rawOrLabel": "label", "exportCheckboxLabel": "true", "forms[0]": "ddx_workup"}),
    ("statistician", {}),
    ("coordinator_b", {"forms[0]": "adverse_event", "forms[1]": "conmed"}),
]


def _export(client: Client, token: str, params: dict[str, str]) -> bytes:
    body = {"token": token, "content": "record", "format": "csv", "type": "flat", **params}
    answer = client.post("/api/", urlencode(body), content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200, answer.content[:500]
    return b"".join(answer.streaming_content)


@pytest.mark.parametrize(("user", "params"), CALLS, ids=[f"{u}-{i}" for i, (u, _) in enumerate(CALLS)])
def test_the_copy_export_gives_the_bytes_of_the_row_by_row_export(demo, monkeypatch, user, params):
    from django.contrib.auth import get_user_model

    token = token_create(user=get_user_model().objects.get(username=user), project=demo)
    client = Client()
    copied = _export(client, token, params)
    monkeypatch.setattr(record_export.sqlflat, "supported", lambda: False)  # the row-by-row path
    rows = _export(client, token, params)

    assert copied == rows
    assert copied.count(b"\n") > 1  # a header and data, not two empty answers
    assert AuditEvent.objects.filter(action="api_record_export", username=user).count() == 2  # both audited


def test_the_copy_path_is_taken_for_a_plain_csv_pull(demo, monkeypatch):
    """Guards the comparison above: the first export really went through COPY."""
    from django.contrib.auth import get_user_model

    calls = []
    real = record_export.copystreams.copy_flat_csv
    monkeypatch.setattr(record_export.copystreams, "copy_flat_csv", lambda *a, **k: calls.append(1) or real(*a, **k))
    token = token_create(user=get_user_model().objects.get(username="datamanager"), project=demo)
    _export(Client(), token, {})
    assert calls == [1]
    _export(Client(), token, {"records[0]": "site_01"})  # a record list: the row-by-row path
    assert calls == [1]
