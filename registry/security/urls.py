from django.urls import path

from registry.security import views

app_name = "security"

urlpatterns = [
    path("accounts/two-factor/", views.verify, name="two-factor-verify"),
    path("accounts/two-factor/setup/", views.setup, name="two-factor-setup"),
    path("accounts/two-factor/remove/", views.remove, name="two-factor-remove"),
    path("accounts/locks/", views.locks, name="locks"),
    path("projects/<slug:code>/two-factor/", views.project_two_factor, name="project-two-factor"),
]
