"""The compose file parses, has the six services with health checks, and names only real commands."""

from __future__ import annotations

import importlib
import shutil

import yaml
from django.core.management import get_commands

from tests.conftest import ROOT

COMPOSE = ROOT / "docker" / "compose.yml"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_the_stack_with_health_checks_and_a_volume():
    services = compose()["services"]
    assert set(services) == {"web", "worker", "worker-long", "beat", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "postgres-data" in compose()["volumes"]
    # A release built by a worker is downloaded through web: they share the media volume.
    for name in ("web", "worker", "worker-long"):
        assert "media:/app/var/media" in services[name]["volumes"], name


def command_words(service: dict) -> list[str]:
    command = service["command"]
    if command[:2] == ["sh", "-c"]:
        return command[2].split()
    return list(command)


def test_every_command_compose_names_exists_in_the_project():
    services = compose()["services"]
    manage_commands = get_commands()
    seen_targets = []
    for name, service in services.items():
        if "build" not in service:
            continue  # postgres and redis run their official images
        words = command_words(service)
        for i, word in enumerate(words):
            if word == "manage.py":
                assert words[i + 1] in manage_commands, f"{name}: manage.py {words[i + 1]} does not exist"
            if word == "gunicorn":
                module_name, attr = words[i + 1].split(":")
                module = importlib.import_module(module_name)
                assert callable(getattr(module, attr)), f"{name}: {words[i + 1]} is not a WSGI app"
                seen_targets.append(words[i + 1])
            if word == "-A":
                app = importlib.import_module(words[i + 1]).celery_app
                assert app.main == words[i + 1], f"{name}: no Celery app in {words[i + 1]}"
                seen_targets.append(words[i + 1])
        executable = words[0]
        assert (ROOT / ".venv" / "bin" / executable).exists() or shutil.which(executable), executable
    assert "registry.wsgi:application" in seen_targets
    assert seen_targets.count("registry") == 3  # two workers and beat


def test_dockerfile_builds_from_the_pinned_files():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile
    assert "npm ci" in dockerfile
    assert "collectstatic" in dockerfile
    for path in ("requirements.txt", "package.json", "package-lock.json", "manage.py"):
        assert (ROOT / path).exists(), path


def test_the_workers_consume_every_declared_queue_and_nothing_else():
    from registry.celery import app

    consumed = []
    for service in compose()["services"].values():
        words = command_words(service) if "build" in service else []
        if "worker" in words:
            queues = words[words.index("-Q") + 1].split(",")
            consumed.extend(queues)
    assert sorted(consumed) == sorted(q.name for q in app.conf.task_queues)  # each queue has exactly one worker service
