"""Every Celery task lands on a queue some worker consumes: exports and data quality on their own."""

from __future__ import annotations

from django.conf import settings

from registry.celery import app


def registered_tasks() -> list[str]:
    app.loader.import_default_modules()  # autodiscovery is lazy: load every app's tasks module
    return sorted(app.tasks)


def queue_of(task_name: str) -> str:
    queue = app.amqp.router.route({}, task_name)["queue"]
    return getattr(queue, "name", queue)


def test_every_registered_task_is_routed_to_a_declared_queue():
    declared = {q.name for q in app.conf.task_queues}
    tasks = registered_tasks()
    assert "exports.build_release" in tasks and "quality.run_job" in tasks
    unrouted = {name: queue_of(name) for name in tasks if queue_of(name) not in declared}
    assert not unrouted, f"tasks sent to queues no worker declares: {unrouted}"


def test_exports_and_quality_have_their_own_queues_and_the_rest_stays_on_default():
    own_queues = {"exports": "exports", "quality": "quality"}
    for name in registered_tasks():
        expected = own_queues.get(name.split(".")[0], settings.CELERY_TASK_DEFAULT_QUEUE)
        assert queue_of(name) == expected, name


def test_an_explicit_queue_still_wins_over_the_routes():
    # The worker tests (and an operator's one-off) send a run to a private queue by name.
    assert app.amqp.router.route({"queue": "private"}, "quality.run_job")["queue"].name == "private"
