from django.urls import path

from registry.quality import views

urlpatterns = [
    path("projects/<slug:code>/quality/", views.quality_home, name="quality-home"),
    path("projects/<slug:code>/quality/runs/<int:run_id>/", views.run_detail, name="quality-run"),
    path("projects/<slug:code>/quality/runs/<int:run_id>/status.json", views.run_status, name="quality-run-status"),
    path("projects/<slug:code>/quality/runs/<int:run_id>/fix-calcs/", views.run_fix_calcs, name="quality-fix-calcs"),
    path(
        "projects/<slug:code>/quality/discrepancies/<int:pk>/exclude/",
        views.discrepancy_exclude,
        name="quality-exclude",
    ),
    path("projects/<slug:code>/quality/rules/new/", views.rule_edit, name="quality-rule-new"),
    path("projects/<slug:code>/quality/rules/csv/", views.rules_csv, name="quality-rules-csv"),
    path("projects/<slug:code>/quality/rules/<slug:rule_code>/", views.rule_edit, name="quality-rule-edit"),
    path("projects/<slug:code>/queries/", views.query_list, name="query-list"),
    path("projects/<slug:code>/queries/new/", views.query_new, name="query-new"),
    path("projects/<slug:code>/queries/verify/", views.verify_point, name="query-verify"),
    path("projects/<slug:code>/queries/inbox/", views.inbox, name="query-inbox"),
    path("projects/<slug:code>/queries/<int:pk>/", views.query_detail, name="query-detail"),
]
