from django.urls import path

from registry.exports import views

urlpatterns = [
    path("projects/<slug:code>/exports/", views.exports_page, name="exports"),
    path("projects/<slug:code>/exports/request/", views.export_request, name="export-request"),
    path("projects/<slug:code>/exports/<uuid:public_id>/status.json", views.export_status, name="export-status"),
    path("projects/<slug:code>/exports/<uuid:public_id>/download/", views.export_download, name="export-download"),
]
