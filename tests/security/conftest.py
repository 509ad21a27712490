"""Fixtures for the security tests: a project with members of every role, and TOTP codes as an app computes them."""

from __future__ import annotations

import pyotp
import pytest
from django.utils import timezone

from tests.registry.factories import build_world


@pytest.fixture
def world(db):
    return build_world(code="sec")


def password_of(world, key: str) -> str:
    return "pw-" + key * 3


def totp_code(secret: str, offset_steps: int = 0) -> str:
    """The code an authenticator app shows now (or `offset_steps` 30-second steps away)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(timezone.now()) + offset_steps)


def post_login(client, username: str, password: str, address: str = "10.0.0.1", next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data, REMOTE_ADDR=address)
