"""Browser fixtures live in tests/conftest.py; re-exported here for modules that import them from this path."""

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, browser, login  # noqa: F401
