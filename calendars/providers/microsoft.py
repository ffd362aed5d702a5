"""Microsoft 365 calendars: tokens from MSAL (refresh tokens for a user's own grant, client credentials
after an admin's consent) and Microsoft Graph over requests.

Graph returns event subjects even to Calendars.ReadBasic; unless the client was built with
`include_details=True` they are dropped here, before anything else sees them, and never logged.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import jwt
import msal
import requests
from django.conf import settings
from django.utils import timezone

from calendars.providers import endpoints
from calendars.providers.base import (
    Attendee,
    BusyChanges,
    BusyPeriod,
    BusyStatus,
    EventDetails,
    EventSpec,
    FreeBusyResult,
    ProviderAuthError,
    ProviderCalendar,
    ProviderError,
    ProviderEvent,
    ProviderNotFound,
    ProviderPermissionError,
    SyncCursorExpired,
    WatchChannel,
    WrittenEvent,
)
from calendars.providers.http import ProviderSession
from calendars.providers.retry import retry_after_seconds, with_retries

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}
# Outlook keeps subscriptions to events for at most 4230 minutes; renew well before.
SUBSCRIPTION_MINUTES = 4200
RESPONSES = {
    "none": "needs_action",
    "notResponded": "needs_action",
    "organizer": "accepted",
    "accepted": "accepted",
    "tentativelyAccepted": "tentative",
    "declined": "declined",
}
SHOW_AS = {
    "free": BusyStatus.FREE,
    "workingElsewhere": BusyStatus.FREE,
    "tentative": BusyStatus.TENTATIVE,
    "busy": BusyStatus.BUSY,
    "oof": BusyStatus.BUSY,
    "unknown": BusyStatus.UNKNOWN,
}
AUTH_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "unauthorized_client", "invalid_client"}


def msal_application(client_id: str, client_secret: str, tenant: str) -> msal.ConfidentialClientApplication:
    """An MSAL confidential client whose HTTP goes through our seam (timeouts, sandbox routing); the
    seam stays reachable as `.login_http` for the Retry-After of a refusal."""
    login_http = ProviderSession(endpoints.microsoft_login_routes())
    try:
        application = msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_secret,
            authority=f"{endpoints.microsoft_authority_host()}/{tenant}",
            http_client=login_http,
            instance_discovery=False,
        )
        application.login_http = login_http
        return application
    except ValueError:
        # MSAL reads the tenant's OpenID configuration first; a 4xx there (AADSTS90002, an unknown
        # tenant) comes out as ValueError.
        raise ProviderAuthError(f"Microsoft does not know the tenant “{tenant}”.") from None
    except (requests.RequestException, RuntimeError, msal.exceptions.MsalServiceError):
        raise ProviderError("Microsoft's sign-in service cannot be reached.", retryable=True) from None


def acquire_token(application: msal.ConfidentialClientApplication, acquire: Callable[[], Any]) -> str:
    """Run one MSAL token call and turn every way it can fail into our errors: a refused grant
    (invalid_grant, consent withdrawn) needs a person; throttling (429, with Microsoft's Retry-After)
    and outages (5xx, timeouts) are worth trying again later. MSAL reports some failures as an error
    dict, others as MsalServiceError, and a throttled answer it remembers without calling again."""
    try:
        result = acquire()
    except msal.exceptions.MsalServiceError as error:
        result = {"error": "server_error", "error_description": str(error)}
    except requests.RequestException as error:
        raise ProviderError(
            f"Microsoft's sign-in service cannot be reached: {type(error).__name__}", retryable=True
        ) from None
    if isinstance(result, dict) and "access_token" in result:
        return result["access_token"]
    result = result if isinstance(result, dict) else {}
    reported = result.get("error")
    # Not `error`: that name is the except clauses' above, which Python unbinds after them.
    refusal = reported if isinstance(reported, str) else "server_error"
    codes = [code for code in result.get("error_codes") or [] if isinstance(code, int)]
    message = f"Microsoft's token endpoint refused: {refusal} {codes or ''}".strip()
    if refusal in AUTH_ERRORS:
        raise ProviderAuthError(message)
    retry_after = retry_after_seconds(getattr(getattr(application, "login_http", None), "last_retry_after", None))
    retryable = refusal in ("temporarily_unavailable", "server_error") or retry_after is not None
    raise ProviderError(message, retryable=retryable, retry_after=retry_after)


def _graph_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in scopes if scope not in RESERVED_SCOPES]


def _parse_time(value: dict[str, str]) -> datetime:
    text = re.sub(r"\.(\d{6})\d*$", r".\1", value["dateTime"].rstrip("Z"))
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or "UTC"))
    return moment.astimezone(UTC)


class MicrosoftCalendarClient:
    """A Microsoft 365 mailbox, with the user's own delegated grant (`/me`) or with the application
    permissions an admin consented to for the tenant (`/users/{mailbox}`)."""

    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        mailbox: str | None = None,
        on_credentials_changed: Callable[[dict[str, Any]], None] | None = None,
        include_details: bool = False,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self._stored = dict(credentials)
        self._on_changed = on_credentials_changed
        self.include_details = include_details
        self._app_only = credentials.get("kind") == "microsoft_app"
        if self._app_only:
            if not mailbox:
                raise ValueError("Application permissions reach a mailbox by name: give the mailbox.")
            self._user_path = f"users/{quote(mailbox)}"
            # A subscription names its resource as text, where Graph expects the mailbox as written.
            self._user_resource = f"users/{mailbox}"
        else:
            self._user_path = self._user_resource = "me"
        self._msal = msal_application(
            client_id or settings.MICROSOFT_CLIENT_ID,
            client_secret or settings.MICROSOFT_CLIENT_SECRET,
            credentials.get("tenant_id") or "organizations",
        )
        self._http = ProviderSession()
        self._access_token: str | None = None

    #
    # Tokens
    #

    def _token(self, *, force: bool = False) -> str:
        if self._app_only:
            if self._access_token and not force:
                return self._access_token
            self._access_token = acquire_token(
                self._msal, lambda: self._msal.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
            )
            return self._access_token
        expires_at = self._stored.get("expires_at")
        fresh = expires_at and datetime.fromisoformat(expires_at) > timezone.now() + timedelta(minutes=2)
        if self._stored.get("access_token") and fresh and not force:
            return self._stored["access_token"]
        results: list[dict[str, Any]] = []

        def refresh() -> dict[str, Any]:
            results.append(
                self._msal.acquire_token_by_refresh_token(
                    self._stored.get("refresh_token", ""), scopes=_graph_scopes(self._stored.get("scopes", []))
                )
            )
            return results[-1]

        token = acquire_token(self._msal, refresh)
        result = results[-1]
        self._stored.update(
            access_token=token,
            expires_at=(timezone.now() + timedelta(seconds=int(result.get("expires_in", 3600)))).isoformat(),
        )
        if result.get("refresh_token"):
            self._stored["refresh_token"] = result["refresh_token"]
        if self._on_changed is not None:
            self._on_changed(dict(self._stored))
        return token

    #
    # Graph
    #

    def _call(
        self,
        method: str,
        path_or_url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        expect_body: bool = True,
    ) -> dict[str, Any]:
        url = path_or_url if path_or_url.startswith("http") else f"{endpoints.microsoft_graph_url()}/v1.0/{path_or_url}"

        def attempt() -> dict[str, Any]:
            for retry_auth in (False, True):
                try:
                    response = self._http.request(
                        method,
                        url,
                        json=json,
                        params=params,
                        headers={"Authorization": f"Bearer {self._token(force=retry_auth)}", **(headers or {})},
                    )
                except requests.RequestException as error:
                    raise ProviderError(
                        f"Microsoft Graph unreachable: {type(error).__name__}", retryable=True
                    ) from None
                if response.status_code == 401 and not retry_auth:
                    continue  # a token revoked early: get a new one once
                break
            if response.status_code >= 400:
                raise self._translate(response)
            if not expect_body or response.status_code == 204 or not response.content:
                return {}
            return response.json()

        return with_retries(attempt)

    @staticmethod
    def _translate(response: requests.Response) -> ProviderError:
        status = response.status_code
        try:
            code = response.json().get("error", {}).get("code", "")
        except ValueError:
            code = ""
        message = f"Microsoft Graph answered {status} {code}".strip()
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 401:
            return ProviderAuthError(message, status=status)
        if status == 403:
            return ProviderPermissionError(message, status=status)
        if status == 404:
            return ProviderNotFound(message, status=status)
        if status == 410:
            return SyncCursorExpired(message)
        if status in (429, 500, 502, 503, 504):
            return ProviderError(message, retryable=True, retry_after=retry_after, status=status)
        return ProviderError(message, retryable=False, status=status)

    #
    # The provider interface
    #

    def list_calendars(self) -> list[ProviderCalendar]:
        response = self._call("GET", f"{self._user_path}/calendars")
        return [
            ProviderCalendar(
                provider_id=item["id"],
                name=item.get("name", ""),
                is_primary=bool(item.get("isDefaultCalendar")),
                is_readonly=not item.get("canEdit", False),
                time_zone="UTC",
                integrated_conferencing="teamsForBusiness" in item.get("allowedOnlineMeetingProviders", []),
            )
            for item in response.get("value", [])
        ]

    def create_calendar(self, name: str) -> ProviderCalendar:
        item = self._call("POST", f"{self._user_path}/calendars", json={"name": name})
        return ProviderCalendar(
            provider_id=item["id"],
            name=item.get("name", name),
            is_primary=False,
            is_readonly=False,
            time_zone="UTC",
            integrated_conferencing="teamsForBusiness" in item.get("allowedOnlineMeetingProviders", []),
        )

    def busy_changes(self, calendar_id: str, *, cursor: str | None, start: datetime, end: datetime) -> BusyChanges:
        if cursor:
            url = cursor
        else:
            query = urlencode(
                {"startDateTime": start.astimezone(UTC).isoformat(), "endDateTime": end.astimezone(UTC).isoformat()}
            )
            url = (
                f"{endpoints.microsoft_graph_url()}/v1.0/{self._user_path}/calendars/{quote(calendar_id)}"
                f"/calendarView/delta?{query}"
            )
        headers = {"Prefer": 'odata.maxpagesize=1000, outlook.timezone="UTC"'}
        events: list[ProviderEvent] = []
        removed: list[str] = []
        while True:
            response = self._call("GET", url, headers=headers)
            for item in response.get("value", []):
                if "@removed" in item or item.get("isCancelled"):
                    removed.append(item["id"])
                else:
                    events.append(self._event(item))
            if "@odata.nextLink" in response:
                url = response["@odata.nextLink"]
                continue
            return BusyChanges(
                events=tuple(events),
                removed_ids=tuple(removed),
                cursor=response["@odata.deltaLink"],
                full=cursor is None,
            )

    def _event(self, item: dict[str, Any]) -> ProviderEvent:
        response = (item.get("responseStatus") or {}).get("response", "")
        status = BusyStatus.FREE if response == "declined" else SHOW_AS.get(item.get("showAs", "busy"), BusyStatus.BUSY)
        details = None
        if self.include_details:
            details = EventDetails(
                summary=item.get("subject", ""),
                description=(item.get("body") or {}).get("content", ""),
                location=(item.get("location") or {}).get("displayName", ""),
                organizer_email=((item.get("organizer") or {}).get("emailAddress") or {}).get("address", ""),
                join_url=(item.get("onlineMeeting") or {}).get("joinUrl", "") or "",
                attendees=tuple(
                    Attendee(
                        email=(a.get("emailAddress") or {}).get("address", ""),
                        name=(a.get("emailAddress") or {}).get("name", ""),
                        response=RESPONSES.get((a.get("status") or {}).get("response", ""), "needs_action"),
                        is_resource=a.get("type") == "resource",
                    )
                    for a in item.get("attendees", [])
                ),
            )
        return ProviderEvent(
            provider_event_id=item["id"],
            start=_parse_time(item["start"]),
            end=_parse_time(item["end"]),
            all_day=bool(item.get("isAllDay")),
            status=status,
            series_id=item.get("seriesMasterId"),
            details=details,
        )

    def free_busy(self, calendar_ids: list[str], *, start: datetime, end: datetime) -> FreeBusyResult:
        body = {
            "schedules": calendar_ids,
            "availabilityViewInterval": 30,
            "startTime": {"dateTime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "endTime": {"dateTime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        }
        response = self._call(
            "POST", f"{self._user_path}/calendar/getSchedule", json=body, headers={"Prefer": 'outlook.timezone="UTC"'}
        )
        periods: dict[str, list[BusyPeriod]] = {}
        errors: dict[str, str] = {}
        for schedule in response.get("value", []):
            if schedule.get("error"):
                errors[schedule["scheduleId"]] = schedule["error"].get("responseCode", "unknown")
                continue
            # Only status and times are read: subjects and locations stay in the response.
            periods[schedule["scheduleId"]] = [
                BusyPeriod(
                    start=_parse_time(item["start"]),
                    end=_parse_time(item["end"]),
                    status=SHOW_AS.get(item.get("status", "busy"), BusyStatus.BUSY),
                )
                for item in schedule.get("scheduleItems", [])
                if item.get("status") not in ("free", "workingElsewhere")
            ]
        return FreeBusyResult(periods=periods, errors=errors)

    def write_event(self, calendar_id: str, spec: EventSpec, *, provider_event_id: str | None = None) -> WrittenEvent:
        body: dict[str, Any] = {
            "subject": spec.summary,
            "body": {"contentType": "text", "content": spec.description},
            "start": {"dateTime": spec.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": spec.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "isAllDay": spec.all_day,
            "location": {"displayName": spec.location},
            "showAs": "free" if spec.transparent else "busy",
            "sensitivity": "private" if spec.private else "normal",
            "attendees": [
                {
                    "emailAddress": {"address": a.email, "name": a.name},
                    "type": "resource" if a.is_resource else "required",
                }
                for a in spec.attendees
            ],
        }
        if spec.reminder_minutes:
            # Outlook keeps one reminder per event: the first the integrator listed, as Cronofy does.
            body.update(isReminderOn=True, reminderMinutesBeforeStart=spec.reminder_minutes[0])
        if spec.native_conferencing:
            body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        if provider_event_id is None:
            # Graph recognises a retried create by its transactionId and returns the first event.
            body["transactionId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"event:{spec.key}"))
            item = self._call("POST", f"{self._user_path}/calendars/{quote(calendar_id)}/events", json=body)
        else:
            item = self._call("PATCH", f"{self._user_path}/events/{quote(provider_event_id)}", json=body)
        return WrittenEvent(
            provider_event_id=item["id"],
            ical_uid=item.get("iCalUId", ""),
            join_url=(item.get("onlineMeeting") or {}).get("joinUrl", "") or "",
        )

    def delete_event(self, calendar_id: str, provider_event_id: str) -> None:
        try:
            self._call("DELETE", f"{self._user_path}/events/{quote(provider_event_id)}", expect_body=False)
        except ProviderNotFound:
            return

    def watch(self, calendar_id: str, *, address: str, token: str, expires_at: datetime) -> WatchChannel:
        expires_at = min(expires_at, timezone.now() + timedelta(minutes=SUBSCRIPTION_MINUTES))
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "resource": f"{self._user_resource}/events",
            "clientState": token,
            "expirationDateTime": expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        response = self._call("POST", "subscriptions", json=body)
        return WatchChannel(
            channel_id=response["id"],
            resource_id=response["resource"],
            expires_at=datetime.fromisoformat(response["expirationDateTime"].replace("Z", "+00:00")),
            client_state=token,
        )

    def renew(self, channel: WatchChannel, *, expires_at: datetime) -> WatchChannel:
        expires_at = min(expires_at, timezone.now() + timedelta(minutes=SUBSCRIPTION_MINUTES))
        response = self._call(
            "PATCH",
            f"subscriptions/{channel.channel_id}",
            json={"expirationDateTime": expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z")},
        )
        return WatchChannel(
            channel_id=channel.channel_id,
            resource_id=channel.resource_id,
            expires_at=datetime.fromisoformat(response["expirationDateTime"].replace("Z", "+00:00")),
            client_state=channel.client_state,
        )

    def unwatch(self, channel: WatchChannel) -> None:
        try:
            self._call("DELETE", f"subscriptions/{channel.channel_id}", expect_body=False)
        except ProviderNotFound:
            return


def consented_application_permissions(*, client_id: str, client_secret: str, tenant_id: str) -> list[str]:
    """The application permissions the tenant's admin consented to, read from an app-only token.

    Raises ProviderAuthError when the tenant has not consented (or the app is unknown to it).
    """
    application = msal_application(client_id, client_secret, tenant_id)
    token = acquire_token(application, lambda: application.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE]))
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ProviderError("Microsoft returned an access token that is not a JWT.", retryable=False) from None
    return list(claims.get("roles") or [])


def tenant_verified_domains(*, client_id: str, client_secret: str, tenant_id: str) -> list[str]:
    """The tenant's verified domains (Graph `GET /organization`, `verifiedDomains`), with the
    application permissions its admin consented to (Organization.Read.All)."""
    application = msal_application(client_id, client_secret, tenant_id)
    token = acquire_token(application, lambda: application.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE]))
    session = ProviderSession()
    try:
        response = session.get(
            f"{endpoints.microsoft_graph_url()}/v1.0/organization", headers={"Authorization": f"Bearer {token}"}
        )
    except requests.RequestException as error:
        raise ProviderError(f"Microsoft Graph unreachable: {type(error).__name__}", retryable=True) from None
    if response.status_code >= 400:
        raise MicrosoftCalendarClient._translate(response)
    return [
        domain["name"]
        for organization in response.json().get("value", [])
        for domain in organization.get("verifiedDomains", [])
        if domain.get("name")
    ]
