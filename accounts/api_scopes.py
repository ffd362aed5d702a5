"""The scopes integrators ask for (Cronofy's), what each one implies, and what a person is told.

These are the integrator's scopes on our API; the provider scopes (Google's, Microsoft's) live in
calendars/scopes.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.choices import AccessMode

READ_ACCOUNT = "read_account"
LIST_CALENDARS = "list_calendars"
READ_EVENTS = "read_events"
CREATE_EVENT = "create_event"
DELETE_EVENT = "delete_event"
READ_FREE_BUSY = "read_free_busy"
CREATE_CALENDAR = "create_calendar"
CHANGE_PARTICIPATION_STATUS = "change_participation_status"

# The scope that lets the person choose their calendar access mode.
FREE_BUSY_WRITE = "free_busy_write"
# With free_busy_write the one who consents (a person, or an admin for Enterprise Connect) chooses
# between these modes; No Access needs no provider consent, so there is nothing to choose.
FREE_BUSY_WRITE_MODES = (AccessMode.READ_WRITE, AccessMode.FREE_BUSY)

BASE_SCOPES: dict[str, str] = {
    READ_ACCOUNT: "see your name, email address and time zone",
    LIST_CALENDARS: "see the list of your calendars",
    READ_FREE_BUSY: "see when you are busy",
    READ_EVENTS: "see the events in your calendars",
    CREATE_EVENT: "create and update the events it schedules for you",
    DELETE_EVENT: "delete the events it scheduled for you",
    CREATE_CALENDAR: "create new calendars",
    CHANGE_PARTICIPATION_STATUS: "accept or decline invitations for you",
}

# Cronofy's simplified scopes stand for sets of the base ones.
SIMPLIFIED_SCOPES: dict[str, frozenset[str]] = {
    "read_only": frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_EVENTS, READ_FREE_BUSY}),
    # Partner events only: the application fully controls the events it creates, and reads none of
    # the person's own.
    "write_only": frozenset({READ_ACCOUNT, LIST_CALENDARS, CREATE_EVENT, DELETE_EVENT}),
    "read_write": frozenset(
        {
            READ_ACCOUNT,
            LIST_CALENDARS,
            READ_EVENTS,
            READ_FREE_BUSY,
            CREATE_EVENT,
            DELETE_EVENT,
            CREATE_CALENDAR,
            CHANGE_PARTICIPATION_STATUS,
        }
    ),
    "free_busy": frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_FREE_BUSY}),
    # Availability plus the events the application manages: what a Free/Busy connection can honour.
    FREE_BUSY_WRITE: frozenset({READ_ACCOUNT, LIST_CALENDARS, READ_FREE_BUSY, CREATE_EVENT, DELETE_EVENT}),
}

IMPLIES: dict[str, frozenset[str]] = {READ_EVENTS: frozenset({READ_FREE_BUSY})}

ALL_SCOPES = frozenset(BASE_SCOPES) | frozenset(SIMPLIFIED_SCOPES)


class UnknownScope(ValueError):
    def __init__(self, scope: str) -> None:
        super().__init__(f"Unknown scope: {scope}")
        self.scope = scope


def parse(scope: str) -> list[str]:
    """Requested scopes as given (space-separated, order kept, duplicates dropped); unknown ones refused."""
    requested: list[str] = []
    for item in scope.split():
        if item not in ALL_SCOPES:
            raise UnknownScope(item)
        if item not in requested:
            requested.append(item)
    return requested


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The base scopes a set of requested scopes amounts to, implications included.

    The simplified scopes are kept as well, so `free_busy_write` still says the person was offered the
    access-mode choice.
    """
    granted: set[str] = set()
    for scope in scopes:
        granted.add(scope)
        granted |= SIMPLIFIED_SCOPES.get(scope, frozenset())
    for scope in list(granted):
        granted |= IMPLIES.get(scope, frozenset())
    return frozenset(granted)


def describe(scopes: Iterable[str]) -> list[str]:
    """Plain-language lines for the base scopes a request amounts to, in a stable order."""
    granted = expand(scopes)
    return [line for scope, line in BASE_SCOPES.items() if scope in granted]


# Enterprise Connect: what a service account itself may do (never read a calendar: it asks for
# delegated access to people, and lists resources). `unrestricted_access` includes `manage`.
SERVICE_ACCOUNT_ACCOUNTS_MANAGE = "service_account/accounts/manage"
SERVICE_ACCOUNT_ACCOUNTS_UNRESTRICTED = "service_account/accounts/unrestricted_access"
SERVICE_ACCOUNT_RESOURCES_MANAGE = "service_account/resources/manage"
SERVICE_ACCOUNT_RESOURCES_UNRESTRICTED = "service_account/resources/unrestricted_access"

SERVICE_ACCOUNT_SCOPES: dict[str, str] = {
    SERVICE_ACCOUNT_ACCOUNTS_MANAGE: "ask for access to your people's calendars, within the limits you set",
    SERVICE_ACCOUNT_ACCOUNTS_UNRESTRICTED: "ask for access to your people's calendars, including extended permissions",
    SERVICE_ACCOUNT_RESOURCES_MANAGE: "see your organization's meeting rooms and resources",
    SERVICE_ACCOUNT_RESOURCES_UNRESTRICTED: "see and book your organization's meeting rooms and resources",
}
_SERVICE_ACCOUNT_INCLUDES = {
    SERVICE_ACCOUNT_ACCOUNTS_UNRESTRICTED: SERVICE_ACCOUNT_ACCOUNTS_MANAGE,
    SERVICE_ACCOUNT_RESOURCES_UNRESTRICTED: SERVICE_ACCOUNT_RESOURCES_MANAGE,
}

# What an admin may let an integrator ask for each person (Cronofy's simplified scopes).
DELEGABLE_SCOPES = tuple(SIMPLIFIED_SCOPES)


def parse_service_account(scope: str) -> list[str]:
    """A service account's requested scopes (order kept, duplicates dropped); any other scope refused."""
    requested: list[str] = []
    for item in scope.split():
        if item not in SERVICE_ACCOUNT_SCOPES:
            raise UnknownScope(item)
        if item not in requested:
            requested.append(item)
    return requested


def service_account_allows(held: Iterable[str], scope: str) -> bool:
    """Whether a service account holding `held` may do what `scope` names (unrestricted includes manage)."""
    held = set(held)
    return scope in held or any(
        wider in held for wider, narrower in _SERVICE_ACCOUNT_INCLUDES.items() if narrower == scope
    )


def parse_delegated(scope: str) -> list[str]:
    """A delegated scope: one or more of Cronofy's simplified scopes."""
    requested = parse(scope)
    for item in requested:
        if item not in SIMPLIFIED_SCOPES:
            raise UnknownScope(item)
    return requested
