"""The sandbox's test API: switch faults on and off, expire sync tokens, revoke a person's grants.

Open when DEBUG is on; otherwise it needs the X-Sandbox-Control-Token header to match
SANDBOX_CONTROL_TOKEN (and answers 404 when no token is configured).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import services, tokens
from sandbox.models import Calendar, Fault, Person, Provider
from sandbox.views.common import json_body


def _guard(request: HttpRequest) -> None:
    expected = settings.SANDBOX_CONTROL_TOKEN
    if expected:
        if not secrets.compare_digest(request.headers.get("X-Sandbox-Control-Token", ""), expected):
            raise Http404
    elif not settings.DEBUG:
        raise Http404


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.pk,
        "provider": fault.provider,
        "operation": fault.operation,
        "kind": fault.kind,
        "times": fault.times,
        "after": fault.after,
        "hits": fault.hits,
        "retry_after": fault.retry_after,
        "delay_ms": fault.delay_ms,
        "active": fault.active,
    }


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> HttpResponse:
    _guard(request)
    if request.method == "GET":
        return JsonResponse({"faults": [_fault_json(f) for f in Fault.objects.filter(active=True)]})
    if request.method == "DELETE":
        count = Fault.objects.filter(active=True).update(active=False)
        return JsonResponse({"cleared": count})
    body = json_body(request, Provider.GOOGLE)
    fault = Fault(
        provider=body.get("provider", ""),
        operation=body.get("operation", "*"),
        kind=body.get("kind", ""),
        times=int(body.get("times", 1)),
        after=int(body.get("after", 0)),
        retry_after=int(body.get("retry_after", 1)),
        delay_ms=int(body.get("delay_ms", 0)),
    )
    try:
        fault.full_clean()
    except Exception as error:  # noqa: BLE001  # any validation problem is the caller's to fix
        return JsonResponse({"error": str(error)}, status=400)
    fault.save()
    return JsonResponse(_fault_json(fault), status=201)


@csrf_exempt
@require_http_methods(["POST"])
def expire_sync(request: HttpRequest, calendar_id: str) -> HttpResponse:
    _guard(request)
    calendar = Calendar.objects.filter(calendar_id=calendar_id).first()
    if calendar is None:
        return JsonResponse({"error": "no such calendar"}, status=404)
    services.calendar_expire_sync_tokens(calendar=calendar)
    return JsonResponse({"expired": calendar.calendar_id})


@csrf_exempt
@require_http_methods(["POST"])
def revoke_person(request: HttpRequest, email: str) -> HttpResponse:
    _guard(request)
    person = Person.objects.filter(email__iexact=email).first()
    if person is None:
        return JsonResponse({"error": "no such person"}, status=404)
    return JsonResponse({"revoked": tokens.revoke_all_for(person)})
