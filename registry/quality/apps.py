from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "registry.quality"
    label = "quality"
    verbose_name = "Data quality and queries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.schedules import crontab

        from registry.celery import app

        # Beat: the nightly rule run, then the query digest e-mail in the morning (times are UTC).
        app.conf.beat_schedule = {
            **(app.conf.beat_schedule or {}),
            "quality-nightly-runs": {"task": "quality.nightly_runs", "schedule": crontab(hour=2, minute=0)},
            "quality-daily-digest": {"task": "quality.daily_digest", "schedule": crontab(hour=6, minute=30)},
        }
