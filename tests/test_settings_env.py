"""Settings come from the environment and a malformed value fails fast with one clear line."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import PYTHON, ROOT, subprocess_env

STRONG_KEY = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ" * 2


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = subprocess_env(**env)
    for name in ("DJANGO_ENV", "SECRET_KEY"):
        if name not in env:
            base.pop(name, None)
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql//nonsense", "DATABASE_URL"),
        ("DATABASE_URL", "postgres://u:secretpw@host:notaport/db", "port must be a number"),
        ("PORT", "eighty", "PORT='eighty' is not valid"),
        ("PORT", "70000", "out of range"),
        ("DJANGO_ENV", "staging", "DJANGO_ENV='staging' is not valid"),
        ("CELERY_BROKER_URL", "localhost:6379", "CELERY_BROKER_URL"),
        ("ALLOWED_HOSTS", "a.example, ,b.example", "ALLOWED_HOSTS"),
    ],
)
def test_malformed_setting_gives_one_clear_line(name, value, expected):
    result = manage("check", **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:")
    assert expected in lines[0]
    assert "secretpw" not in result.stderr  # passwords are never echoed


def test_unreachable_database_gives_one_clear_line():
    result = manage("migrate", "--noinput", DATABASE_URL="postgres://postgres:hunter2@127.0.0.1:1/nodb")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("database error: cannot use postgres://postgres:***@127.0.0.1:1/nodb")
    assert "hunter2" not in result.stderr


def test_production_requires_secret_key():
    result = manage("check", DJANGO_ENV="production")
    assert result.returncode == 2
    assert "SECRET_KEY is required when DJANGO_ENV=production" in result.stderr


def test_production_refuses_the_benchmarks_unaudited_write_page():
    result = manage("check", DJANGO_ENV="production", SECRET_KEY=STRONG_KEY, BENCH_SAVE_FLOOR="true")
    assert result.returncode == 2
    assert "BENCH_SAVE_FLOOR must be off when DJANGO_ENV=production" in result.stderr


def test_production_check_deploy_has_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_ENV="production", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_default_is_sqlite_and_in_process(tmp_path):
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'],"
        " settings.CELERY_TASK_ALWAYS_EAGER, settings.DEBUG)"
    )
    env = subprocess_env()
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DJANGO_ENV", None)
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    engine, name, eager, debug = result.stdout.strip().splitlines()[-1].split()
    assert engine == "django.db.backends.sqlite3"
    assert name.endswith("var/registry.sqlite3")
    assert eager == "True"
    assert debug == "True"


def test_production_hashes_passwords_with_argon2():
    code = "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    result = manage("shell", "-c", code, DJANGO_ENV="production", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.auth.hashers.Argon2PasswordHasher"
