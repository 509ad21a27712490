from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "registry.imports"
    label = "imports"
    verbose_name = "Record import tool"
    default_auto_field = "django.db.models.BigAutoField"
