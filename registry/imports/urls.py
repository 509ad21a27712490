from django.urls import path

from registry.imports import views

urlpatterns = [
    path("projects/<slug:code>/import/", views.import_page, name="import-page"),
    path("projects/<slug:code>/import/upload/", views.import_upload, name="import-upload"),
    path("projects/<slug:code>/import/<uuid:public_id>/", views.import_run, name="import-run"),
    path("projects/<slug:code>/import/<uuid:public_id>/status.json", views.import_status, name="import-status"),
    path("projects/<slug:code>/import/<uuid:public_id>/commit/", views.import_commit, name="import-commit"),
    path("projects/<slug:code>/import/<uuid:public_id>/rejected.csv", views.import_report, name="import-report"),
]
