from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from registry.services.health import health_report


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    if not healthy:
        report["down"] = ", ".join(name for name, value in report.items() if value == "down")
    return JsonResponse(report, status=200 if healthy else 503)
