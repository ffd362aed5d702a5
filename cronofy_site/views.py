"""Site-level pages: the landing page and the health check load balancers poll."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cronofy_site.demo import demo_integrator_walkthrough


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    walkthrough = None
    if settings.SANDBOX_ENABLED:
        walkthrough = demo_integrator_walkthrough()
    return render(request, "home.html", {"walkthrough": walkthrough})


@never_cache
@require_GET
def demo_integrator_callback(request: HttpRequest) -> HttpResponse:
    """Where the demo's integrator application gets people back: shows the code, or why there is none,
    and the token request an integrator's server would make next. Served only with the sandbox on."""
    code = request.GET.get("code", "")
    return render(
        request,
        "demo_integrator.html",
        {
            "code": code,
            "state": request.GET.get("state", ""),
            "error": request.GET.get("error", ""),
            "walkthrough": demo_integrator_walkthrough(code=code),
        },
    )


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 otherwise (so a load balancer takes the node out)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001  # any database failure means unhealthy
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
