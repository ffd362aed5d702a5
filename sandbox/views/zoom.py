"""Zoom: OAuth (Server-to-Server `account_credentials`, and user-managed apps' authorization code with
refresh), the REST API v2 (`users`, `users/{userId}/meetings`, `meetings/{meetingId}`) with classic
scopes enforced, and a join page for the meetings it holds.

Paths mirror the real hosts: zoom.us/oauth/* at /sandbox/zoom/oauth/*, api.zoom.us/v2/* at
/sandbox/zoom/api/v2/*, zoom.us/j/{id} at /sandbox/zoom/j/{id}.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import tokens
from sandbox.models import Meeting, MeetingApp, MeetingToken, MeetingUser, Provider, Token
from sandbox.scopes import zoom_missing
from sandbox.views.common import (
    ApiError,
    bearer,
    client_credentials,
    endpoint,
    json_body,
    secret_matches,
    take_fault,
    utc_z,
    zoom_error,
)

PAGE_SALT = "sandbox.zoom.page"
MAX_PAGE_SIZE = 300


def _oauth_error(status: int, error: str, reason: str) -> JsonResponse:
    return JsonResponse({"reason": reason, "error": error}, status=status)


#
# OAuth
#


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """A user-managed app's consent: the person picks their Zoom user and allows the app's scopes."""
    source = request.POST if request.method == "POST" else request.GET
    params = {name: source.get(name, "") for name in ("client_id", "redirect_uri", "response_type", "state")}
    app = MeetingApp.objects.filter(
        provider=Provider.ZOOM, kind=MeetingApp.Kind.USER_OAUTH, client_id=params["client_id"]
    ).first()
    if app is None:
        return render(
            request,
            "sandbox/oauth_error.html",
            {"provider": "Zoom", "error": "invalid_client", "detail": "Invalid client_id."},
            status=400,
        )
    if params["redirect_uri"] not in app.redirect_uris:
        return render(
            request,
            "sandbox/oauth_error.html",
            {"provider": "Zoom", "error": "invalid_request", "detail": "Invalid redirect url (4,700)."},
            status=400,
        )
    answer = {"state": params["state"]} if params["state"] else {}
    users = MeetingUser.objects.filter(account__provider=Provider.ZOOM, status=MeetingUser.Status.ACTIVE)
    chosen = users.filter(email__iexact=source.get("account", "")).select_related("account").first()
    if chosen is None or "decision" not in request.POST:
        return render(
            request,
            "sandbox/meeting_consent.html",
            {
                "provider_name": "Zoom",
                "app": app,
                "params": params,
                "users": users.select_related("account"),
                "account": chosen,
                "scopes": app.scopes,
            },
        )
    if request.POST["decision"] != "allow":
        return _redirect(params["redirect_uri"], {"error": "access_denied", **answer})
    code, _ = tokens.issue_meeting_token(
        kind=Token.Kind.CODE,
        app=app,
        account=chosen.account,
        user=chosen,
        scopes=app.scopes,
        redirect_uri=params["redirect_uri"],
    )
    return _redirect(params["redirect_uri"], {"code": code, **answer})


def _redirect(redirect_uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


@csrf_exempt
@endpoint(Provider.ZOOM, "token")
@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    """`account_credentials` (Server-to-Server apps: no refresh token, ask again each hour),
    `authorization_code` and `refresh_token` (user-managed apps). Client authentication is HTTP Basic;
    parameters may come in the query string or the form."""
    client_id, secret = client_credentials(request)
    app = MeetingApp.objects.select_related("account").filter(provider=Provider.ZOOM, client_id=client_id).first()
    if app is None or not secret_matches(app.client_secret, secret):
        return _oauth_error(400, "invalid_client", "Invalid client_id or client_secret")
    param = {**request.GET.dict(), **request.POST.dict()}
    grant_type = param.get("grant_type", "")
    if grant_type == "account_credentials":
        if app.kind != MeetingApp.Kind.SERVER_TO_SERVER:
            return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
        if app.account is None or param.get("account_id") != app.account.account_id:
            return _oauth_error(400, "invalid_request", "Invalid request : account_id is invalid.")
        value, _ = tokens.issue_meeting_token(kind=Token.Kind.ACCESS, app=app, account=app.account, scopes=app.scopes)
        return JsonResponse(
            {
                "access_token": value,
                "token_type": "bearer",
                "expires_in": tokens.ACCESS_TOKEN_SECONDS,
                "scope": " ".join(app.scopes),
                "api_url": request.build_absolute_uri(reverse("sandbox:zoom-api-root")).rstrip("/"),
            }
        )
    if grant_type == "authorization_code":
        code = tokens.find_meeting_token(param.get("code", ""), kind=Token.Kind.CODE, provider=Provider.ZOOM)
        if (
            code is None
            or code.app_id != app.pk
            or not code.is_usable()
            or code.used_at is not None
            or code.redirect_uri != param.get("redirect_uri", "")
        ):
            return _oauth_error(400, "invalid_grant", "Invalid authorization code")
        MeetingToken.objects.filter(pk=code.pk).update(used_at=timezone.now())
        return _user_tokens(app=app, user=code.user, scopes=code.scopes)
    if grant_type == "refresh_token":
        refresh = tokens.find_meeting_token(
            param.get("refresh_token", ""), kind=Token.Kind.REFRESH, provider=Provider.ZOOM
        )
        if refresh is None or refresh.app_id != app.pk or not refresh.is_usable():
            return _oauth_error(400, "invalid_grant", "Invalid Token!")
        if take_fault(Provider.ZOOM, "token", ["invalid_grant"]) is not None:
            return _oauth_error(400, "invalid_grant", "Invalid Token!")
        # Zoom rotates refresh tokens: the old one stops working once a new one is issued.
        tokens.revoke_meeting_token(refresh)
        return _user_tokens(app=app, user=refresh.user, scopes=refresh.scopes)
    return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")


def _user_tokens(*, app: MeetingApp, user: MeetingUser | None, scopes: list[str]) -> JsonResponse:
    if user is None:  # codes and refresh tokens of user-managed apps always name their user
        return _oauth_error(400, "invalid_grant", "Invalid Token!")
    refresh_value, refresh = tokens.issue_meeting_token(
        kind=Token.Kind.REFRESH, app=app, account=user.account, user=user, scopes=scopes
    )
    access_value, _ = tokens.issue_meeting_token(
        kind=Token.Kind.ACCESS, app=app, account=user.account, user=user, scopes=scopes, refresh=refresh
    )
    return JsonResponse(
        {
            "access_token": access_value,
            "token_type": "bearer",
            "refresh_token": refresh_value,
            "expires_in": tokens.ACCESS_TOKEN_SECONDS,
            "scope": " ".join(scopes),
        }
    )


#
# API v2
#


def _token(request: HttpRequest) -> MeetingToken:
    found = tokens.find_meeting_token(bearer(request), kind=Token.Kind.ACCESS, provider=Provider.ZOOM)
    if found is None or not found.is_usable():
        raise ApiError(zoom_error(401, 124, "Invalid access token."))
    return found


def _require(token: MeetingToken, operation: str, *, own: bool) -> None:
    missing = zoom_missing(operation, token.scopes, own=own)
    if missing:
        raise ApiError(zoom_error(400, 4711, f"Invalid access token, does not contain scopes:[{', '.join(missing)}]."))


def _user(token: MeetingToken, user_id: str) -> MeetingUser:
    """`me`, a user id or an email address, within the token's account; a user-level token reaches
    only its own user."""
    if user_id == "me":
        if token.user is None:
            raise ApiError(zoom_error(400, 1001, "User does not exist: me."))
        return token.user
    users = MeetingUser.objects.select_related("account").filter(account=token.account)
    found = users.filter(user_id=user_id).first() or users.filter(email__iexact=user_id).first()
    if found is None:
        raise ApiError(zoom_error(404, 1001, f"User does not exist: {user_id}."))
    if token.user is not None and found.pk != token.user.pk:
        raise ApiError(zoom_error(400, 200, "No permission."))
    return found


def _user_json(user: MeetingUser) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "email": user.email,
        "type": 2,
        "timezone": user.time_zone,
        "verified": 1,
        "status": user.status,
        "role_id": "0" if user.is_admin else "2",
        "account_id": user.account.account_id,
        "created_at": "2024-01-08T09:00:00Z",
    }


def _meeting_json(meeting: Meeting, request: HttpRequest) -> dict[str, Any]:
    duration = int((meeting.end - meeting.start).total_seconds() // 60) if meeting.start and meeting.end else 0
    return {
        "uuid": base64.b64encode(hashlib.sha256(meeting.meeting_id.encode()).digest()[:16]).decode(),
        "id": int(meeting.meeting_id),
        "host_id": meeting.host_id,
        "host_email": meeting.host_email,
        "topic": meeting.topic,
        "type": 2,
        "status": "waiting",
        "start_time": utc_z(meeting.start) if meeting.start else "",
        "duration": duration,
        "timezone": meeting.time_zone,
        "agenda": meeting.agenda,
        "created_at": utc_z(meeting.created),
        "start_url": request.build_absolute_uri(reverse("sandbox:zoom-join", args=[meeting.meeting_id]))
        + f"?zak={secrets.token_urlsafe(12)}",
        "join_url": _join_url(meeting, request),
        "password": meeting.password,
        "h323_password": "".join(c for c in hashlib.sha256(meeting.password.encode()).hexdigest() if c.isdigit())[:6],
        "pre_schedule": False,
        "settings": {"join_before_host": False, "waiting_room": True, "meeting_authentication": False},
    }


def _join_url(meeting: Meeting, request: HttpRequest) -> str:
    base = request.build_absolute_uri(reverse("sandbox:zoom-join", args=[meeting.meeting_id]))
    return f"{base}?pwd={meeting.join_code}"


def _times(body: dict[str, Any], *, current: Meeting | None = None) -> dict[str, Any]:
    """start_time (UTC with Z, or local in `timezone`), duration in minutes, timezone."""
    zone_name = body.get("timezone") or (current.time_zone if current else "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(zoom_error(400, 300, f"Invalid timezone: {zone_name}.")) from None
    start = current.start if current else None
    if body.get("start_time"):
        text = str(body["start_time"])
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(zoom_error(400, 300, f"Invalid field: start_time {text}.")) from None
        start = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    duration = body.get("duration")
    if duration is None and current is not None and current.start and current.end:
        duration = int((current.end - current.start).total_seconds() // 60)
    if start is None or not isinstance(duration, int) or duration <= 0:
        raise ApiError(zoom_error(400, 300, "Scheduled meetings need a start_time and a positive duration."))
    start = start.astimezone(UTC)
    return {"start": start, "end": start + timedelta(minutes=duration), "time_zone": zone_name}


def _users_list(request: HttpRequest, token: MeetingToken) -> HttpResponse:
    _require(token, "users.list", own=False)
    status = request.GET.get("status", "active")
    page_size = max(1, min(int(request.GET.get("page_size") or 30), MAX_PAGE_SIZE))
    offset = 0
    if request.GET.get("next_page_token"):
        try:
            offset = signing.loads(request.GET["next_page_token"], salt=PAGE_SALT)["offset"]
        except (signing.BadSignature, KeyError, TypeError):
            raise ApiError(zoom_error(400, 300, "Invalid next_page_token.")) from None
    users = MeetingUser.objects.select_related("account").filter(account=token.account, status=status).order_by("pk")
    total = users.count()
    page = list(users[offset : offset + page_size])
    following = offset + page_size
    return JsonResponse(
        {
            "page_count": max(1, -(-total // page_size)),
            "page_number": offset // page_size + 1,
            "page_size": page_size,
            "total_records": total,
            "next_page_token": signing.dumps({"offset": following}, salt=PAGE_SALT) if following < total else "",
            "users": [_user_json(user) for user in page],
        }
    )


def _meetings_of(request: HttpRequest, token: MeetingToken, host: MeetingUser) -> HttpResponse:
    own = token.user is not None
    if request.method == "POST":
        _require(token, "meetings.create", own=own)
        if host.status != MeetingUser.Status.ACTIVE:
            raise ApiError(zoom_error(400, 1120, f"User does not exist or is not active: {host.email}."))
        body = json_body(request, Provider.ZOOM)
        if not str(body.get("topic") or "").strip():
            body["topic"] = "Zoom meeting"
        times = _times(body)
        meeting_id = str(secrets.randbelow(9 * 10**10) + 10**10)
        meeting = Meeting.objects.create(
            provider=Provider.ZOOM,
            meeting_id=meeting_id,
            account=host.account,
            host_email=host.email,
            host_id=host.user_id,
            created_by=token.app.client_id,
            topic=str(body["topic"])[:200],
            agenda=str(body.get("agenda") or "")[:2000],
            password=secrets.token_hex(3),
            join_code=secrets.token_urlsafe(24),
            **times,
        )
        return JsonResponse(_meeting_json(meeting, request), status=201)
    _require(token, "meetings.read", own=own)
    page_size = max(1, min(int(request.GET.get("page_size") or 30), MAX_PAGE_SIZE))
    meetings = Meeting.objects.filter(
        provider=Provider.ZOOM, host_id=host.user_id, state=Meeting.State.ACTIVE
    ).order_by("start", "pk")
    if request.GET.get("type", "scheduled") in ("upcoming", "upcoming_meetings"):
        meetings = meetings.filter(end__gt=timezone.now())
    offset = 0
    if request.GET.get("next_page_token"):
        try:
            offset = signing.loads(request.GET["next_page_token"], salt=PAGE_SALT)["offset"]
        except (signing.BadSignature, KeyError, TypeError):
            raise ApiError(zoom_error(400, 300, "Invalid next_page_token.")) from None
    total = meetings.count()
    following = offset + page_size
    return JsonResponse(
        {
            "page_size": page_size,
            "total_records": total,
            "next_page_token": signing.dumps({"offset": following}, salt=PAGE_SALT) if following < total else "",
            "meetings": [
                {
                    key: value
                    for key, value in _meeting_json(meeting, request).items()
                    if key
                    in (
                        "uuid",
                        "id",
                        "host_id",
                        "topic",
                        "type",
                        "start_time",
                        "duration",
                        "timezone",
                        "agenda",
                        "created_at",
                        "join_url",
                    )
                }
                for meeting in meetings[offset:following]
            ],
        }
    )


def _meeting_item(request: HttpRequest, token: MeetingToken, meeting_id: str) -> HttpResponse:
    own = token.user is not None
    meeting = Meeting.objects.filter(provider=Provider.ZOOM, meeting_id=meeting_id, account=token.account).first()
    if meeting is None or not meeting.is_active:
        raise ApiError(zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}."))
    if token.user is not None and meeting.host_id != token.user.user_id:  # a user token: its own meetings only
        raise ApiError(zoom_error(400, 200, "No permission."))
    if request.method == "GET":
        _require(token, "meetings.read", own=own)
        return JsonResponse(_meeting_json(meeting, request))
    if request.method == "DELETE":
        _require(token, "meetings.delete", own=own)
        Meeting.objects.filter(pk=meeting.pk).update(state=Meeting.State.DELETED, updated=timezone.now())
        return HttpResponse(status=204)
    _require(token, "meetings.update", own=own)
    body = json_body(request, Provider.ZOOM)
    if any(key in body for key in ("start_time", "duration", "timezone")):
        for name, value in _times(body, current=meeting).items():
            setattr(meeting, name, value)
    if "topic" in body:
        meeting.topic = str(body["topic"] or "Zoom meeting")[:200]
    if "agenda" in body:
        meeting.agenda = str(body["agenda"] or "")[:2000]
    meeting.updated = timezone.now()
    meeting.save()
    return HttpResponse(status=204)


OPERATIONS = {
    ("users", "GET"): "users.list",
    ("user", "GET"): "users.get",
    ("user_meetings", "GET"): "meetings.list",
    ("user_meetings", "POST"): "meetings.create",
    ("meeting", "GET"): "meetings.get",
    ("meeting", "PATCH"): "meetings.update",
    ("meeting", "DELETE"): "meetings.delete",
}


def _api_view(kind: str) -> Any:
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        operation = OPERATIONS.get((kind, request.method or ""))
        if operation is None:
            return zoom_error(405, 405, "Method not allowed.")

        @endpoint(Provider.ZOOM, operation)
        def handle(request: HttpRequest) -> HttpResponse:
            token = _token(request)
            if kind == "users":
                return _users_list(request, token)
            if kind == "user":
                target = _user(token, kwargs["user_id"])
                _require(token, "users.get", own=token.user is not None)
                return JsonResponse(_user_json(target))
            if kind == "user_meetings":
                return _meetings_of(request, token, _user(token, kwargs["user_id"]))
            return _meeting_item(request, token, kwargs["meeting_id"])

        return handle(request)

    return csrf_exempt(view)


users = _api_view("users")
user = _api_view("user")
user_meetings = _api_view("user_meetings")
meeting = _api_view("meeting")


def api_root(request: HttpRequest) -> HttpResponse:
    return zoom_error(404, 404, "Not found.")


def join(request: HttpRequest, meeting_id: str) -> HttpResponse:
    """What a join link opens: the meeting, or that it no longer exists."""
    found = Meeting.objects.filter(provider=Provider.ZOOM, meeting_id=meeting_id).first()
    if found is None:
        raise Http404
    return render(request, "sandbox/meeting_join.html", {"provider_name": "Zoom", "meeting": found})
