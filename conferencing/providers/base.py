"""The one interface the conferencing app uses to reach a conferencing provider, and its own types.

Provider JSON stays inside the clients; what comes out is these values. The errors are the calendar
providers' (`calendars.providers.base`): retryable or not, a lost grant, a missing permission, a thing
that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from calendars.providers.base import ProviderPermissionError


@dataclass(frozen=True, slots=True)
class ConferencingUser:
    """A person at the provider: `user_id` is what the provider hosts meetings by (a Zoom user id, a
    Webex person id, an Entra object id, a Workspace address)."""

    user_id: str
    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    """The meeting an event needs. `key` is ours and stable (the event's uid): where a provider can
    find or create a meeting by it, a retried create never makes a second one."""

    key: str
    title: str
    start: datetime
    end: datetime
    time_zone: str = "UTC"
    agenda: str = ""


@dataclass(frozen=True, slots=True)
class ProviderMeeting:
    meeting_id: str
    join_url: str
    provider_description: str
    passcode: str = ""


class AccessPolicyMissing(ProviderPermissionError):
    """Teams: no application access policy lets this app create meetings for the user."""


class ConferencingClient(Protocol):
    provider_description: str

    def granted_scopes(self) -> list[str]:
        """What the provider says the grant covers (fetching a token if need be)."""

    def find_users(self, emails: list[str]) -> dict[str, ConferencingUser]:
        """The provider's users among these addresses, by lower-cased address."""

    def create_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting: ...

    def update_meeting(self, host: ConferencingUser, meeting_id: str, spec: MeetingSpec) -> ProviderMeeting | None:
        """Move or rename the meeting; None when the provider's meetings have no time (Meet)."""

    def delete_meeting(self, host: ConferencingUser, meeting_id: str) -> None:
        """Delete (or, where meetings cannot be deleted, close) the meeting; gone already is fine."""

    def find_meeting(self, host: ConferencingUser, spec: MeetingSpec) -> ProviderMeeting | None:
        """The meeting made for `spec.key` by an attempt whose outcome is unknown, where the provider
        can tell; None otherwise."""
