"""Webex: our integration, authorized by an organization's administrator (meetings scheduled with
`hostEmail` for their people) or by a person for their own meetings; access tokens refreshed with the
refresh token; People and Meetings over requests.

The seeds' scopes cannot read other people's meetings, so a create whose answer was lost cannot be
found again: at worst one unused meeting is left at Webex, never a second link on an event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from calendars.providers import endpoints
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderNotFound, ProviderPermissionError
from calendars.providers.retry import retry_after_seconds, with_retries
from conferencing.providers.base import ConferencingUser, MeetingSpec, ProviderMeeting
from conferencing.providers.rest import RestClient

PAGE_SIZE = 1000


class WebexClient(RestClient):
    name = "Webex"
    provider_description = "Webex"

    def __init__(
        self, credentials: dict[str, Any], *, on_credentials_changed: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        super().__init__()
        self._stored = dict(credentials)
        self._on_changed = on_credentials_changed
        self._for_organization = credentials.get("kind") == "webex_admin"

    @property
    def api(self) -> str:
        return endpoints.url("WEBEX_API_URL").rstrip("/")

    def _token(self, *, force: bool = False) -> str:
        expires_at = self._stored.get("expires_at")
        fresh = expires_at and datetime.fromisoformat(expires_at) > timezone.now() + timedelta(minutes=5)
        if self._stored.get("access_token") and fresh and not force:
            return self._stored["access_token"]
        body = self.token_request(
            lambda: self._http.post(
                f"{self.api}/access_token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": settings.WEBEX_CLIENT_ID,
                    "client_secret": settings.WEBEX_CLIENT_SECRET,
                    "refresh_token": self._stored.get("refresh_token", ""),
                },
            )
        )
        if "error" in body:
            message = body["error"].get("message") if isinstance(body["error"], dict) else body["error"]
            raise ProviderAuthError(f"Webex refused to refresh the grant: {message}", status=body.get("status"))
        self._stored.update(
            access_token=body["access_token"],
            expires_at=(timezone.now() + timedelta(seconds=int(body.get("expires_in", 3600)))).isoformat(),
        )
        if body.get("refresh_token"):
            self._stored["refresh_token"] = body["refresh_token"]
        if self._on_changed is not None:
            self._on_changed(dict(self._stored))
        return body["access_token"]

    def granted_scopes(self) -> list[str]:
        with_retries(lambda: self._token())
        return list(self._stored.get("scopes", []))

    def translate(self, response: requests.Response) -> ProviderError:
        status = response.status_code
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = ""
        text = f"Webex answered {status}: {message}".strip().rstrip(":")
        if status == 401:
            return ProviderAuthError(text, status=status)
        if status == 403:
            return ProviderPermissionError(text, status=status)
        if status == 404:
            return ProviderNotFound(text, status=status)
        if status in (429, 500, 502, 503, 504):
            retry = retry_after_seconds(response.headers.get("Retry-After"))
            return ProviderError(text, retryable=True, retry_after=retry, status=status)
        return ProviderError(text, retryable=False, status=status)

    def me(self) -> ConferencingUser:
        return _person(self.call_json("GET", f"{self.api}/people/me"))

    def organization_id(self) -> str:
        """The Webex organization of the person who authorized the integration."""
        return self.call_json("GET", f"{self.api}/people/me").get("orgId", "")

    def find_users(self, emails: list[str]) -> dict[str, ConferencingUser]:
        wanted = {email.lower() for email in emails}
        found: dict[str, ConferencingUser] = {}
        if not self._for_organization:
            me = self.me()
            return {me.email: me} if me.email in wanted else {}
        url: str | None = f"{self.api}/people"
        params: dict[str, Any] | None = {"max": PAGE_SIZE}
        while url:
            response = self.call("GET", url, params=params)
            assert response is not None  # noqa: S101  # only ok_missing calls return None
            for item in response.json().get("items", []):
                person = _person(item)
                if person.email in wanted and item.get("status", "active") != "inactive":
                    found[person.email] = person
            url, params = response.links.get("next", {}).get("url"), None
        return found

    def create_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting:
        body = self.call_json(
            "POST", f"{self.api}/meetings", json={**_meeting_body(spec, host), "sendEmail": False}, idempotent=False
        )
        return _meeting(body)

    def update_meeting(self, host: ConferencingUser, meeting_id: str, spec: MeetingSpec) -> ProviderMeeting:
        body = self.call_json("PUT", f"{self.api}/meetings/{quote(meeting_id)}", json=_meeting_body(spec, host))
        return _meeting(body)

    def delete_meeting(self, host: ConferencingUser, meeting_id: str) -> None:
        self.call(
            "DELETE",
            f"{self.api}/meetings/{quote(meeting_id)}",
            params={"hostEmail": host.email, "sendEmail": "false"},
            ok_missing=True,
        )

    def find_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting | None:
        return None


def _person(item: dict[str, Any]) -> ConferencingUser:
    emails = item.get("emails") or [""]
    return ConferencingUser(user_id=item["id"], email=emails[0].lower(), name=item.get("displayName", ""))


def _meeting_body(spec: MeetingSpec, host: ConferencingUser) -> dict[str, Any]:
    zone = ZoneInfo(spec.time_zone)
    return {
        "title": spec.title[:128],
        "agenda": spec.agenda[:1300],
        "start": spec.start.astimezone(zone).isoformat(timespec="seconds"),
        "end": spec.end.astimezone(zone).isoformat(timespec="seconds"),
        "timezone": spec.time_zone,
        "hostEmail": host.email,
    }


def _meeting(body: dict[str, Any]) -> ProviderMeeting:
    return ProviderMeeting(
        meeting_id=body["id"],
        join_url=body.get("webLink", ""),
        provider_description="Webex",
        passcode=body.get("password", ""),
    )


#
# Authorizing the integration: an organization's administrator, or a person for themselves
#


def authorize_url(*, redirect_uri: str, scopes: list[str], state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.WEBEX_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
        }
    )
    return f"{endpoints.url('WEBEX_API_URL').rstrip('/')}/authorize?{query}"


def exchange_code(*, code: str, redirect_uri: str, scopes: list[str], for_organization: bool) -> dict[str, Any]:
    """The credentials for a code Webex sent back: `webex_admin` schedules for the administrator's
    organization, `webex_user` for the person alone."""
    client = WebexClient({"kind": "webex_user"})
    body = client.token_request(
        lambda: client._http.post(
            f"{client.api}/access_token",
            data={
                "grant_type": "authorization_code",
                "client_id": settings.WEBEX_CLIENT_ID,
                "client_secret": settings.WEBEX_CLIENT_SECRET,
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
    )
    if "error" in body:
        raise ProviderAuthError(f"Webex refused the authorization code: {body['error']}")
    return {
        "kind": "webex_admin" if for_organization else "webex_user",
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token", ""),
        "expires_at": (timezone.now() + timedelta(seconds=int(body.get("expires_in", 3600)))).isoformat(),
        "scopes": list(scopes),
    }
