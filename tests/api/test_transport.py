"""The raw HTTP contract: POST only, error formats, tokens, limits, rate limiting. Never an HTML page."""

from __future__ import annotations

import json
from datetime import timedelta

import requests
from django.test import override_settings
from django.utils import timezone

from registry.api.handlers import ROUTES
from registry.api.models import ApiToken, RateBucket
from registry.api.services.tokens import token_hash


def test_get_is_refused_with_501_in_xml(classic):
    response = requests.get(classic.url, timeout=30)
    assert response.status_code == 501
    assert response.headers["Content-Type"].startswith("text/xml")
    assert "<hash><error>The requested method is not implemented.</error></hash>" in response.text


def test_bad_token_answers_403_in_the_requested_format(classic):
    for fmt, check in (
        ("json", lambda r: r.json() == {"error": "You do not have permissions to use the API"}),
        ("csv", lambda r: r.text == "ERROR: You do not have permissions to use the API"),
        ("xml", lambda r: "<error>You do not have permissions to use the API</error>" in r.text),
    ):
        response = classic.post(token_of=None, token="0" * 32, content="version", format=fmt)
        assert response.status_code == 403
        assert check(response), response.text
    # returnFormat wins over format; no format at all means XML
    response = classic.post(token_of=None, token="ABC", content="record", format="csv", returnFormat="json")
    assert response.status_code == 403 and "error" in response.json()
    response = classic.post(token_of=None, content="record")
    assert response.status_code == 403 and response.headers["Content-Type"].startswith("text/xml")


def test_tokens_are_32_hex_characters_stored_hashed_and_revocable(classic):
    token = classic.tokens["stat"]
    assert len(token) == 32 and all(c in "0123456789ABCDEF" for c in token)
    stored = ApiToken.objects.get(user=classic.world.users["stat"])
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert classic.post("stat", content="version").text.count(".") == 2
    stored.revoked_at = timezone.now()
    stored.save()
    assert classic.post("stat", content="version", format="json").status_code == 403


def test_unknown_content_and_action_are_400_errors(classic):
    response = classic.post(content="nonsense", format="json")
    assert response.status_code == 400
    assert response.json() == {"error": 'The value of the parameter "content" is not valid'}
    response = classic.post(content="user", action="delete", format="json")
    assert response.status_code == 400 and "action" in response.json()["error"]


def test_thousands_of_array_parameters_are_accepted(classic):
    fields = ["record_id", "age", "demographics_complete"] * 1200  # 3600 parameters, as PyCap sends for big projects
    data = [("token", classic.tokens["dm"]), ("content", "record"), ("format", "json")]
    data += [(f"fields[{i}]", name) for i, name in enumerate(fields)]
    response = requests.post(classic.url, data=data, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_oversize_request_is_413_in_the_client_format(classic):
    with override_settings(API_MAX_REQUEST_BYTES=2000):
        response = classic.post(content="record", returnFormat="json", format="csv", data="x" * 5000)
    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.json()["error"]


def test_unexpected_exception_is_a_500_error_object(classic, monkeypatch):
    def broken(call):
        raise RuntimeError("boom")

    monkeypatch.setitem(ROUTES, ("version", "export"), broken)
    response = classic.post(content="version", format="json")
    assert response.status_code == 500
    assert response.json() == {"error": "The server encountered an error processing your request."}


def test_rate_limit_answers_429_with_retry_after_and_refills(classic):
    with override_settings(API_RATE_LIMIT_BURST=3, API_RATE_LIMIT_PER_MINUTE=6):
        statuses = [classic.post(content="version", format="json").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = classic.post(content="project", format="json")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "Too many API requests" in limited.json()["error"]
        # Never a ban: once the bucket has refilled (10 s per call at 6/min), calls pass again.
        token = ApiToken.objects.get(user=classic.world.users["dm"], revoked_at__isnull=True)
        RateBucket.objects.filter(key=f"token:{token.pk}").update(updated_at=timezone.now() - timedelta(seconds=30))
        assert classic.post(content="version", format="json").status_code == 200
        # Other tokens have buckets of their own.
        assert classic.post("stat", content="version", format="json").status_code == 200


def test_version_is_plain_semver_and_project_is_an_object_with_int_flags(classic):
    response = classic.post(content="version")
    assert response.status_code == 200 and response.text == "14.5.10"
    info = classic.post(content="project", format="json").json()
    assert isinstance(info, dict)
    assert info["project_title"] == "A classic study"
    assert info["is_longitudinal"] == 0 and info["has_repeating_instruments_or_events"] == 1
    assert list(info)[:3] == ["project_id", "project_title", "creation_time"]
    csv_text = classic.post(content="project", format="csv").text.splitlines()
    assert csv_text[0].startswith("project_id,project_title,creation_time")
    assert len(csv_text) == 2


def test_classic_projects_refuse_events_arms_and_mappings_with_400(classic):
    for content, what in (("event", "events"), ("arm", "arms"), ("formEventMapping", "form/event mappings")):
        response = classic.post(content=content, format="json")
        assert response.status_code == 400
        assert response.json() == {"error": f"You cannot export {what} for classic projects"}


def test_metadata_keys_order_and_string_values(classic):
    response = classic.post(content="metadata", format="json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    rows = response.json()
    assert rows[0]["field_name"] == "record_id"
    assert list(rows[0]) == [
        "field_name", "form_name", "section_header", "field_type", "field_label", "select_choices_or_calculations",
        "field_note", "text_validation_type_or_show_slider_number", "text_validation_min", "text_validation_max",
        "identifier", "branching_logic", "required_field", "custom_alignment", "question_number",
        "matrix_group_name", "matrix_ranking", "field_annotation",
    ]  # fmt: skip
    assert all(isinstance(v, str) for row in rows for v in row.values())
    assert {r["field_name"]: r["identifier"] for r in rows}["dob"] == "y"
    csv_lines = classic.post(content="metadata", format="csv").text.splitlines()
    assert csv_lines[0].startswith("field_name,form_name,section_header")
    assert classic.post(content="metadata", format="json", **{"fields[0]": "nope"}).json() == {
        "error": "The following values in the parameter \"fields\" are not valid: 'nope'"
    }


def test_array_parameters_in_three_styles(classic):
    classic.seed([{"record_id": n, "redcap_data_access_group": "a", "age": "5"} for n in ("r1", "r2", "r3")])
    indexed = classic.post(content="record", format="json", **{"records[1]": "r3", "records[0]": "r1"}).json()
    brackets = requests.post(classic.url, data=[("token", classic.tokens["dm"]), ("content", "record"),
                                                ("format", "json"), ("records[]", "r1"), ("records[]", "r3")],
                             timeout=30).json()  # fmt: skip
    comma = classic.post(content="record", format="json", records="r1, r3").json()
    assert {r["record_id"] for r in indexed} == {r["record_id"] for r in brackets} == {r["record_id"] for r in comma}
    assert {r["record_id"] for r in comma} == {"r1", "r3"}


def test_every_call_is_audited_without_values(classic):
    from registry.models import AuditEvent

    classic.seed([{"record_id": "r1", "redcap_data_access_group": "a", "name": "Synthetic Person"}])
    classic.post("stat", content="record", format="json")
    row = AuditEvent.objects.filter(action="api_record_export").latest("sequence")
    assert row.username == classic.world.users["stat"].username and row.source == "api"
    assert "Synthetic" not in json.dumps(row.details)
