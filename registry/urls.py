from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from registry.bench.views import ping as bench_ping
from registry.bench.views import save_floor as bench_save_floor
from registry.security.views import LoginView
from registry.views import audit, entry, locking, team
from registry.views.health import healthz
from registry.views.home import home
from registry.views.logic_js import design_logic_js

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("bench/ping/", bench_ping, name="bench-ping"),  # the benchmark's trivial authenticated page
    path("bench/save-floor/<int:slot>/", bench_save_floor, name="bench-save-floor"),  # 404 off its server
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("projects/<slug:code>/", entry.project_home, name="project-home"),
    path("projects/<slug:code>/records/", entry.dashboard, name="record-dashboard"),
    path("projects/<slug:code>/records/new/", entry.enroll, name="record-enroll"),
    path("projects/<slug:code>/records/<str:record_id>/", entry.record_home, name="record-home"),
    path(
        "projects/<slug:code>/records/<str:record_id>/<slug:event>/<slug:instrument>/<int:instance>/",
        entry.form_entry,
        name="form-entry",
    ),
    path("projects/<slug:code>/records/<str:record_id>/lock/", locking.lock_action, name="record-lock"),
    path(
        "projects/<slug:code>/records/<str:record_id>/<slug:event>/<slug:instrument>/<int:instance>/history/<str:field>/",
        audit.field_history_view,
        name="field-history",
    ),
    path("projects/<slug:code>/audit/", audit.project_audit, name="project-audit"),
    path("projects/<slug:code>/team/", team.team, name="project-team"),
    path("projects/<slug:code>/design/v<int:version>/logic.js", design_logic_js, name="design-logic-js"),
    path("", include("forms.urls")),
    path("", include("registry.api.urls")),
    path("", include("registry.exports.urls")),
    path("", include("registry.quality.urls")),
    path("", include("registry.reports.urls")),
    path("", include("registry.imports.urls")),
    path("", include("registry.custom_reports.urls")),
    path("", include("registry.security.urls")),
]
