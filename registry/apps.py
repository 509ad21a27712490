from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    label = "registry"
    verbose_name = "Registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from forms.dictionary.services import register_data_presence_provider
        from registry import signals  # noqa: F401 - connects the login audit receivers
        from registry.services.data_presence import fields_with_data

        # The engine refuses design changes that would orphan stored values: tell it which fields hold data.
        register_data_presence_provider(fields_with_data)
