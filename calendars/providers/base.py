"""The one interface the rest of the product uses to reach a calendar provider, and its own types.

Provider JSON stays inside the clients: what comes out is these values. Event details (titles,
descriptions, locations, attendees) only come out of a client built with `include_details=True`,
which only Read-Write profiles with the integrator's read_events grant ever ask for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.errors import UpstreamError


class BusyStatus(StrEnum):
    BUSY = "busy"
    TENTATIVE = "tentative"
    FREE = "free"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ProviderCalendar:
    provider_id: str
    name: str
    is_primary: bool
    is_readonly: bool
    time_zone: str
    integrated_conferencing: bool


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str = ""
    response: str = "needs_action"  # needs_action, accepted, tentative, declined
    is_resource: bool = False


@dataclass(frozen=True, slots=True)
class EventDetails:
    summary: str
    description: str
    location: str
    attendees: tuple[Attendee, ...]
    organizer_email: str = ""
    join_url: str = ""


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One occurrence as it affects availability; `details` only when the client was asked for them."""

    provider_event_id: str
    start: datetime
    end: datetime
    all_day: bool
    status: BusyStatus
    series_id: str | None = None
    details: EventDetails | None = None


@dataclass(frozen=True, slots=True)
class BusyChanges:
    """The result of one sync round: what changed and the cursor to continue from.

    A full round (no cursor given) lists everything in the window; an incremental round lists what
    changed since the cursor, with removals.
    """

    events: tuple[ProviderEvent, ...]
    removed_ids: tuple[str, ...]
    cursor: str
    full: bool


@dataclass(frozen=True, slots=True)
class BusyPeriod:
    start: datetime
    end: datetime
    status: BusyStatus


@dataclass(frozen=True, slots=True)
class FreeBusyResult:
    periods: dict[str, list[BusyPeriod]]
    errors: dict[str, str] = field(default_factory=dict)  # calendar or mailbox -> the provider's reason


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event to write into the organizer's calendar. `key` is ours and stable across retries, so
    a retried create never makes a second event."""

    key: str
    summary: str
    start: datetime
    end: datetime
    time_zone: str = "UTC"
    all_day: bool = False
    description: str = ""
    location: str = ""
    attendees: tuple[Attendee, ...] = ()
    native_conferencing: bool = False
    transparent: bool = False
    private: bool = False
    # Minutes before the start at which people are reminded, in the integrator's order; empty: the
    # calendar's own default reminders.
    reminder_minutes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    provider_event_id: str
    ical_uid: str
    join_url: str = ""


@dataclass(frozen=True, slots=True)
class WatchChannel:
    channel_id: str
    resource_id: str
    expires_at: datetime
    client_state: str = ""


class ProviderError(UpstreamError):
    """A provider call failed. `retryable` says whether trying again later can help."""

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.status = status


class ProviderAuthError(ProviderError):
    """The grant is gone (revoked, expired, consent withdrawn): the user or admin has to relink."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=False, status=status)


class ProviderPermissionError(ProviderError):
    """The grant does not cover this operation (a scope is missing)."""

    def __init__(self, message: str, *, status: int | None = 403) -> None:
        super().__init__(message, retryable=False, status=status)


class ProviderNotFound(ProviderError):
    def __init__(self, message: str, *, status: int | None = 404) -> None:
        super().__init__(message, retryable=False, status=status)


class ProviderUnknownUser(ProviderNotFound):
    """The provider has no such user in the customer's domain or tenant: an organization's grant can act
    for nobody of that address (Google's token endpoint: `invalid_grant` "Invalid email or User ID")."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=None)


class SyncCursorExpired(ProviderError):
    """The provider no longer knows the sync token or delta link: sync everything again."""

    def __init__(self, message: str = "The sync cursor expired; a full sync is required.") -> None:
        super().__init__(message, retryable=False, status=410)


class CalendarProvider(Protocol):
    def list_calendars(self) -> list[ProviderCalendar]: ...

    def create_calendar(self, name: str) -> ProviderCalendar: ...

    def busy_changes(self, calendar_id: str, *, cursor: str | None, start: datetime, end: datetime) -> BusyChanges: ...

    def free_busy(self, calendar_ids: list[str], *, start: datetime, end: datetime) -> FreeBusyResult: ...

    def write_event(
        self, calendar_id: str, spec: EventSpec, *, provider_event_id: str | None = None
    ) -> WrittenEvent: ...

    def delete_event(self, calendar_id: str, provider_event_id: str) -> None: ...

    def watch(self, calendar_id: str, *, address: str, token: str, expires_at: datetime) -> WatchChannel: ...

    def unwatch(self, channel: WatchChannel) -> None: ...
