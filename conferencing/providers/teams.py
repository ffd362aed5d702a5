"""Microsoft Teams: online meetings through Graph with application permissions (MSAL client
credentials after the tenant's admin consent), for users a Teams application access policy covers.

Meetings are made with `createOrGet` and our event's uid as `externalId`: a retried create returns the
meeting the first one made.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import quote

import jwt
import requests
from django.conf import settings

from calendars.providers import endpoints
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderNotFound, ProviderPermissionError
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE, msal_application
from calendars.providers.retry import retry_after_seconds, with_retries
from conferencing.providers.base import AccessPolicyMissing, ConferencingUser, MeetingSpec, ProviderMeeting
from conferencing.providers.rest import RestClient

AUTH_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "unauthorized_client", "invalid_client"}
POLICY_MESSAGE = "application access policy"


class TeamsClient(RestClient):
    name = "Microsoft Graph"
    provider_description = "Microsoft Teams"

    def __init__(self, credentials: dict[str, Any], **_: Any) -> None:
        super().__init__()
        self._tenant = credentials.get("tenant_id") or ""
        self._msal = msal_application(
            settings.MICROSOFT_TEAMS_CLIENT_ID, settings.MICROSOFT_TEAMS_CLIENT_SECRET, self._tenant
        )
        self._access_token: str | None = None

    @property
    def graph(self) -> str:
        return f"{endpoints.microsoft_graph_url()}/v1.0"

    def _token(self, *, force: bool = False) -> str:
        if self._access_token and not force:
            return self._access_token
        result = self._msal.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
        if "access_token" not in result:
            error = result.get("error", "")
            message = f"Microsoft refused the tenant's consent: {error} {result.get('error_codes') or ''}".strip()
            if error in AUTH_ERRORS:
                raise ProviderAuthError(message)
            raise ProviderError(message, retryable=error in ("temporarily_unavailable", "server_error", ""))
        self._access_token = result["access_token"]
        return self._access_token

    def granted_scopes(self) -> list[str]:
        token = with_retries(lambda: self._token())
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise ProviderError("Microsoft returned an access token that is not a JWT.", retryable=False) from None
        return list(claims.get("roles") or [])

    def translate(self, response: requests.Response) -> ProviderError:
        status = response.status_code
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code, message = error.get("code", ""), error.get("message", "")
        text = f"Microsoft Graph answered {status} {code}: {message}".strip()
        if status == 403 and POLICY_MESSAGE in message.lower():
            return AccessPolicyMissing(text, status=status)
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

    def find_users(self, emails: list[str]) -> dict[str, ConferencingUser]:
        wanted = {email.lower() for email in emails}
        found: dict[str, ConferencingUser] = {}
        url: str | None = f"{self.graph}/users"
        params: dict[str, Any] | None = {"$select": "id,displayName,mail,userPrincipalName,accountEnabled", "$top": 999}
        while url:
            body = self.call_json("GET", url, params=params)
            for item in body.get("value", []):
                if item.get("accountEnabled") is False:
                    continue
                for address in {(item.get("mail") or "").lower(), (item.get("userPrincipalName") or "").lower()}:
                    if address in wanted:
                        found[address] = ConferencingUser(
                            user_id=item["id"], email=address, name=item.get("displayName", "")
                        )
            url, params = body.get("@odata.nextLink"), None
        return found

    def create_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting:
        body = self.call_json(
            "POST",
            f"{self.graph}/users/{quote(host.user_id)}/onlineMeetings/createOrGet",
            json={**_meeting_body(spec), "externalId": spec.key},
        )
        return _meeting(body)

    def update_meeting(self, host: ConferencingUser, meeting_id: str, spec: MeetingSpec) -> ProviderMeeting:
        body = self.call_json(
            "PATCH",
            f"{self.graph}/users/{quote(host.user_id)}/onlineMeetings/{quote(meeting_id)}",
            json=_meeting_body(spec),
        )
        return _meeting(body)

    def delete_meeting(self, host: ConferencingUser, meeting_id: str) -> None:
        self.call(
            "DELETE", f"{self.graph}/users/{quote(host.user_id)}/onlineMeetings/{quote(meeting_id)}", ok_missing=True
        )

    def find_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting | None:
        return None  # createOrGet already returns the meeting a lost create made


def _graph_time(moment: Any) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _meeting_body(spec: MeetingSpec) -> dict[str, Any]:
    return {"subject": spec.title[:500], "startDateTime": _graph_time(spec.start), "endDateTime": _graph_time(spec.end)}


def _meeting(body: dict[str, Any]) -> ProviderMeeting:
    passcode = (body.get("joinMeetingIdSettings") or {}).get("passcode") or ""
    return ProviderMeeting(
        meeting_id=body["id"],
        join_url=body.get("joinWebUrl") or body.get("joinUrl", ""),
        provider_description="Microsoft Teams",
        passcode=passcode,
    )
