from django.apps import AppConfig


class CustomReportsConfig(AppConfig):
    name = "registry.custom_reports"
    label = "custom_reports"
    verbose_name = "Custom reports"
    default_auto_field = "django.db.models.BigAutoField"
