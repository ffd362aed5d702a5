"""Microsoft Graph for Teams meetings: online meetings (`POST /users/{id}/onlineMeetings`,
`.../createOrGet` with an externalId, `GET`, `PATCH`, `DELETE`); people are listed by
`microsoft_directory` (`GET /users`). Application tokens reach a user's online meetings only when a
Teams application access policy covers that user, and only by the user's object id, as Graph insists.

Routed by `microsoft_graph.dispatch`; the meeting join page is /sandbox/microsoft/teams/l/meetup-join/{code}.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from sandbox.models import Meeting, Person, Provider, TeamsAccessPolicy, Token
from sandbox.scopes import graph_allows
from sandbox.views.common import ApiError, graph_error, json_body, utc_z

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _tenant_id(token: Token) -> int | None:
    return token.person.tenant_id if token.person else token.tenant_id


def _organizer(token: Token, user: str | None) -> Person:
    """The organizer: /me for a delegated token; for an application token the object id of a user of
    its tenant whom a Teams application access policy covers."""
    if user is None:
        if token.person is None:
            raise ApiError(
                graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            )
        return token.person
    if not GUID.match(user):
        raise ApiError(
            graph_error(400, "BadRequest", "Invalid UserId: the onlineMeetings API takes the user's object id.")
        )
    tenant_id = _tenant_id(token)
    person = (
        Person.objects.select_related("tenant").filter(tenant_id=tenant_id, external_id=user).first()
        if tenant_id is not None
        else None
    )
    if person is None:
        raise ApiError(graph_error(404, "NotFound", "The user was not found in the tenant."))
    if token.person is not None:
        if person.pk != token.person.pk:
            raise ApiError(
                graph_error(
                    403,
                    "General",
                    f"Organizer ID in token({token.person.external_id}) does not match organizer ID in request "
                    f"url({user}). With delegated permission only /me endpoint is supported.",
                )
            )
        return person
    policies = TeamsAccessPolicy.objects.filter(tenant=person.tenant, client=token.client)
    if not any(policy.covers(person) for policy in policies):
        raise ApiError(graph_error(403, "General", "No application access policy found for this app."))
    return person


def _parse(value: Any, name: str) -> datetime:
    text = re.sub(r"\.(\d{6})\d*", r".\1", str(value or "")).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(graph_error(400, "BadRequest", f"Invalid {name}.")) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _meeting_json(meeting: Meeting, organizer: Person, request: HttpRequest) -> dict[str, Any]:
    join = request.build_absolute_uri(reverse("sandbox:teams-join", args=[meeting.join_code]))
    return {
        "id": meeting.meeting_id,
        "creationDateTime": meeting.created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "startDateTime": utc_z(meeting.start) if meeting.start else None,
        "endDateTime": utc_z(meeting.end) if meeting.end else None,
        "joinWebUrl": join,
        "joinUrl": join,
        "subject": meeting.topic,
        "externalId": meeting.external_id or None,
        "chatInfo": {
            "threadId": f"19:meeting_{meeting.join_code[:24]}@thread.v2",
            "messageId": "0",
            "replyChainMessageId": None,
        },
        "participants": {
            "organizer": {
                "identity": {"user": {"id": organizer.external_id, "displayName": organizer.name}},
                "upn": organizer.email,
                "role": "presenter",
            },
            "attendees": [],
        },
        "joinMeetingIdSettings": {
            "isPasscodeRequired": True,
            "joinMeetingId": str(int(meeting.meeting_id[-10:], 36) % 10**12).rjust(12, "3"),
            "passcode": meeting.password,
        },
    }


def _create(request: HttpRequest, token: Token, organizer: Person, body: dict[str, Any]) -> Meeting:
    start, end = _parse(body.get("startDateTime"), "startDateTime"), _parse(body.get("endDateTime"), "endDateTime")
    if end <= start:
        raise ApiError(graph_error(400, "BadRequest", "The end of the meeting must be after its start."))
    return Meeting.objects.create(
        provider=Provider.MICROSOFT,
        meeting_id="MSo" + secrets.token_urlsafe(40).replace("-", "a").replace("_", "b"),
        tenant=organizer.tenant,
        host_email=organizer.email,
        host_id=organizer.external_id,
        created_by=token.client.client_id,
        external_id=str(body.get("externalId") or "")[:200],
        topic=str(body.get("subject") or "")[:500],
        start=start,
        end=end,
        password=secrets.token_urlsafe(4)[:6],
        join_code=secrets.token_hex(20),
    )


def online_meetings(request: HttpRequest, token: Token, user: str | None, action: str | None = None) -> HttpResponse:
    """POST .../onlineMeetings (create) and POST .../onlineMeetings/createOrGet (by externalId)."""
    _require(token)
    organizer = _organizer(token, user)
    body = json_body(request, Provider.MICROSOFT)
    if action:
        external_id = str(body.get("externalId") or "")
        if not external_id:
            raise ApiError(graph_error(400, "BadRequest", "externalId is required."))
        existing = Meeting.objects.filter(
            provider=Provider.MICROSOFT,
            host_id=organizer.external_id,
            created_by=token.client.client_id,
            external_id=external_id,
            state=Meeting.State.ACTIVE,
        ).first()
        if existing is not None:
            return JsonResponse(_meeting_json(existing, organizer, request))
    meeting = _create(request, token, organizer, body)
    return JsonResponse(_meeting_json(meeting, organizer, request), status=201)


def online_meeting_item(request: HttpRequest, token: Token, user: str | None, meeting_id: str) -> HttpResponse:
    _require(token)
    organizer = _organizer(token, user)
    meeting = Meeting.objects.filter(
        provider=Provider.MICROSOFT, meeting_id=meeting_id, host_id=organizer.external_id, state=Meeting.State.ACTIVE
    ).first()
    if meeting is None:
        raise ApiError(graph_error(404, "NotFound", "The online meeting was not found."))
    if request.method == "DELETE":
        Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.DELETED, updated=timezone.now())
        return HttpResponse(status=204)
    if request.method == "PATCH":
        body = json_body(request, Provider.MICROSOFT)
        if "startDateTime" in body:
            meeting.start = _parse(body["startDateTime"], "startDateTime")
        if "endDateTime" in body:
            meeting.end = _parse(body["endDateTime"], "endDateTime")
        if "subject" in body:
            meeting.topic = str(body["subject"] or "")[:500]
        if meeting.start and meeting.end and meeting.end <= meeting.start:
            raise ApiError(graph_error(400, "BadRequest", "The end of the meeting must be after its start."))
        meeting.updated = timezone.now()
        meeting.save()
    return JsonResponse(_meeting_json(meeting, organizer, request))


def _require(token: Token) -> None:
    if not graph_allows("graph.onlineMeetings", token.scopes):
        raise ApiError(graph_error(403, "Forbidden", "Insufficient privileges to complete the operation."))


def join(request: HttpRequest, code: str) -> HttpResponse:
    meeting = Meeting.objects.filter(provider=Provider.MICROSOFT, join_code=code).first()
    if meeting is None:
        raise Http404
    return render(request, "sandbox/meeting_join.html", {"provider_name": "Microsoft Teams", "meeting": meeting})
