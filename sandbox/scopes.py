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


# Microsoft Graph: operation -> permissions (delegated names; application permissions carry ".All"
# or the same name, as the permission reference lists them). Calendars.ReadWrite.All is not a Graph
# permission name, but the Organizational Accounts page asks for it, so the sandbox treats it as the
# application form of Calendars.ReadWrite.
_READ_BASIC = {
    "Calendars.ReadBasic",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.ReadBasic.All",
    "Calendars.Read.All",
    "Calendars.ReadWrite.All",
}
_READ_FULL = {"Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.All", "Calendars.ReadWrite.All"}
_WRITE = {"Calendars.ReadWrite", "Calendars.ReadWrite.All"}
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
}


def graph_normalize(scope: str) -> str:
    """Graph scopes may be written with their resource ("https://graph.microsoft.com/Calendars.Read")."""
    return scope.removeprefix("https://graph.microsoft.com/")


def graph_allows(operation: str, granted: list[str]) -> bool:
    return bool(GRAPH_OPERATION_PERMISSIONS[operation] & {graph_normalize(scope) for scope in granted})


def graph_sees_body(granted: list[str]) -> bool:
    return bool(_READ_FULL & {graph_normalize(scope) for scope in granted})
