"""Every entry point of table.py, for every role, on own site, other site, guessed ids and other project."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from registry.models import AuditEvent, FormInstance
from tests.access_matrix.table import TABLE, Entry
from tests.access_matrix.world import ROLES, MatrixWorld
from tests.registry.designs import classic_dictionary


@dataclass(frozen=True)
class Case:
    entry: Entry
    actor: str  # a role, "other_dm" (the other project's data manager), "outsider" or "anonymous"
    where: str  # own, other_site, guess, foreign (other project's id here), other_project (its code)
    expect: str  # "ok" or the refusal: 404, 403, 302, login, absent, no-write

    @property
    def id(self) -> str:
        return f"{self.entry.name} | {self.actor} | {self.where} -> {self.expect}"


def _cases() -> list[Case]:
    cases = []
    for e in TABLE:
        api = e.method == "API"
        for role in ROLES:
            if api and role not in TOKEN_HOLDERS:  # no API right, no token: every call is refused
                cases.append(Case(e, role, "own", "403"))
                continue
            cases.append(Case(e, role, "own", "ok" if role in e.allowed.split() else e.refused))
        target_refusal = e.refused if e.refused not in ("no-write",) else "404"
        if e.target:
            creates_on_guess = api and e.path == "record:import"  # an unknown id in an import is a new record
            if e.site_scoped:
                if "coord" in e.allowed.split():
                    cases.append(Case(e, "coord", "other_site", target_refusal))
                cases.append(Case(e, "dm", "other_site", "ok" if "dm" in e.allowed.split() else target_refusal))
            if not creates_on_guess and "dm" in e.allowed.split():
                cases.append(Case(e, "dm", "guess", target_refusal if not api else _api_guess(e)))
                cases.append(Case(e, "dm", "foreign", target_refusal if not api else _api_guess(e)))
        if api:
            if e.target:  # the other project's token never reaches this project's records
                cases.append(Case(e, "other_dm", "own", "absent" if e.path == "record:export" else "no-write"))
            cases.append(Case(e, "outsider", "own", "403"))
            cases.append(Case(e, "anonymous", "own", "403"))
            continue
        admin = e.path.startswith("/admin/")
        cases.append(Case(e, "outsider", "own", "302" if admin else "404"))
        cases.append(Case(e, "anonymous", "own", "302" if admin else "login"))
        if not admin:
            cases.append(Case(e, "other_dm", "own", "404"))
            cases.append(Case(e, "dm", "other_project", "404"))
    return cases


def _api_guess(e: Entry) -> str:
    return "absent" if e.path == "record:export" else "no-write"


TOKEN_HOLDERS = ("coord", "dm", "stat")
CASES = _cases()


def _values(world: MatrixWorld, case: Case) -> dict[str, str]:
    values = {**world.own.ids(), "code": world.main.project.code, "run": str(world.run),
              "version": str(world.version)}  # fmt: skip
    if case.where == "other_project":
        values["code"] = world.other.project.code
    target = case.entry.target
    if target and case.where in ("other_site", "guess", "foreign"):
        source = {"other_site": world.other_site.ids(), "guess": world.guessed(), "foreign": world.foreign.ids()}
        source["foreign"]["run"] = str(world.foreign_run)
        picked = source[case.where]
        values[target] = picked[target]
        if target == "record":
            values["record_pk"] = picked["record_pk"]
    record_id = values["record"]
    form = FormInstance.objects.filter(record__record_id=record_id, instrument="demographics").first()
    values["row_version"] = str(form.row_version if form else 0)
    values["dictionary"] = classic_dictionary()
    return values


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _call(world: MatrixWorld, case: Case, values: dict[str, str]):
    client = Client()
    if case.actor != "anonymous":
        client.force_login(world.user(case.actor))
    e = case.entry
    data = {k: _fill(v, values) for k, v in e.data.items()}
    if e.method == "API":
        content, action = e.path.split(":")
        token = world.tokens.get(case.actor, "")
        return client.post("/api/", {"token": token, "content": content, "action": action, "format": "json",
                                     "returnFormat": "json", **data})  # fmt: skip
    path = _fill(e.path, values)
    return client.get(path) if e.method == "GET" else client.post(path, data)


def _audit_count(world: MatrixWorld) -> int:
    return AuditEvent.objects.filter(project=world.main.project).exclude(action__in=["login", "login_failed"]).count()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_access(matrix_world: MatrixWorld, db, case: Case):
    values = _values(matrix_world, case)
    before = _audit_count(matrix_world)
    response = _call(matrix_world, case, values)
    wrote = _audit_count(matrix_world) > before
    status = response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace")
    e = case.entry

    assert status < 500, f"{case.id}: server error {status}"
    if case.expect == "ok":
        assert status in e.ok, f"{case.id}: expected {e.ok}, got {status}: {text[:300]}"
        if e.writes:
            assert wrote, f"{case.id}: answered {status} but nothing was written to the audit trail"
        if case.actor == "coord" and case.where == "own":
            # A site's coordinator never sees a record of the other site, on any page.
            assert matrix_world.other_site.record.record_id not in text, f"{case.id}: site B's record is shown"
        # The other project's records never appear in this project's pages.
        assert matrix_world.foreign.record.record_id not in text, f"{case.id}: the other project's record is shown"
        return
    if case.expect != "absent":  # an API export is itself audited, even when it returns no rows
        assert not wrote, f"{case.id}: refused ({status}) but the audit trail grew"
    if case.expect == "404":
        assert status == 404, f"{case.id}: expected 404, got {status}"
    elif case.expect == "403":
        assert status == 403, f"{case.id}: expected 403, got {status}: {text[:200]}"
    elif case.expect == "302":
        assert status == 302, f"{case.id}: expected a redirect, got {status}"
    elif case.expect == "login":
        assert status == 302 and response["Location"].startswith("/accounts/login/"), f"{case.id}: {status}"
    elif case.expect == "4xx":
        assert 400 <= status < 500 and "error" in text, f"{case.id}: expected an API error, got {status}"
    elif case.expect == "absent":
        assert status in (200, 400), f"{case.id}: {status}"
        rows = json.loads(text) if status == 200 else []
        target_id = values["record"]
        assert all(row.get("record_id") != target_id for row in rows), f"{case.id}: the record was returned"
        assert target_id not in text or case.where == "guess", f"{case.id}: {target_id} appears in the answer"
    elif case.expect == "no-write":
        pass  # answered with an explanation (a message or an API error), and nothing was changed
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(case.expect)


def test_matrix_covers_every_role_and_entry_point():
    """The table names every page of the URL configuration that takes a project code, and the API."""
    from django.urls import get_resolver

    named = {e.path.split("?")[0] for e in TABLE if e.method != "API"}
    patterns = _project_patterns(get_resolver())
    uncovered = sorted(p for p in patterns if not any(_same(p, n) for n in named))
    assert set(uncovered) <= NOT_IN_MATRIX, f"entry points missing from the access matrix: {uncovered}"
    assert patterns >= NOT_IN_MATRIX, "NOT_IN_MATRIX names a page that no longer exists"
    assert {c.actor for c in CASES} >= {*ROLES, "outsider", "anonymous", "other_dm"}


# Project pages whose rows need an object the matrix world does not build (an uploaded import file, a saved
# custom report); their own test modules check them with the same scope.
NOT_IN_MATRIX = {
    "projects/<slug:code>/import/<uuid:public_id>/",
    "projects/<slug:code>/import/<uuid:public_id>/status.json",
    "projects/<slug:code>/import/<uuid:public_id>/commit/",
    "projects/<slug:code>/import/<uuid:public_id>/rejected.csv",
    "projects/<slug:code>/import/upload/",
    "projects/<slug:code>/quality/rules/<slug:rule_code>/",
    "projects/<slug:code>/custom-reports/<int:report_id>/delete/",
    "projects/<slug:code>/custom-reports/<int:report_id>/edit/",
    "projects/<slug:code>/custom-reports/<str:key>/download/",
}


def _project_patterns(resolver, prefix: str = "") -> set[str]:
    found = set()
    for p in resolver.url_patterns:
        text = prefix + str(p.pattern)
        if hasattr(p, "url_patterns"):
            found |= _project_patterns(p, text)
        elif text.startswith("projects/"):
            found.add(text)
    return found


def _same(pattern: str, path: str) -> bool:
    import re

    regex = re.sub(r"<[^>]+>", "[^/]+", pattern)
    candidate = re.sub(r"\{[^}]+\}", "x", path.lstrip("/"))
    return re.fullmatch(regex, candidate) is not None
