"""Cronofy's token endpoints: `POST /oauth/token` (authorization code, refresh token) and
`POST /oauth/token/revoke`. JSON or form bodies; RFC 6749 errors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Application
from accounts.oauth import (
    OAuthError,
    application_by_credentials,
    grant_revoke,
    token_exchange_code,
    token_refresh,
)
from accounts.throttles import retry_after_header, token_endpoint_failed_secret, token_endpoint_wait
from calendars.models import CalendarProfile
from core.json_limits import JsonRefused, load_json


def _params(request: HttpRequest) -> dict[str, str]:
    if request.content_type == "application/json":
        try:
            body = load_json(request.body or b"{}")
        except JsonRefused as refusal:
            raise OAuthError("invalid_request", str(refusal)) from None
        if not isinstance(body, dict):
            raise OAuthError("invalid_request", "The body must be a JSON object.")
        return {key: str(value) for key, value in body.items() if value is not None}
    return request.POST.dict()


def _linking_profile(profile_id: int | None) -> dict[str, str] | None:
    """Cronofy's `linking_profile`: the calendar profile the consent behind the code connected."""
    profile = CalendarProfile.objects.filter(pk=profile_id).first() if profile_id else None
    if profile is None:
        return None
    return {
        "provider_name": profile.provider_name,
        "provider_service": profile.provider_service,
        "profile_id": profile.public_id,
        "profile_name": profile.profile_name,
    }


def _error(error: OAuthError) -> JsonResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    response["Cache-Control"] = "no-store"
    return response


def _authenticated_client(params: dict[str, str]) -> Application:
    """The application these credentials name, within its rate; a wrong secret slows the client id down."""
    client_id = params.get("client_id", "")[:200]
    wait = token_endpoint_wait(client_id)
    if wait is not None:
        raise Throttled(wait)
    application = application_by_credentials(client_id=client_id, client_secret=params.get("client_secret", ""))
    if application is None:
        token_endpoint_failed_secret(client_id)
        raise OAuthError("invalid_client", "Unknown client or wrong client secret.", status=401)
    return application


class Throttled(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("throttled")
        self.wait = wait


def _throttled(error: Throttled) -> JsonResponse:
    response = JsonResponse(
        {"error": "slow_down", "error_description": "Too many requests for this client; try again later."},
        status=429,
    )
    response["Retry-After"] = retry_after_header(error.wait)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    try:
        params = _params(request)
        application = _authenticated_client(params)
        grant_type = params.get("grant_type", "")
        if grant_type == "authorization_code":
            tokens = token_exchange_code(
                application=application, code=params.get("code", ""), redirect_uri=params.get("redirect_uri", "")
            )
        elif grant_type == "refresh_token":
            tokens = token_refresh(application=application, refresh_token=params.get("refresh_token", ""))
        else:
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
    except OAuthError as error:
        return _error(error)
    except Throttled as error:
        return _throttled(error)
    response = JsonResponse(tokens.as_cronofy(linking_profile=_linking_profile(tokens.linking_profile_id)))
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """Revoke an authorization by one of its tokens or by `sub`. Unknown ones are fine (RFC 7009)."""
    try:
        params = _params(request)
        application = _authenticated_client(params)
        if not params.get("token") and not params.get("sub"):
            raise OAuthError("invalid_request", "Give the token or the sub to revoke.")
    except OAuthError as error:
        return _error(error)
    except Throttled as error:
        return _throttled(error)
    grant_revoke(application=application, token=params.get("token", ""), sub=params.get("sub", ""))
    return HttpResponse(status=200)
