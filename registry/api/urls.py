from django.urls import path

from registry.api import views

urlpatterns = [
    path("api/", views.api, name="api"),
    path("accounts/profile/", views.profile, name="api-profile"),
    path("accounts/profile/tokens/new/", views.token_new, name="api-token-new"),
    path("accounts/profile/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="api-token-revoke"),
]
