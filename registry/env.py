"""Reading settings from environment variables, failing fast with one clear line.

Every malformed value raises ConfigError, whose message names the variable and what was
expected. manage.py, wsgi.py and the Celery app turn it into a single line on stderr
instead of a traceback wall.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS = ("development", "production", "test")
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is missing or malformed."""


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def get_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def get_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = get_str(name, default)
    assert value is not None
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not valid: expected one of {', '.join(choices)}")
    return value


def get_bool(name: str, default: bool) -> bool:
    value = get_str(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not valid: expected true or false")


def get_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = get_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not valid: expected a whole number") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ConfigError(f"{name}={value!r} is out of range: expected {minimum}..{maximum}")
    return number


def get_list(name: str, default: list[str]) -> list[str]:
    value = get_str(name)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",")]
    if any(not item or " " in item for item in items):
        raise ConfigError(f"{name}={value!r} is not valid: expected a comma-separated list without blanks")
    return items


def get_database(name: str, default_sqlite_path: str, conn_max_age: int = 60) -> dict:
    """DATABASE_URL parsed into a Django DATABASES entry; SQLite under var/ when unset."""
    url = get_str(name)
    if url is None:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path}
    shown = redact_url(url)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            f"{name}={shown!r} is not valid: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME or sqlite:///PATH"
        )
    if scheme != "sqlite":
        try:
            urlsplit(url).port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise ConfigError(f"{name}={shown!r} is not valid: the port must be a number") from None
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{name}={shown!r} is not valid: {exc}") from None
    if not config.get("NAME"):
        raise ConfigError(f"{name}={shown!r} is not valid: the database name is missing")
    return config


def get_broker_url(name: str) -> str | None:
    url = get_str(name)
    if url is None:
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(f"{name}={redact_url(url)!r} is not valid: expected redis://HOST:PORT/DB (or amqp://...)")
    return url
