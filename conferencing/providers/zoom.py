"""Zoom: an organization's Server-to-Server OAuth app (`account_credentials` grant, an hour's token,
no refresh token) or a person's own grant to our user-managed app (refresh tokens, rotated by Zoom),
and the REST API v2 over requests.

Zoom has no idempotency key: a create whose answer was lost is found again by the reference line this
client leaves at the end of the meeting's agenda.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.utils import timezone

from calendars.providers import endpoints
from calendars.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderPermissionError,
)
from calendars.providers.retry import retry_after_seconds, with_retries
from conferencing.providers.base import ConferencingUser, MeetingSpec, ProviderMeeting
from conferencing.providers.rest import RestClient

PAGE_SIZE = 300
REFERENCE_PREFIX = "Ref: "


def reference_line(key: str) -> str:
    return f"{REFERENCE_PREFIX}{key}"


class ZoomClient(RestClient):
    name = "Zoom"
    provider_description = "Zoom"

    def __init__(
        self, credentials: dict[str, Any], *, on_credentials_changed: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        super().__init__()
        self._stored = dict(credentials)
        self._on_changed = on_credentials_changed
        self._account_wide = credentials.get("kind") == "zoom_server_to_server"

    @property
    def api(self) -> str:
        return endpoints.url("ZOOM_API_URL").rstrip("/")

    #
    # Tokens
    #

    def _token(self, *, force: bool = False) -> str:
        expires_at = self._stored.get("expires_at")
        fresh = expires_at and datetime.fromisoformat(expires_at) > timezone.now() + timedelta(minutes=2)
        if self._stored.get("access_token") and fresh and not force:
            return self._stored["access_token"]
        token_url = f"{endpoints.url('ZOOM_OAUTH_URL').rstrip('/')}/token"
        if self._account_wide:
            client_id, secret = self._stored.get("client_id", ""), self._stored.get("client_secret", "")
            params = {"grant_type": "account_credentials", "account_id": self._stored.get("account_id", "")}
            form = None
        else:
            client_id, secret = settings.ZOOM_CLIENT_ID, settings.ZOOM_CLIENT_SECRET
            params = None
            form = {"grant_type": "refresh_token", "refresh_token": self._stored.get("refresh_token", "")}
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        body = self.token_request(
            lambda: self._http.post(token_url, params=params, data=form, headers={"Authorization": f"Basic {basic}"})
        )
        if "error" in body:
            detail = body["error"]
            reason = detail.get("reason") or detail.get("error") or detail
            raise ProviderAuthError(f"Zoom refused the app's credentials: {reason}", status=body.get("status"))
        self._stored.update(
            access_token=body["access_token"],
            expires_at=(timezone.now() + timedelta(seconds=int(body.get("expires_in", 3599)))).isoformat(),
            scope=body.get("scope", ""),
        )
        if body.get("refresh_token"):
            self._stored["refresh_token"] = body["refresh_token"]
        if self._on_changed is not None:
            self._on_changed(dict(self._stored))
        return body["access_token"]

    def granted_scopes(self) -> list[str]:
        with_retries(lambda: self._token(force=not self._stored.get("scope")))
        return self._stored.get("scope", "").split()

    def translate(self, response: requests.Response) -> ProviderError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        code, message = body.get("code"), body.get("message", "")
        text = f"Zoom answered {status}: {message or code}".strip()
        if code == 4711 or "does not contain scopes" in message:
            return ProviderPermissionError(text, status=status)
        if status == 401:
            return ProviderAuthError(text, status=status)
        if status == 404 or code in (1001, 3001):
            return ProviderNotFound(text, status=status)
        if status in (429, 500, 502, 503, 504):
            retry = retry_after_seconds(response.headers.get("Retry-After"))
            return ProviderError(text, retryable=True, retry_after=retry, status=status)
        return ProviderError(text, retryable=False, status=status)

    #
    # The conferencing interface
    #

    def me(self) -> ConferencingUser:
        return _user(self.call_json("GET", f"{self.api}/users/me"))

    def find_users(self, emails: list[str]) -> dict[str, ConferencingUser]:
        wanted = {email.lower() for email in emails}
        found: dict[str, ConferencingUser] = {}
        if not self._account_wide:
            me = self.me()
            return {me.email: me} if me.email in wanted else {}
        page_token = ""
        while True:
            params = {"status": "active", "page_size": PAGE_SIZE}
            if page_token:
                params["next_page_token"] = page_token
            body = self.call_json("GET", f"{self.api}/users", params=params)
            for item in body.get("users", []):
                if item.get("email", "").lower() in wanted:
                    found[item["email"].lower()] = _user(item)
            page_token = body.get("next_page_token") or ""
            if not page_token:
                return found

    def create_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting:
        body = self.call_json(
            "POST", f"{self.api}/users/{quote(host.user_id)}/meetings", json=_meeting_body(spec), idempotent=False
        )
        return _meeting(body)

    def update_meeting(self, host: ConferencingUser, meeting_id: str, spec: MeetingSpec) -> ProviderMeeting:
        body = _meeting_body(spec)
        body.pop("type")
        self.call("PATCH", f"{self.api}/meetings/{quote(meeting_id)}", json=body)
        return _meeting(self.call_json("GET", f"{self.api}/meetings/{quote(meeting_id)}"))

    def delete_meeting(self, host: ConferencingUser, meeting_id: str) -> None:
        self.call("DELETE", f"{self.api}/meetings/{quote(meeting_id)}", ok_missing=True)

    def find_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting | None:
        tag = reference_line(spec.key)
        page_token = ""
        while True:
            params = {"type": "upcoming", "page_size": PAGE_SIZE}
            if page_token:
                params["next_page_token"] = page_token
            body = self.call_json("GET", f"{self.api}/users/{quote(host.user_id)}/meetings", params=params)
            for item in body.get("meetings", []):
                if (item.get("agenda") or "").rstrip().endswith(tag):
                    return _meeting(self.call_json("GET", f"{self.api}/meetings/{item['id']}"))
            page_token = body.get("next_page_token") or ""
            if not page_token:
                return None


def _user(item: dict[str, Any]) -> ConferencingUser:
    name = item.get("display_name") or f"{item.get('first_name', '')} {item.get('last_name', '')}".strip()
    return ConferencingUser(user_id=item["id"], email=item["email"].lower(), name=name)


def _meeting_body(spec: MeetingSpec) -> dict[str, Any]:
    minutes = max(1, int((spec.end - spec.start).total_seconds() // 60))
    agenda = f"{spec.agenda.strip()}\n\n{reference_line(spec.key)}".strip()
    return {
        "topic": spec.title[:200],
        "type": 2,  # a scheduled meeting
        "start_time": spec.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": minutes,
        "timezone": spec.time_zone,
        "agenda": agenda[-2000:],
        "settings": {"join_before_host": False, "waiting_room": True},
    }


def _meeting(body: dict[str, Any]) -> ProviderMeeting:
    return ProviderMeeting(
        meeting_id=str(body["id"]),
        join_url=body.get("join_url", ""),
        provider_description="Zoom",
        passcode=body.get("password", ""),
    )


#
# A person's own grant to our user-managed app
#


def authorize_url(*, redirect_uri: str, state: str) -> str:
    """Where a person's browser goes to let our Zoom app manage their meetings."""
    query = urlencode(
        {"response_type": "code", "client_id": settings.ZOOM_CLIENT_ID, "redirect_uri": redirect_uri, "state": state}
    )
    return f"{endpoints.url('ZOOM_OAUTH_URL').rstrip('/')}/authorize?{query}"


def exchange_code(*, code: str, redirect_uri: str) -> dict[str, Any]:
    """The person's credentials for a code Zoom sent back (refresh tokens rotate: store what comes back)."""
    basic = base64.b64encode(f"{settings.ZOOM_CLIENT_ID}:{settings.ZOOM_CLIENT_SECRET}".encode()).decode()
    client = ZoomClient({"kind": "zoom_user"})
    body = client.token_request(
        lambda: client._http.post(
            f"{endpoints.url('ZOOM_OAUTH_URL').rstrip('/')}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            headers={"Authorization": f"Basic {basic}"},
        )
    )
    if "error" in body:
        raise ProviderAuthError(f"Zoom refused the authorization code: {body['error']}")
    return {
        "kind": "zoom_user",
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token", ""),
        "expires_at": (timezone.now() + timedelta(seconds=int(body.get("expires_in", 3599)))).isoformat(),
        "scope": body.get("scope", ""),
    }
