from django.apps import AppConfig


class CrfConfig(AppConfig):
    # `forms` would collide with django.forms, so the app is labelled `crf`.
    name = "forms"
    label = "crf"
    verbose_name = "eCRF engine"
    default_auto_field = "django.db.models.BigAutoField"
