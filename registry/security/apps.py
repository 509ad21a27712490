from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "registry.security"
    label = "security"
    verbose_name = "Security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry.security import receivers  # noqa: F401 - counts failed logins, marks new sessions
