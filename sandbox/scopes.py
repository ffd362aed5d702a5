"""Which scopes reach which operation, as the providers decide it.

Google's rules are read from the Calendar v3 discovery document that ships inside
google-api-python-client, so the sandbox enforces exactly what Google publishes. Microsoft's come
from the Graph permission reference pages, written out here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import googleapiclient

GOOGLE_PREFIX = "https://www.googleapis.com/auth/"

# Scopes that see event details; calendar.events.freebusy and calendar.freebusy see times only.
GOOGLE_DETAIL_SCOPES = {
    f"{GOOGLE_PREFIX}{name}"
    for name in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
        "calendar.events.owned",
        "calendar.events.owned.readonly",
        "calendar.app.created",
    )
}
GOOGLE_IDENTITY_SCOPES = {
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
}

GOOGLE_IDENTITY_DESCRIPTIONS = {
    "openid": "Associate you with your personal info on Google",
    "email": "See your primary Google Account email address",
    "profile": "See your personal info, including any personal info you've made publicly available",
}


@functools.cache
def _discovery(name: str) -> dict:
    documents = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    return json.loads((documents / name).read_text())


def _method_scopes(resources: dict, into: dict[str, frozenset[str]]) -> None:
    for resource in resources.values():
        for method in resource.get("methods", {}).values():
            into[method["id"]] = frozenset(method.get("scopes", []))
        _method_scopes(resource.get("resources", {}), into)


@functools.cache
def google_method_scopes() -> dict[str, frozenset[str]]:
    """Method id (e.g. "calendar.events.list", "directory.users.list") -> the scopes that may call it,
    from the Calendar v3 and Admin SDK Directory v1 discovery documents."""
    scopes: dict[str, frozenset[str]] = {}
    for name in ("calendar.v3.json", "admin.directory_v1.json"):
        _method_scopes(_discovery(name)["resources"], scopes)
    return scopes


@functools.cache
def meet_method_scopes() -> dict[str, frozenset[str]]:
    """Meet v2 method id (e.g. "meet.spaces.create") -> the scopes that may call it."""
    scopes: dict[str, frozenset[str]] = {}
    for resource in _discovery("meet.v2.json")["resources"].values():
        for method in resource.get("methods", {}).values():
            scopes[method["id"]] = frozenset(method.get("scopes", []))
    return scopes


def meet_allows(method_id: str, granted: list[str]) -> bool:
    return bool(meet_method_scopes().get(method_id, frozenset()) & set(granted))


def google_scope_description(scope: str) -> str:
    if scope in GOOGLE_IDENTITY_DESCRIPTIONS:
        return GOOGLE_IDENTITY_DESCRIPTIONS[scope]
    for name in ("calendar.v3.json", "admin.directory_v1.json", "meet.v2.json"):
        described = _discovery(name).get("auth", {}).get("oauth2", {}).get("scopes", {}).get(scope)
        if described:
            return described["description"]
    return scope


def google_allows(method_id: str, granted: list[str]) -> bool:
    return bool(google_method_scopes().get(method_id, frozenset()) & set(granted))


def google_admin_allows(method_id: str, granted: list[str]) -> bool:
    """The Directory API: exactly the scopes its discovery document names for the method."""
    return google_allows(method_id, granted)


def google_sees_details(granted: list[str]) -> bool:
    return bool(GOOGLE_DETAIL_SCOPES & set(granted))


# Microsoft Graph's permissions as Entra ID names them (learn.microsoft.com/graph/permissions-reference).
# Delegated permissions are what a person consents to; application permissions (app roles) are what an
# admin consents to for the whole tenant and what an app-only token's `roles` claim carries. There is
# no `Calendars.ReadWrite.All`: the application form of Calendars.ReadWrite keeps its name.
ENTRA_DELEGATED_PERMISSIONS = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "User.Read",
        "User.ReadBasic.All",
        "User.Read.All",
        "Calendars.ReadBasic",
        "Calendars.Read",
        "Calendars.Read.Shared",
        "Calendars.ReadWrite",
        "Calendars.ReadWrite.Shared",
        "Organization.Read.All",
        "Place.Read.All",
        "GroupMember.Read.All",
        "OnlineMeetings.Read",
        "OnlineMeetings.ReadWrite",
    }
)
ENTRA_APPLICATION_PERMISSIONS = frozenset(
    {
        "Calendars.ReadBasic.All",
        "Calendars.Read",
        "Calendars.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "Organization.Read.All",
        "Place.Read.All",
        "GroupMember.Read.All",
        "OnlineMeetings.Read.All",
        "OnlineMeetings.ReadWrite.All",
    }
)
GRAPH_RESOURCE_ID = "00000003-0000-0000-c000-000000000000"


def entra_unknown_permissions(permissions: list[str], *, application: bool) -> list[str]:
    """Names Entra would refuse (AADSTS650053: the scope does not exist on Microsoft Graph)."""
    known = ENTRA_APPLICATION_PERMISSIONS if application else ENTRA_DELEGATED_PERMISSIONS | {".default"}
    return [name for name in (graph_normalize(p) for p in permissions) if name not in known]


# Which permissions reach which Graph operation, delegated or application alike (the names that
# differ, such as Calendars.ReadBasic.All, are the application forms).
_READ_BASIC = {"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic.All"}
_READ_FULL = {"Calendars.Read", "Calendars.ReadWrite"}
_WRITE = {"Calendars.ReadWrite"}
GRAPH_OPERATION_PERMISSIONS: dict[str, set[str]] = {
    "graph.getSchedule": _READ_BASIC,
    "graph.calendarView": _READ_BASIC,
    "graph.calendarView.delta": _READ_BASIC,
    "graph.events.get": _READ_BASIC,
    "graph.calendars.list": _READ_BASIC,
    "graph.calendars.create": _WRITE,
    "graph.events.create": _WRITE,
    "graph.events.update": _WRITE,
    "graph.events.delete": _WRITE,
    "graph.events.cancel": _WRITE,
    "graph.events.respond": _WRITE,
    "graph.subscriptions": _READ_BASIC,
    "graph.me": {"User.Read", "User.ReadBasic.All", "User.Read.All"},
    "graph.users.get": {"User.Read.All", "User.ReadBasic.All"},
    # The directory (application permissions, as admin consent grants them).
    "graph.users.list": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "User.ReadBasic.All"},
    "graph.users.delta": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All"},
    "graph.organization": {"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All"},
    "graph.places": {"Place.Read.All", "Place.ReadWrite.All"},
    # Delegated OnlineMeetings.ReadWrite reaches /me only; the application permission every user the
    # Teams application access policy covers.
    "graph.onlineMeetings": {"OnlineMeetings.ReadWrite", "OnlineMeetings.ReadWrite.All"},
}


def graph_normalize(scope: str) -> str:
    """Graph scopes may be written with their resource ("https://graph.microsoft.com/Calendars.Read")."""
    return scope.removeprefix("https://graph.microsoft.com/")


def graph_allows(operation: str, granted: list[str]) -> bool:
    return bool(GRAPH_OPERATION_PERMISSIONS[operation] & {graph_normalize(scope) for scope in granted})


def graph_sees_body(granted: list[str]) -> bool:
    return bool(_READ_FULL & {graph_normalize(scope) for scope in granted})


# Zoom (classic scopes): each operation and the scopes that reach it, for the account's users
# (":admin") or for the token's own user. A write scope includes reading, as Zoom describes its classic
# scopes ("View and manage all user meetings").
ZOOM_OPERATION_SCOPES: dict[str, dict[str, set[str]]] = {
    "users.list": {"admin": {"user:read:admin", "user:write:admin"}, "own": set()},
    "users.get": {"admin": {"user:read:admin", "user:write:admin"}, "own": {"user:read", "user:write"}},
    "meetings.create": {"admin": {"meeting:write:admin"}, "own": {"meeting:write"}},
    "meetings.read": {
        "admin": {"meeting:read:admin", "meeting:write:admin"},
        "own": {"meeting:read", "meeting:write"},
    },
    "meetings.update": {"admin": {"meeting:write:admin"}, "own": {"meeting:write"}},
    "meetings.delete": {"admin": {"meeting:write:admin"}, "own": {"meeting:write"}},
}


def zoom_missing(operation: str, granted: list[str], *, own: bool) -> list[str]:
    """The scopes Zoom names when a token cannot do this: empty when it can."""
    rules = ZOOM_OPERATION_SCOPES[operation]
    accepted = rules["admin"] | (rules["own"] if own else set())
    if accepted & set(granted):
        return []
    return sorted(accepted)


# Webex: what each operation needs. Scheduling for someone else needs the admin scope; people
# listing beyond oneself needs an administrator's spark:people_read.
WEBEX_OPERATION_SCOPES: dict[str, set[str]] = {
    "people.read": {"spark:people_read", "spark:all"},
    "meetings.write.own": {"meeting:schedules_write", "meeting:admin_schedule_write"},
    "meetings.write.admin": {"meeting:admin_schedule_write"},
    "meetings.read.own": {"meeting:schedules_read", "meeting:schedules_write", "meeting:admin_schedule_read"},
    "meetings.read.admin": {"meeting:admin_schedule_read"},
}
WEBEX_ADMIN_SCOPES = {"meeting:admin_schedule_write", "meeting:admin_schedule_read", "meeting:admin_preferences_write"}


def webex_allows(operation: str, granted: list[str]) -> bool:
    return bool(WEBEX_OPERATION_SCOPES[operation] & set(granted))
