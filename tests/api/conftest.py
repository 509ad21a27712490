"""A live test server, a classic and the longitudinal SoJIA project, members of every role with API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from forms.design.services import import_design, import_study
from forms.dictionary.services import import_dictionary
from forms.models import Project
from registry.api.services.tokens import token_create
from registry.services.record_import import import_records
from tests.registry.designs import API_HEADER, CLASSIC_ROWS
from tests.registry.factories import StudyWorld, build_world

ROOT = Path(__file__).resolve().parents[2]
SOJIA = ROOT / "fixtures" / "sojia"

# The registry's classic test design plus an identifier date, a file field and a descriptive field;
# `labs` repeats.
CLASSIC_API_ROWS = [
    *CLASSIC_ROWS[:2],
    "dob,demographics,,text,Date of birth,,,date_dmy,,,y,,,,,,,",
    *CLASSIC_ROWS[2:10],
    "consent_doc,demographics,,file,Signed consent form,,,,,,,,,,,,,",
    "labs_intro,labs,,descriptive,Enter the latest values,,,,,,,,,,,,,",
    *CLASSIC_ROWS[10:],
]


@dataclass
class ApiWorld:
    world: StudyWorld
    url: str
    tokens: dict[str, str]

    @property
    def project(self) -> Project:
        return self.world.project

    def post(self, token_of: str | None = "dm", files=None, **params) -> requests.Response:
        data = dict(params)
        if token_of is not None:
            data.setdefault("token", self.tokens[token_of])
        return requests.post(self.url, data=data, files=files, timeout=60)

    def scope(self, username: str):
        return self.world.scope(username)

    def seed(self, rows: list[dict[str, str]], user: str = "dm"):
        return import_records(scope=self.scope(user), rows=rows)


def _api_world(project: Project, live_server) -> ApiWorld:
    world = build_world(project=project)
    # Monitors and PIs have no API right, so no token.
    with_api = ("coord_a", "coord_b", "dm", "stat")
    tokens = {name: token_create(user=world.users[name], project=project) for name in with_api}
    return ApiWorld(world, live_server.url + "/api/", tokens)


def import_classic_api(code: str = "classic", repeating: bool = True) -> Project:
    source = "\n".join([API_HEADER, *CLASSIC_API_ROWS]) + "\n"
    result = import_dictionary(project_code=code, source=source.encode(), title="A classic study")
    assert not result.errors, result.errors
    if repeating:
        result = import_design(project_code=code, what="repeating", source=b"form_name,custom_form_label\nlabs,\n")
        assert not result.errors, result.errors
    return Project.objects.get(code=code)


@pytest.fixture
def classic(live_server, transactional_db) -> ApiWorld:
    return _api_world(import_classic_api(), live_server)


@pytest.fixture
def sojia(live_server, transactional_db) -> ApiWorld:
    result = import_study(directory=SOJIA)
    assert not result.errors, result.errors
    return _api_world(Project.objects.get(code="sojia"), live_server)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
