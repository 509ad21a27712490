from django.urls import path

from registry.custom_reports import views

urlpatterns = [
    path("projects/<slug:code>/custom-reports/", views.report_list, name="custom-reports"),
    path("projects/<slug:code>/custom-reports/new/", views.report_edit, name="custom-report-new"),
    path("projects/<slug:code>/custom-reports/<int:report_id>/edit/", views.report_edit, name="custom-report-edit"),
    path(
        "projects/<slug:code>/custom-reports/<int:report_id>/delete/", views.report_remove, name="custom-report-delete"
    ),
    path("projects/<slug:code>/custom-reports/<str:key>/", views.report_view, name="custom-report"),
    path("projects/<slug:code>/custom-reports/<str:key>/statistics/", views.report_stats, name="custom-report-stats"),
    path(
        "projects/<slug:code>/custom-reports/<str:key>/download/", views.report_download, name="custom-report-download"
    ),
]
