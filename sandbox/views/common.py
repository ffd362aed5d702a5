"""What every sandbox endpoint shares: faults on demand, bearer tokens, the providers' error bodies."""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import tokens
from sandbox.models import Fault, Person, Provider, Token


class ApiError(Exception):
    """An error answer in the provider's own shape."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def google_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    status_name: str | None = None,
) -> JsonResponse:
    error: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location:
        error.update(location=location, locationType="parameter")
    body: dict[str, Any] = {"code": status, "message": message, "errors": [error]}
    if status_name:
        body["status"] = status_name
    return JsonResponse({"error": body}, status=status)


def graph_error(status: int, code: str, message: str) -> JsonResponse:
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%S")
    return JsonResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": now, "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())},
            }
        },
        status=status,
    )


def zoom_error(status: int, code: int, message: str) -> JsonResponse:
    """Zoom's API errors: `{"code": <Zoom's number>, "message": ...}`."""
    return JsonResponse({"code": code, "message": message}, status=status)


def webex_error(status: int, message: str) -> JsonResponse:
    """Webex's API errors: a message, the same as an `errors` entry, and a tracking id."""
    return JsonResponse(
        {
            "message": message,
            "errors": [{"description": message}],
            "trackingId": f"ROUTER_{uuid.uuid4().hex[:8].upper()}-{uuid.uuid4().hex[:4].upper()}",
        },
        status=status,
    )


def odata_error(status: int, code: str, message: str) -> JsonResponse:
    """SuccessFactors' OData v2 error body."""
    return JsonResponse({"error": {"code": code, "message": {"lang": "en-US", "value": message}}}, status=status)


def oauth_error(status: int, error: str, description: str, *, codes: list[int] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": error, "error_description": description}
    if codes:  # Microsoft adds AADSTS codes and tracing fields
        body.update(
            error_codes=codes,
            timestamp=timezone.now().strftime("%Y-%m-%d %H:%M:%SZ"),
            trace_id=str(uuid.uuid4()),
            correlation_id=str(uuid.uuid4()),
        )
    return JsonResponse(body, status=status)


def take_fault(provider: str, operation: str, kinds: list[str]) -> Fault | None:
    """The oldest active fault of these kinds that matches; counts the hit and retires it when used up."""
    matching = Fault.objects.filter(active=True, provider=provider, kind__in=kinds).filter(
        Q(operation="*") | Q(operation=operation)
    )
    # Nearly every call finds none: one plain read answers those, without a transaction and a row lock.
    if not matching.exists():
        return None
    with transaction.atomic():
        fault = matching.select_for_update().order_by("created_at", "id").first()
        if fault is None:
            return None
        if fault.after:
            fault.after -= 1
            fault.save(update_fields=["after"])
            return None
        fault.hits += 1
        if fault.times and fault.hits >= fault.times:
            fault.active = False
        fault.save(update_fields=["hits", "active"])
        return fault


_FAULT_BODIES: dict[str, dict[str, Callable[[], JsonResponse]]] = {
    Provider.ZOOM: {
        Fault.Kind.RATE_LIMITED: lambda: zoom_error(
            429, 429, "You have reached the maximum per-second rate limit for this API. Try again later."
        ),
        Fault.Kind.UNAVAILABLE: lambda: zoom_error(503, 503, "Service unavailable. Please try again later."),
        Fault.Kind.SERVER_ERROR: lambda: zoom_error(500, 500, "Internal server error."),
    },
    Provider.WEBEX: {
        Fault.Kind.RATE_LIMITED: lambda: webex_error(429, "Too Many Requests"),
        Fault.Kind.UNAVAILABLE: lambda: webex_error(503, "Service Unavailable"),
        Fault.Kind.SERVER_ERROR: lambda: webex_error(500, "Internal Server Error"),
    },
}


# Token endpoints speak OAuth 2.0's error format, not their API's: Microsoft's identity platform with
# AADSTS codes (90055 TenantThrottlingError, 90033 a transient error), Google's OAuth server with the
# RFC 6749 codes google-auth treats as retryable.
_TOKEN_FAULTS: dict[tuple[str, str], tuple[int, str, str, list[int] | None]] = {
    (Provider.MICROSOFT, Fault.Kind.RATE_LIMITED): (
        429,
        "temporarily_unavailable",
        "AADSTS90055: TenantThrottlingError - There are too many incoming requests.",
        [90055],
    ),
    (Provider.MICROSOFT, Fault.Kind.UNAVAILABLE): (
        503,
        "temporarily_unavailable",
        "AADSTS90033: A transient error has occurred. Please try again.",
        [90033],
    ),
    (Provider.MICROSOFT, Fault.Kind.SERVER_ERROR): (
        500,
        "server_error",
        "AADSTS90033: A transient error has occurred. Please try again.",
        [90033],
    ),
    (Provider.GOOGLE, Fault.Kind.RATE_LIMITED): (429, "rate_limit_exceeded", "Rate limit exceeded.", None),
    (Provider.GOOGLE, Fault.Kind.UNAVAILABLE): (503, "temporarily_unavailable", "Service unavailable.", None),
    (Provider.GOOGLE, Fault.Kind.SERVER_ERROR): (500, "internal_failure", "Internal failure.", None),
}


def _fault_response(provider: str, fault: Fault, operation: str = "") -> HttpResponse:
    if operation == "token" and provider in (Provider.MICROSOFT, Provider.GOOGLE):
        status, error, description, codes = _TOKEN_FAULTS[(provider, fault.kind)]
        response = oauth_error(status, error, description, codes=codes)
        if fault.kind != Fault.Kind.SERVER_ERROR:
            response["Retry-After"] = str(fault.retry_after)
        return response
    if provider in _FAULT_BODIES:
        response = _FAULT_BODIES[provider][fault.kind]()
        if fault.kind in (Fault.Kind.RATE_LIMITED, Fault.Kind.UNAVAILABLE):
            response["Retry-After"] = str(fault.retry_after)
        return response
    if provider == Provider.SUCCESSFACTORS:
        successfactors_faults: dict[str, tuple[int, str, str]] = {
            Fault.Kind.RATE_LIMITED: (429, "COE_REQUEST_LIMIT_EXCEEDED", "Too many requests."),
            Fault.Kind.UNAVAILABLE: (503, "COE_SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
        }
        status, code, text = successfactors_faults.get(
            fault.kind, (500, "COE_GENERAL_SERVER_FAILURE", "An internal error occurred.")
        )
        response = odata_error(status, code, text)
        if status in (429, 503):
            response["Retry-After"] = str(fault.retry_after)
        return response
    if fault.kind == Fault.Kind.RATE_LIMITED:
        response = (
            google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
            if provider == Provider.GOOGLE
            else graph_error(429, "TooManyRequests", "Please retry again later.")
        )
        response["Retry-After"] = str(fault.retry_after)
        return response
    if fault.kind == Fault.Kind.UNAVAILABLE:
        response = (
            google_error(503, "backendError", "The service is currently unavailable.")
            if provider == Provider.GOOGLE
            else graph_error(503, "ServiceNotAvailable", "Service unavailable.")
        )
        response["Retry-After"] = str(fault.retry_after)
        return response
    return (
        google_error(500, "backendError", "Backend Error")
        if provider == Provider.GOOGLE
        else graph_error(500, "InternalServerError", "An internal server error occurred.")
    )


def endpoint(provider: str, operation: str) -> Callable:
    """Wrap a sandbox view: faults first (as a flaky provider would fail before doing anything), then
    the view, with ApiError turned into its response."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            slow = take_fault(provider, operation, [Fault.Kind.SLOW])
            if slow is not None:
                time.sleep(slow.delay_ms / 1000)
            failure = take_fault(
                provider, operation, [Fault.Kind.RATE_LIMITED, Fault.Kind.SERVER_ERROR, Fault.Kind.UNAVAILABLE]
            )
            if failure is not None:
                return _fault_response(provider, failure, operation)
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response

        return wrapper

    return decorate


def client_credentials(request: HttpRequest) -> tuple[str, str]:
    """The client id and secret of a token request: HTTP Basic when given, else the form body."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def secret_matches(client_secret: str, given: str) -> bool:
    return secrets.compare_digest(client_secret.encode(), given.encode())


def bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def access_token(request: HttpRequest, provider: str) -> Token:
    """The request's valid access token, or the provider's 401."""
    token = tokens.find(bearer(request), kind=Token.Kind.ACCESS, provider=provider)
    if token is None or not token.is_usable():
        if provider == Provider.GOOGLE:
            raise ApiError(
                google_error(
                    401,
                    "authError",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                    "login cookie or other valid authentication credential.",
                    status_name="UNAUTHENTICATED",
                )
            )
        if provider == Provider.SUCCESSFACTORS:
            raise ApiError(odata_error(401, "COE_INVALID_TOKEN", "The access token is invalid or has expired."))
        raise ApiError(graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."))
    return token


def token_person(token: Token) -> Person:
    """The person a delegated token or code was issued to. Only application tokens have none, and
    callers get here only with delegated ones (their authorization check refused the others)."""
    if token.person is None:
        raise ValueError(f"Token {token.pk} was issued to an application, not to a person.")
    return token.person


def json_body(request: HttpRequest, provider: str) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if provider == Provider.GOOGLE:
            raise ApiError(google_error(400, "parseError", "Parse Error"))
        raise ApiError(graph_error(400, "BadRequest", "Unable to read JSON request payload."))
    return body


def parse_rfc3339(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
