"""Google Meet REST API v2: spaces create, get, patch and endActiveConference, reached by a service
account acting for a Workspace user (domain-wide delegation), with the scopes of Meet's discovery
document enforced; and the join page a meeting link opens.

meet.googleapis.com/v2/* is served at /sandbox/google/meetapi/v2/*, meet.google.com/{code} at
/sandbox/google/meet/{code}.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.models import Meeting, Provider, Token
from sandbox.scopes import meet_allows
from sandbox.views.common import ApiError, access_token, endpoint, google_error, json_body, token_person

ACCESS_TYPES = {"OPEN", "TRUSTED", "RESTRICTED"}


def _authorized(request: HttpRequest, method_id: str) -> Token:
    token = access_token(request, Provider.GOOGLE)
    if token.person is None or not meet_allows(method_id, token.scopes):
        raise ApiError(
            google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                status_name="PERMISSION_DENIED",
            )
        )
    return token


def _meeting_code() -> str:
    letters = string.ascii_lowercase
    return "-".join("".join(secrets.choice(letters) for _ in range(size)) for size in (3, 4, 3))


def _space_json(space: Meeting, request: HttpRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"spaces/{space.meeting_id}",
        "meetingUri": request.build_absolute_uri(reverse("sandbox:meet-join", args=[space.join_code])),
        "meetingCode": space.join_code,
        "config": {"accessType": space.access_type or "TRUSTED", "entryPointAccess": "ALL"},
    }
    if space.conference_active:
        body["activeConference"] = {"conferenceRecord": f"conferenceRecords/{space.meeting_id}-{space.pk}"}
    return body


def _space(token: Token, name: str) -> Meeting:
    """A space the caller owns, by its id or (for get) its meeting code; another user's space is not
    found, as Meet answers for spaces one may not see."""
    space = (
        Meeting.objects.filter(provider=Provider.GOOGLE, meeting_id=name).first()
        or Meeting.objects.filter(provider=Provider.GOOGLE, join_code=name).first()
    )
    if space is None or space.host_email.lower() != token_person(token).email.lower():
        raise ApiError(google_error(404, "notFound", "Requested entity was not found.", status_name="NOT_FOUND"))
    return space


@csrf_exempt
def spaces(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return google_error(405, "methodNotAllowed", "Method not allowed.")
    return _create(request)


@endpoint(Provider.GOOGLE, "meet.spaces.create")
def _create(request: HttpRequest) -> HttpResponse:
    token = _authorized(request, "meet.spaces.create")
    body = json_body(request, Provider.GOOGLE)
    access = ((body.get("config") or {}).get("accessType") or "TRUSTED").upper()
    if access not in ACCESS_TYPES:
        raise ApiError(
            google_error(
                400, "badRequest", f"Invalid value for config.access_type: {access}", status_name="INVALID_ARGUMENT"
            )
        )
    space = Meeting.objects.create(
        provider=Provider.GOOGLE,
        meeting_id="".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12)),
        tenant=token_person(token).tenant,
        host_email=token_person(token).email,
        host_id=token_person(token).external_id,
        created_by=token.client.client_id,
        join_code=_meeting_code(),
        access_type=access,
    )
    return JsonResponse(_space_json(space, request))


@csrf_exempt
def space_item(request: HttpRequest, space: str, action: str = "") -> HttpResponse:
    if action == ":endActiveConference":
        if request.method != "POST":
            return google_error(405, "methodNotAllowed", "Method not allowed.")
        return _end(request, space)
    if request.method == "GET":
        return _get(request, space)
    if request.method == "PATCH":
        return _patch(request, space)
    return google_error(405, "methodNotAllowed", "Method not allowed.")


@endpoint(Provider.GOOGLE, "meet.spaces.get")
def _get(request: HttpRequest, name: str) -> HttpResponse:
    token = _authorized(request, "meet.spaces.get")
    return JsonResponse(_space_json(_space(token, name), request))


@endpoint(Provider.GOOGLE, "meet.spaces.patch")
def _patch(request: HttpRequest, name: str) -> HttpResponse:
    token = _authorized(request, "meet.spaces.patch")
    space = _space(token, name)
    body = json_body(request, Provider.GOOGLE)
    mask = [part.strip() for part in request.GET.get("updateMask", "config").split(",") if part.strip()]
    config = body.get("config") or {}
    if any(part in ("config", "config.accessType", "config.access_type") for part in mask) and config.get("accessType"):
        access = str(config["accessType"]).upper()
        if access not in ACCESS_TYPES:
            raise ApiError(
                google_error(
                    400, "badRequest", f"Invalid value for config.access_type: {access}", status_name="INVALID_ARGUMENT"
                )
            )
        space.access_type = access
    space.updated = timezone.now()
    space.save(update_fields=["access_type", "updated"])
    return JsonResponse(_space_json(space, request))


@endpoint(Provider.GOOGLE, "meet.spaces.endActiveConference")
def _end(request: HttpRequest, name: str) -> HttpResponse:
    token = _authorized(request, "meet.spaces.endActiveConference")
    space = _space(token, name)
    if not space.conference_active:
        raise ApiError(
            google_error(
                400, "failedPrecondition", "No active conference in the space.", status_name="FAILED_PRECONDITION"
            )
        )
    Meeting.objects.filter(pk=space.pk).update(conference_active=False, updated=timezone.now())
    return HttpResponse(json.dumps({}), content_type="application/json")


def join(request: HttpRequest, code: str) -> HttpResponse:
    """Opening a Meet link starts the space's conference, unless only invitees may join."""
    space = Meeting.objects.filter(provider=Provider.GOOGLE, join_code=code).first()
    if space is None:
        raise Http404
    if space.access_type != "RESTRICTED" and request.method == "POST":
        Meeting.objects.filter(pk=space.pk).update(conference_active=True)
        space.conference_active = True
    return render(request, "sandbox/meeting_join.html", {"provider_name": "Google Meet", "meeting": space})
