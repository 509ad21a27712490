"""The Celery app. Workers: `celery -A registry worker`; beat: `celery -A registry beat`."""

import logging
import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RequeueStalledJobs(bootsteps.StartStopStep):
    """On every (re)connection to the broker, dispatch again the jobs a crash or an outage left behind."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, parent) -> None:
        from django.db import close_old_connections

        from registry.services.jobs import job_requeue_stalled

        try:
            job_requeue_stalled()
        except Exception:  # the database may be down too: the next reconnection tries again
            logging.getLogger(__name__).exception("could not re-dispatch stalled jobs")
        finally:
            close_old_connections()


app.steps["consumer"].add(RequeueStalledJobs)
