from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "registry.api"
    label = "api"
    verbose_name = "REDCap-compatible API"
    default_auto_field = "django.db.models.BigAutoField"
