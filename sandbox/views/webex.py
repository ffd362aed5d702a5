"""Webex: an integration's OAuth (authorize page, `access_token` with authorization code and refresh
token), People (`/v1/people/me`, `/v1/people` with Link-header paging) and Meetings (`/v1/meetings`
create, get, update, delete, with `hostEmail` for administrators scheduling for their organization),
scopes enforced, and the meetings' join page.

Paths mirror webexapis.com/v1/* at /sandbox/webex/v1/*.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import tokens
from sandbox.models import Meeting, MeetingApp, MeetingToken, MeetingUser, Provider, Token
from sandbox.scopes import WEBEX_ADMIN_SCOPES, webex_allows
from sandbox.views.common import ApiError, bearer, endpoint, json_body, secret_matches, take_fault, webex_error

MAX_PEOPLE_PAGE = 1000


def _redirect(redirect_uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """A person signs in to Webex and accepts the integration's scopes; administrator scopes are
    granted only to an administrator of their organization."""
    source = request.POST if request.method == "POST" else request.GET
    params = {name: source.get(name, "") for name in ("client_id", "redirect_uri", "response_type", "scope", "state")}
    app = MeetingApp.objects.filter(provider=Provider.WEBEX, client_id=params["client_id"]).first()
    if app is None or params["redirect_uri"] not in app.redirect_uris:
        return render(
            request,
            "sandbox/oauth_error.html",
            {"provider": "Webex", "error": "invalid_request", "detail": "The client id or redirect URI is invalid."},
            status=400,
        )
    answer = {"state": params["state"]} if params["state"] else {}
    requested = params["scope"].split()
    if not requested or not set(requested) <= set(app.scopes):
        return _redirect(
            params["redirect_uri"],
            {"error": "invalid_scope", "error_description": "The requested scope is invalid.", **answer},
        )
    people = MeetingUser.objects.filter(account__provider=Provider.WEBEX, status=MeetingUser.Status.ACTIVE)
    chosen = people.filter(email__iexact=source.get("account", "")).select_related("account").first()
    if chosen is None or "decision" not in request.POST:
        return render(
            request,
            "sandbox/meeting_consent.html",
            {
                "provider_name": "Webex",
                "app": app,
                "params": params,
                "users": people.select_related("account"),
                "account": chosen,
                "scopes": requested,
            },
        )
    if request.POST["decision"] != "allow":
        return _redirect(params["redirect_uri"], {"error": "access_denied", **answer})
    if WEBEX_ADMIN_SCOPES & set(requested) and not chosen.is_admin:
        return _redirect(
            params["redirect_uri"],
            {
                "error": "access_denied",
                "error_description": "This integration requests administrator scopes; sign in as an administrator.",
                **answer,
            },
        )
    code, _ = tokens.issue_meeting_token(
        kind=Token.Kind.CODE,
        app=app,
        account=chosen.account,
        user=chosen,
        scopes=requested,
        redirect_uri=params["redirect_uri"],
    )
    return _redirect(params["redirect_uri"], {"code": code, **answer})


@csrf_exempt
@endpoint(Provider.WEBEX, "token")
@require_http_methods(["POST"])
def access_token(request: HttpRequest) -> HttpResponse:
    app = MeetingApp.objects.filter(provider=Provider.WEBEX, client_id=request.POST.get("client_id", "")).first()
    if app is None or not secret_matches(app.client_secret, request.POST.get("client_secret", "")):
        return webex_error(401, "The client id or secret is invalid.")
    grant_type = request.POST.get("grant_type", "")
    refresh: MeetingToken | None
    if grant_type == "authorization_code":
        code = tokens.find_meeting_token(request.POST.get("code", ""), kind=Token.Kind.CODE, provider=Provider.WEBEX)
        if (
            code is None
            or code.app_id != app.pk
            or not code.is_usable()
            or code.used_at is not None
            or code.redirect_uri != request.POST.get("redirect_uri", "")
        ):
            return webex_error(400, "The authorization code is invalid or has expired.")
        MeetingToken.objects.filter(pk=code.pk).update(used_at=timezone.now())
        refresh_value, refresh = tokens.issue_meeting_token(
            kind=Token.Kind.REFRESH, app=app, account=code.account, user=code.user, scopes=code.scopes
        )
    elif grant_type == "refresh_token":
        refresh = tokens.find_meeting_token(
            request.POST.get("refresh_token", ""), kind=Token.Kind.REFRESH, provider=Provider.WEBEX
        )
        if refresh is None or refresh.app_id != app.pk or not refresh.is_usable():
            return webex_error(400, "The refresh token is invalid or has expired.")
        if take_fault(Provider.WEBEX, "token", ["invalid_grant"]) is not None:
            return webex_error(400, "The refresh token is invalid or has expired.")
        refresh_value = ""  # Webex keeps the refresh token; its 90 days run from its issue
    else:
        return webex_error(400, "Unsupported grant type.")
    access_value, _ = tokens.issue_meeting_token(
        kind=Token.Kind.ACCESS,
        app=app,
        account=refresh.account,
        user=refresh.user,
        scopes=refresh.scopes,
        refresh=refresh,
    )
    body: dict[str, Any] = {
        "access_token": access_value,
        "expires_in": tokens.WEBEX_ACCESS_SECONDS,
        "refresh_token_expires_in": max(0, int((refresh.expires_at - timezone.now()).total_seconds())),
        "token_type": "Bearer",
    }
    if refresh_value:
        body["refresh_token"] = refresh_value
    return JsonResponse(body)


#
# API
#


def _token(request: HttpRequest) -> MeetingToken:
    found = tokens.find_meeting_token(bearer(request), kind=Token.Kind.ACCESS, provider=Provider.WEBEX)
    if found is None or not found.is_usable() or found.user is None:
        raise ApiError(
            webex_error(401, "The request requires a valid access token set in the Authorization request header.")
        )
    return found


def _token_user(token: MeetingToken) -> MeetingUser:
    """The person an access token acts for (`_token` already refused tokens without one)."""
    if token.user is None:
        raise ApiError(
            webex_error(401, "The request requires a valid access token set in the Authorization request header.")
        )
    return token.user


def _require(token: MeetingToken, operation: str) -> None:
    if not webex_allows(operation, token.scopes):
        raise ApiError(
            webex_error(
                403,
                "The server understood the request, but refused to fulfill it because the access token is missing "
                "required scopes.",
            )
        )


def _person_id(user: MeetingUser) -> str:
    return user.user_id


def _person_json(user: MeetingUser) -> dict[str, Any]:
    return {
        "id": _person_id(user),
        "emails": [user.email],
        "displayName": user.display_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "orgId": user.account.account_id,
        "type": "person",
        "status": "active" if user.status == MeetingUser.Status.ACTIVE else "inactive",
        "loginEnabled": user.status == MeetingUser.Status.ACTIVE,
        "created": "2024-01-08T09:00:00.000Z",
    }


def _people(request: HttpRequest) -> HttpResponse:
    token = _token(request)
    _require(token, "people.read")
    people = MeetingUser.objects.select_related("account").filter(account=token.account).order_by("pk")
    if request.GET.get("email"):
        people = people.filter(email__iexact=request.GET["email"])
    elif request.GET.get("id"):
        people = people.filter(user_id__in=request.GET["id"].split(","))
    elif not _token_user(token).is_admin:
        # Only administrators may list their whole organization.
        raise ApiError(webex_error(400, "Email, displayName, or id list should be specified."))
    size = max(1, min(int(request.GET.get("max") or 100), MAX_PEOPLE_PAGE))
    start = int(request.GET.get("cursor") or 0)
    page = list(people[start : start + size + 1])
    response = JsonResponse({"items": [_person_json(person) for person in page[:size]]})
    if len(page) > size:
        query = request.GET.copy()
        query["cursor"] = str(start + size)
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{query.urlencode()}>; rel="next"'
    return response


def _person_me(request: HttpRequest) -> HttpResponse:
    token = _token(request)
    return JsonResponse(_person_json(_token_user(token)))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(webex_error(400, f"Invalid timezone: {name}.")) from None


def _moment(value: Any, zone: ZoneInfo, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(webex_error(400, f"Invalid {name}: {value}.")) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _host(token: MeetingToken, host_email: str, *, write: bool) -> MeetingUser:
    """The meeting's host: the token's own person, or (administrators with the admin scope) anyone
    of their organization named by hostEmail."""
    user = _token_user(token)
    if not host_email or host_email.lower() == user.email.lower():
        _require(token, "meetings.write.own" if write else "meetings.read.own")
        return user
    _require(token, "meetings.write.admin" if write else "meetings.read.admin")
    if not user.is_admin:
        raise ApiError(webex_error(403, "The user is not an administrator of the host's site."))
    host = MeetingUser.objects.select_related("account").filter(account=token.account, email__iexact=host_email).first()
    if host is None or host.status != MeetingUser.Status.ACTIVE:
        raise ApiError(webex_error(404, f"The host {host_email} is not a user of this site."))
    return host


def _meeting_json(meeting: Meeting, request: HttpRequest) -> dict[str, Any]:
    zone = _zone(meeting.time_zone)
    site = meeting.account.site_url if meeting.account else "sandbox.webex.com"
    web_link = request.build_absolute_uri(reverse("sandbox:webex-join")) + f"?MTID={meeting.join_code}"
    return {
        "id": meeting.meeting_id,
        "meetingNumber": str(int(meeting.meeting_id[:9], 16) % 10**10).rjust(10, "2"),
        "title": meeting.topic,
        "agenda": meeting.agenda,
        "password": meeting.password,
        "meetingType": "meetingSeries",
        "state": "active" if meeting.is_active else "deleted",
        "timezone": meeting.time_zone,
        "start": meeting.start.astimezone(zone).isoformat(timespec="seconds") if meeting.start else "",
        "end": meeting.end.astimezone(zone).isoformat(timespec="seconds") if meeting.end else "",
        "hostUserId": meeting.host_id,
        "hostEmail": meeting.host_email,
        "siteUrl": site,
        "webLink": web_link,
        "sipAddress": f"{meeting.meeting_id[:9]}@{site}",
        "enabledJoinBeforeHost": False,
        "publicMeeting": False,
    }


def _meetings(request: HttpRequest) -> HttpResponse:
    token = _token(request)
    if request.method == "POST":
        body = json_body(request, Provider.WEBEX)
        host = _host(token, str(body.get("hostEmail") or ""), write=True)
        title = str(body.get("title") or "").strip()
        if not title or not body.get("start") or not body.get("end"):
            raise ApiError(webex_error(400, "title, start and end are required."))
        zone_name = str(body.get("timezone") or "UTC")
        zone = _zone(zone_name)
        start, end = _moment(body["start"], zone, "start"), _moment(body["end"], zone, "end")
        if end <= start:
            raise ApiError(webex_error(400, "end must be after start."))
        meeting = Meeting.objects.create(
            provider=Provider.WEBEX,
            meeting_id=secrets.token_hex(16),
            account=host.account,
            host_email=host.email,
            host_id=host.user_id,
            created_by=token.app.client_id,
            topic=title[:128],
            agenda=str(body.get("agenda") or "")[:1300],
            start=start,
            end=end,
            time_zone=zone_name,
            password=secrets.token_urlsafe(6)[:8],
            join_code="m" + secrets.token_hex(16),
        )
        return JsonResponse(_meeting_json(meeting, request))
    host = _host(token, request.GET.get("hostEmail", ""), write=False)
    meetings = Meeting.objects.filter(
        provider=Provider.WEBEX, host_id=host.user_id, state=Meeting.State.ACTIVE
    ).order_by("start")
    return JsonResponse({"items": [_meeting_json(meeting, request) for meeting in meetings[:100]]})


def _meeting(request: HttpRequest, meeting_id: str) -> HttpResponse:
    token = _token(request)
    body = json_body(request, Provider.WEBEX) if request.method in ("PUT", "PATCH") else {}
    host_email = str(body.get("hostEmail") or request.GET.get("hostEmail") or "")
    host = _host(token, host_email, write=request.method != "GET")
    meeting = Meeting.objects.filter(
        provider=Provider.WEBEX, meeting_id=meeting_id, host_id=host.user_id, state=Meeting.State.ACTIVE
    ).first()
    if meeting is None:
        raise ApiError(webex_error(404, "Unable to find the meeting."))
    if request.method == "GET":
        return JsonResponse(_meeting_json(meeting, request))
    if request.method == "DELETE":
        Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.DELETED, updated=timezone.now())
        return HttpResponse(status=204)
    if request.method == "PUT" and not (body.get("title") and body.get("start") and body.get("end")):
        raise ApiError(webex_error(400, "title, start and end are required."))
    zone_name = str(body.get("timezone") or meeting.time_zone)
    zone = _zone(zone_name)
    if body.get("title"):
        meeting.topic = str(body["title"])[:128]
    if "agenda" in body:
        meeting.agenda = str(body.get("agenda") or "")[:1300]
    if body.get("start"):
        meeting.start = _moment(body["start"], zone, "start")
    if body.get("end"):
        meeting.end = _moment(body["end"], zone, "end")
    if meeting.start is None or meeting.end is None or meeting.end <= meeting.start:
        raise ApiError(webex_error(400, "end must be after start."))
    meeting.time_zone, meeting.updated = zone_name, timezone.now()
    meeting.save()
    return JsonResponse(_meeting_json(meeting, request))


def _api(operation: str, view: Any) -> Any:
    @csrf_exempt
    def wrapper(request: HttpRequest, **kwargs: str) -> HttpResponse:
        name = operation if operation != "meetings.item" else f"meetings.{(request.method or 'get').lower()}"
        if operation == "meetings" and request.method == "POST":
            name = "meetings.create"

        @endpoint(Provider.WEBEX, name)
        def handle(request: HttpRequest) -> HttpResponse:
            return view(request, **kwargs)

        return handle(request)

    return wrapper


people = _api("people.list", _people)
person_me = _api("people.me", _person_me)
meetings = require_http_methods(["GET", "POST"])(_api("meetings", _meetings))
meeting = require_http_methods(["GET", "PUT", "PATCH", "DELETE"])(_api("meetings.item", _meeting))


def join(request: HttpRequest) -> HttpResponse:
    found = Meeting.objects.filter(provider=Provider.WEBEX, join_code=request.GET.get("MTID", "")).first()
    if found is None:
        raise Http404
    return render(request, "sandbox/meeting_join.html", {"provider_name": "Webex", "meeting": found})


def person_id_for(email: str) -> str:
    """Webex person ids are base64 of a URI naming the person."""
    return base64.urlsafe_b64encode(f"ciscospark://us/PEOPLE/{secrets.token_hex(16)}".encode()).decode().rstrip("=")
