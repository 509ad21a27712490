from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "registry.reports"
    label = "reports"
    verbose_name = "Study reports"
    default_auto_field = "django.db.models.BigAutoField"
