from django.urls import path

from registry.reports import views

urlpatterns = [
    path("projects/<slug:code>/reports/", views.reports_index, name="reports-index"),
    path("projects/<slug:code>/reports/table1/", views.table1_page, name="report-table1"),
    path("projects/<slug:code>/reports/timeline/<str:record_id>/", views.timeline_page, name="report-timeline"),
    path("projects/<slug:code>/reports/response/", views.response_page, name="report-response"),
]
