"""What a directory provider reports, in our own types, and the one interface every directory client
offers. Provider JSON stays inside the clients; errors are the calendar providers' (`ProviderError`
and its kinds), so retries and backoff work the same way for both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class PersonStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # Google suspended, Entra sign-in blocked, SuccessFactors inactive
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    """One person as the directory lists them. `unit` is what the admin's unit mapping reads: Google's
    orgUnitPath, Microsoft's and SuccessFactors' department."""

    external_id: str
    email: str
    name: str
    status: PersonStatus
    unit: str = ""
    manager_id: str = ""


@dataclass(frozen=True, slots=True)
class DirectoryRoom:
    external_id: str
    email: str
    name: str
    capacity: int | None = None
    building: str = ""
    floor: str = ""


@dataclass
class PeopleListing:
    """The people of one round, page by page as the provider returned them.

    A full listing names everyone, so somebody known but absent has left. An incremental one names
    only what changed since `cursor` was handed out (Graph's delta link, SuccessFactors' last-modified
    moment); the new `cursor` is where the next one continues.
    """

    pages: list[list[DirectoryPerson]] = field(default_factory=list)
    full: bool = True
    cursor: str = ""

    @property
    def count(self) -> int:
        return sum(len(page) for page in self.pages)


# Told after each page is read, with the number of people read so far (a round's progress).
ProgressCallback = Callable[[int], None]


class DirectoryClient(Protocol):
    def verified_domains(self) -> list[str]:
        """The domains the provider says the organization has proven (empty when it says nothing)."""

    def people(self, *, cursor: str | None, progress: ProgressCallback | None = None) -> PeopleListing:
        """Everyone (no cursor), or what changed since the cursor. Raises SyncCursorExpired when the
        provider no longer knows the cursor."""

    def rooms(self) -> list[DirectoryRoom]:
        """Meeting rooms and other bookable resources."""

    def missing_permissions(self) -> list[str]:
        """The permissions this connection needs that the provider has not granted (empty when all are)."""
