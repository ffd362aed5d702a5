"""Google Calendar through google-api-python-client (static discovery) and google-auth, for user
grants and for service accounts with domain-wide delegation."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import google.auth.exceptions
import httplib2
import requests
from django.conf import settings
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

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
    ProviderUnknownUser,
    SyncCursorExpired,
    WatchChannel,
    WrittenEvent,
)
from calendars.providers.http import ProviderSession
from calendars.providers.retry import retry_after_seconds, with_retries

RESPONSES = {"needsAction": "needs_action", "accepted": "accepted", "tentative": "tentative", "declined": "declined"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


# Google's token endpoint, asked for a service account to act for an address no user of the Workspace has.
UNKNOWN_SUBJECT = "Invalid email or User ID"


def service_account_credentials(
    key: Mapping[str, Any], *, scopes: Iterable[str] | None, subject: str
) -> service_account.Credentials:
    """Credentials of a service account acting for `subject` with domain-wide delegation, against the
    configured token endpoint. Loading a key checks the RSA key (about 10 ms for 2048 bits), so each
    key is loaded once per process and every client gets a copy with its own scopes and subject."""
    info = json.dumps({**key, "token_uri": endpoints.google_token_url()}, sort_keys=True)
    return _loaded_service_account(info).with_scopes(list(scopes) if scopes else None).with_subject(subject)


@functools.lru_cache(maxsize=64)
def _loaded_service_account(info: str) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(json.loads(info))


def _refusal(error: google.auth.exceptions.RefreshError) -> tuple[str, str]:
    """Google's `error` and `error_description` of a refused token request (google-auth keeps the body)."""
    body = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    return str(body.get("error", "")), str(body.get("error_description", ""))


def _unknown_subject(error: google.auth.exceptions.RefreshError) -> bool:
    code, description = _refusal(error)
    return code == "invalid_grant" and UNKNOWN_SUBJECT.lower() in description.lower()


def event_id_for(key: str) -> str:
    """A Google event id (base32hex, a-v and 0-9) derived from our key: a retried insert reuses it."""
    digest = hashlib.sha256(key.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def _translate(error: HttpError) -> ProviderError:
    status = error.resp.status
    retry_after = retry_after_seconds(error.resp.get("retry-after"))
    reason = ""
    try:
        details = json.loads(error.content or b"{}").get("error", {})
        reason = (details.get("errors") or [{}])[0].get("reason", "")
    except (ValueError, AttributeError):
        details = {}
    message = f"Google Calendar answered {status} {reason}".strip()
    if status == 401:
        return ProviderAuthError(message, status=status)
    if status == 403 and reason in RATE_REASONS:
        return ProviderError(message, retryable=True, retry_after=retry_after, status=status)
    if status == 403:
        return ProviderPermissionError(message, status=status)
    if status == 404:
        return ProviderNotFound(message, status=status)
    if status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo", ""):
        return SyncCursorExpired(message)
    if status == 410:
        return ProviderNotFound(message, status=status)  # the event was deleted already
    if status in (408, 429, 500, 502, 503, 504):
        return ProviderError(message, retryable=True, retry_after=retry_after, status=status)
    return ProviderError(message, retryable=False, status=status)


class _NoCredentials(httplib2.Http):
    """The http the shared API resources are built with: it refuses to send anything, so a request
    executed without an account's own http fails here instead of going out unauthenticated."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Google API requests are executed with the account's own http (http=...).")


@functools.lru_cache(maxsize=16)
def google_api_resource(api: str, version: str, api_endpoint: str, resource: str) -> Any:
    """One resource of a Google API (`events` of calendar v3, `spaces` of meet v2), built once per
    process and API address. google-api-python-client builds every method of a resource, with its
    docstring, each time one is asked for: building the Calendar service took about 10 ms and
    `events()` another 9, for every client and every call (a fifth of a task worker's time under
    load). Requests built from it carry no credentials: execute each with the account's own http
    (`request.execute(http=...)`)."""
    service = build(
        api,
        version,
        http=_NoCredentials(),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": api_endpoint},
    )
    return getattr(service, resource)()


@dataclass(frozen=True)
class _CalendarApi:
    calendar_list: Any
    calendars: Any
    events: Any
    freebusy: Any
    channels: Any


@functools.lru_cache(maxsize=4)
def _calendar_api(api_endpoint: str) -> _CalendarApi:
    def resource(name: str) -> Any:
        return google_api_resource("calendar", "v3", api_endpoint, name)

    return _CalendarApi(
        calendar_list=resource("calendarList"),
        calendars=resource("calendars"),
        events=resource("events"),
        freebusy=resource("freebusy"),
        channels=resource("channels"),
    )


class GoogleCalendarClient:
    """A Google calendar account, reached with a user's own grant or as the organization's service
    account acting for one of its users.

    `credentials` is what we store (encrypted) for the grant; when google-auth refreshes the access
    token, `on_credentials_changed` receives the new value to store again.
    """

    def __init__(
        self,
        credentials: dict[str, Any],
        *,
        subject: str | None = None,
        scopes: list[str] | None = None,
        on_credentials_changed: Callable[[dict[str, Any]], None] | None = None,
        include_details: bool = False,
    ) -> None:
        self._stored = dict(credentials)
        self._on_changed = on_credentials_changed
        self.include_details = include_details
        self._subject = subject or ""
        self._auth: service_account.Credentials | user_credentials.Credentials
        if credentials.get("kind") == "google_service_account":
            if not subject:
                raise ValueError("A service account acts for a user: give the subject's email address.")
            self._auth = service_account_credentials(
                credentials["key"], scopes=scopes or credentials.get("scopes"), subject=subject
            )
        else:
            expiry = credentials.get("expires_at")
            self._auth = user_credentials.Credentials(
                token=credentials.get("access_token"),
                refresh_token=credentials.get("refresh_token"),
                token_uri=endpoints.google_token_url(),
                client_id=settings.GOOGLE_CLIENT_ID,
                client_secret=settings.GOOGLE_CLIENT_SECRET,
                scopes=credentials.get("scopes"),
                # google-auth compares expiry as naive UTC
                expiry=datetime.fromisoformat(expiry).astimezone(UTC).replace(tzinfo=None) if expiry else None,
            )
        # The account's own http (its credentials, refreshed as needed) carries every request; the API's
        # resources are the process's, shared by every client (see `_calendar_api`).
        self._http = AuthorizedHttp(self._auth, http=httplib2.Http(timeout=settings.PROVIDER_HTTP_TIMEOUT))
        self._api = _calendar_api(endpoints.google_calendar_api_url())

    #
    # Plumbing
    #

    def _execute(self, make_request: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            try:
                return make_request().execute(http=self._http, num_retries=0)
            except HttpError as error:
                raise _translate(error) from None
            except google.auth.exceptions.RefreshError as error:
                if getattr(error, "retryable", False):
                    raise ProviderError("Google's token endpoint is unavailable.", retryable=True) from None
                if self._stored.get("kind") == "google_service_account" and _unknown_subject(error):
                    # The organization's grant is fine; this address is simply no user of the Workspace.
                    raise ProviderUnknownUser(f"Google Workspace has no user {self._subject}.") from None
                raise ProviderAuthError("Google refused to refresh the grant (revoked or expired).") from None
            except (httplib2.HttpLib2Error, OSError) as error:
                raise ProviderError(f"Google Calendar unreachable: {type(error).__name__}", retryable=True) from None

        try:
            return with_retries(attempt)
        finally:
            self._remember_token()

    def _remember_token(self) -> None:
        auth = self._auth
        if not isinstance(auth, user_credentials.Credentials) or self._on_changed is None:
            return  # a service account's tokens are minted again from its key, never stored
        if auth.token and auth.token != self._stored.get("access_token"):
            self._stored["access_token"] = auth.token
            if auth.expiry:
                self._stored["expires_at"] = auth.expiry.replace(tzinfo=UTC).isoformat()
            if auth.refresh_token:
                self._stored["refresh_token"] = auth.refresh_token
            self._on_changed(dict(self._stored))

    #
    # The provider interface
    #

    def list_calendars(self) -> list[ProviderCalendar]:
        calendars: list[ProviderCalendar] = []
        page: str | None = None
        while True:

            def calendars_page(page: str | None = page) -> Any:
                return self._api.calendar_list.list(pageToken=page, maxResults=250)

            response = self._execute(calendars_page)
            for item in response.get("items", []):
                solutions = (item.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes", [])
                calendars.append(
                    ProviderCalendar(
                        provider_id=item["id"],
                        name=item.get("summaryOverride") or item.get("summary", item["id"]),
                        is_primary=bool(item.get("primary")),
                        is_readonly=item.get("accessRole") not in ("owner", "writer"),
                        time_zone=item.get("timeZone", "UTC"),
                        integrated_conferencing="hangoutsMeet" in solutions,
                    )
                )
            page = response.get("nextPageToken")
            if not page:
                return calendars

    def create_calendar(self, name: str) -> ProviderCalendar:
        item = self._execute(lambda: self._api.calendars.insert(body={"summary": name}))
        return ProviderCalendar(
            provider_id=item["id"],
            name=item.get("summary", name),
            is_primary=False,
            is_readonly=False,
            time_zone=item.get("timeZone", "UTC"),
            integrated_conferencing=True,
        )

    def busy_changes(self, calendar_id: str, *, cursor: str | None, start: datetime, end: datetime) -> BusyChanges:
        query: dict[str, Any] = {"calendarId": calendar_id, "singleEvents": True, "maxResults": 2500}
        if cursor:
            query["syncToken"] = cursor
        else:
            query.update(timeMin=start.isoformat(), timeMax=end.isoformat())
        events: list[ProviderEvent] = []
        removed: list[str] = []
        page: str | None = None
        while True:

            def events_page(page: str | None = page) -> Any:
                return self._api.events.list(**query, pageToken=page)

            response = self._execute(events_page)
            zone = ZoneInfo(response.get("timeZone") or "UTC")
            for item in response.get("items", []):
                if item.get("status") == "cancelled":
                    removed.append(item["id"])
                else:
                    events.append(self._event(item, zone))
            page = response.get("nextPageToken")
            if not page:
                return BusyChanges(
                    events=tuple(events),
                    removed_ids=tuple(removed),
                    cursor=response["nextSyncToken"],
                    full=cursor is None,
                )

    def _event(self, item: dict[str, Any], zone: ZoneInfo) -> ProviderEvent:
        start, all_day = _moment(item["start"], zone)
        end, _ = _moment(item["end"], zone)
        own: dict[str, Any] = next((a for a in item.get("attendees", []) if a.get("self")), {})
        if item.get("transparency") == "transparent" or own.get("responseStatus") == "declined":
            status = BusyStatus.FREE
        elif item.get("status") == "tentative" or own.get("responseStatus") == "tentative":
            status = BusyStatus.TENTATIVE
        else:
            status = BusyStatus.BUSY
        details = None
        if self.include_details:
            details = EventDetails(
                summary=item.get("summary", ""),
                description=item.get("description", ""),
                location=item.get("location", ""),
                organizer_email=(item.get("organizer") or {}).get("email", ""),
                join_url=item.get("hangoutLink", ""),
                attendees=tuple(
                    Attendee(
                        email=a.get("email", ""),
                        name=a.get("displayName", ""),
                        response=RESPONSES.get(a.get("responseStatus", ""), "needs_action"),
                        is_resource=bool(a.get("resource")),
                    )
                    for a in item.get("attendees", [])
                    if a.get("email")
                ),
            )
        return ProviderEvent(
            provider_event_id=item["id"],
            start=start,
            end=end,
            all_day=all_day,
            status=status,
            series_id=item.get("recurringEventId"),
            details=details,
        )

    def free_busy(self, calendar_ids: list[str], *, start: datetime, end: datetime) -> FreeBusyResult:
        body = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "items": [{"id": i} for i in calendar_ids]}
        response = self._execute(lambda: self._api.freebusy.query(body=body))
        periods: dict[str, list[BusyPeriod]] = {}
        errors: dict[str, str] = {}
        for calendar_id, found in response.get("calendars", {}).items():
            if found.get("errors"):
                errors[calendar_id] = found["errors"][0].get("reason", "unknown")
                continue
            periods[calendar_id] = [
                BusyPeriod(
                    start=datetime.fromisoformat(slot["start"]),
                    end=datetime.fromisoformat(slot["end"]),
                    status=BusyStatus.BUSY,
                )
                for slot in found.get("busy", [])
            ]
        return FreeBusyResult(periods=periods, errors=errors)

    def write_event(self, calendar_id: str, spec: EventSpec, *, provider_event_id: str | None = None) -> WrittenEvent:
        body = _event_body(spec)
        options = {"calendarId": calendar_id, "sendUpdates": "all", "conferenceDataVersion": 1}
        if provider_event_id is None:
            body["id"] = event_id_for(spec.key)
            try:
                item = self._execute(lambda: self._api.events.insert(**options, body=body))
            except ProviderError as error:
                if error.status != 409:
                    raise
                # An earlier attempt created it; make it match this request instead.
                item = self._execute(lambda: self._api.events.patch(**options, eventId=body["id"], body=body))
        else:
            item = self._execute(lambda: self._api.events.patch(**options, eventId=provider_event_id, body=body))
        return WrittenEvent(
            provider_event_id=item["id"], ical_uid=item.get("iCalUID", ""), join_url=item.get("hangoutLink", "")
        )

    def delete_event(self, calendar_id: str, provider_event_id: str) -> None:
        try:
            self._execute(
                lambda: self._api.events.delete(calendarId=calendar_id, eventId=provider_event_id, sendUpdates="all")
            )
        except ProviderNotFound:
            return  # already gone: deleting is idempotent

    def watch(self, calendar_id: str, *, address: str, token: str, expires_at: datetime) -> WatchChannel:
        body = {
            "id": str(uuid.uuid4()),
            "type": "web_hook",
            "address": address,
            "token": token,
            "expiration": int(expires_at.timestamp() * 1000),
        }
        response = self._execute(lambda: self._api.events.watch(calendarId=calendar_id, body=body))
        return WatchChannel(
            channel_id=response["id"],
            resource_id=response["resourceId"],
            expires_at=datetime.fromtimestamp(int(response["expiration"]) / 1000, tz=UTC),
        )

    def unwatch(self, channel: WatchChannel) -> None:
        try:
            self._execute(
                lambda: self._api.channels.stop(body={"id": channel.channel_id, "resourceId": channel.resource_id})
            )
        except ProviderNotFound:
            return


def _moment(value: dict[str, str], zone: ZoneInfo) -> tuple[datetime, bool]:
    if "date" in value:
        day = date.fromisoformat(value["date"])
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC), True
    return datetime.fromisoformat(value["dateTime"]).astimezone(UTC), False


def _event_body(spec: EventSpec) -> dict[str, Any]:
    if spec.all_day:
        start: dict[str, str] = {"date": spec.start.date().isoformat()}
        end: dict[str, str] = {"date": spec.end.date().isoformat()}
    else:
        zone = ZoneInfo(spec.time_zone)
        start = {"dateTime": spec.start.astimezone(zone).isoformat(), "timeZone": spec.time_zone}
        end = {"dateTime": spec.end.astimezone(zone).isoformat(), "timeZone": spec.time_zone}
    body: dict[str, Any] = {
        "summary": spec.summary,
        "description": spec.description,
        "location": spec.location,
        "start": start,
        "end": end,
        "transparency": "transparent" if spec.transparent else "opaque",
        "visibility": "private" if spec.private else "default",
        # Without reminders of its own the event takes the calendar's defaults (also after an update
        # that removed them).
        "reminders": {
            "useDefault": not spec.reminder_minutes,
            **(
                {"overrides": [{"method": "popup", "minutes": minutes} for minutes in spec.reminder_minutes]}
                if spec.reminder_minutes
                else {}
            ),
        },
        "attendees": [
            {
                "email": a.email,
                **({"displayName": a.name} if a.name else {}),
                **({"resource": True} if a.is_resource else {}),
            }
            for a in spec.attendees
        ],
    }
    if spec.native_conferencing:
        body["conferenceData"] = {
            "createRequest": {
                "requestId": event_id_for(f"{spec.key}:meet"),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


class DelegationRefused(Exception):
    """Google refused the service account for a reason other than scopes; `reason` says which."""

    def __init__(self, reason: str, *, unknown_subject: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unknown_subject = unknown_subject


def delegation_missing_scopes(key: dict[str, Any], *, subject: str, scopes: list[str]) -> list[str]:
    """Which of `scopes` the Workspace admin has not delegated to this service account.

    Google refuses the whole token request when one scope is missing (`unauthorized_client`), so on a
    refusal each scope is tried alone to name the missing ones. A refusal that is not about scopes is
    raised as DelegationRefused: `invalid_grant` "Invalid email or User ID" when the subject is no user
    of the Workspace, another `invalid_grant` when the key itself is refused (deleted, or its signature
    does not verify): trying scopes alone would wrongly blame every one of them. Raises ProviderError
    when Google cannot be asked at all.
    """
    request = Request(session=ProviderSession())

    def granted(wanted: list[str]) -> bool:
        credentials = service_account_credentials(key, scopes=wanted, subject=subject)
        try:
            credentials.refresh(request)
        except google.auth.exceptions.RefreshError as error:
            if getattr(error, "retryable", False):
                raise ProviderError("Google's token endpoint is unavailable.", retryable=True) from None
            code, description = _refusal(error)
            if code == "invalid_grant":
                raise DelegationRefused(description or code, unknown_subject=_unknown_subject(error)) from None
            return False
        except google.auth.exceptions.TransportError:
            raise ProviderError("Google's token endpoint cannot be reached.", retryable=True) from None
        return True

    if granted(scopes):
        return []
    return [scope for scope in scopes if not granted([scope])]


def revoke_user_grant(credentials: dict[str, Any]) -> None:
    """Revoke a person's own grant at Google's revoke endpoint (the refresh token, which takes its
    access tokens with it). A token Google no longer knows is as good as revoked. Raises ProviderError
    (retryable) when Google cannot be asked."""
    token = credentials.get("refresh_token") or credentials.get("access_token")
    if not token:
        return
    try:
        response = ProviderSession().post(
            endpoints.url("GOOGLE_REVOKE_URL"),
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except requests.RequestException as error:
        raise ProviderError(f"Google's revoke endpoint unreachable: {type(error).__name__}", retryable=True) from None
    if response.status_code == 200 or (response.status_code == 400 and "invalid_token" in response.text):
        return
    raise ProviderError(
        f"Google's revoke endpoint answered {response.status_code}",
        retryable=response.status_code in (408, 429) or response.status_code >= 500,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        status=response.status_code,
    )


DOMAIN_READ_SCOPE = "https://www.googleapis.com/auth/admin.directory.domain.readonly"
USER_READ_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"


@dataclass(frozen=True)
class WorkspaceCustomer:
    """What the Admin SDK says of the Workspace a service account acts in."""

    customer_id: str  # Google's customer id (C0…): the tenant, whatever service account acts in it
    domains: list[str]


def workspace_customer(key: dict[str, Any], *, subject: str) -> WorkspaceCustomer:
    """The Workspace customer's id (from the acting user's own record, `users.get`, whose `customerId`
    names the customer) and its verified domains (`domains.list`), read as `subject`, an administrator
    the service account acts for. Raises ProviderPermissionError when the subject is no administrator
    or the scopes are not delegated, ProviderError when Google cannot be asked."""
    credentials = service_account_credentials(key, scopes=[USER_READ_SCOPE, DOMAIN_READ_SCOPE], subject=subject)
    http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=settings.PROVIDER_HTTP_TIMEOUT))
    directory = build(
        "admin",
        "directory_v1",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoints.url("GOOGLE_ADMIN_API_URL")},
    )
    try:
        user = directory.users().get(userKey=subject).execute(num_retries=0)
        response = directory.domains().list(customer="my_customer").execute(num_retries=0)
    except HttpError as error:
        raise _translate(error) from None
    except google.auth.exceptions.RefreshError:
        raise ProviderPermissionError("Google refused to act for this user on the Admin SDK.") from None
    except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error, OSError) as error:
        raise ProviderError(f"Google's Admin SDK unreachable: {type(error).__name__}", retryable=True) from None
    return WorkspaceCustomer(
        customer_id=str(user.get("customerId", "")),
        domains=[item["domainName"] for item in response.get("domains", []) if item.get("verified", True)],
    )
