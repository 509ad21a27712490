from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "registry.quality"
    label = "quality"
    verbose_name = "Data quality and queries"
    default_auto_field = "django.db.models.BigAutoField"
