"""The scope registry: every provider scope the product documents name, and which flow asks for which.

Two product documents (tests/data/seeds/, copied from shared/seeds/) list provider scopes:

* the "Changes to Free/Busy Access" FAQ, with one table for Individual Connect and one for
  Enterprise Connect, per access mode and provider;
* the "Organizational Accounts" page, with the scopes of an organization's calendar service per
  access mode, of a directory service, and of each conferencing service.

Each row below is one scope string exactly as a seed prints it (`seed_text`, including the seeds'
short forms and typos such as "Openid" or "/auth/admin.directory.domain.readonly"), the scope that
goes on the wire (`scope`), a plain-language line for people (`meaning`), and the flows of this
product that request it (`used_by`). The seeds disagree in places; both versions are kept and the
`note` says which flow follows which:

* Individual Connect, Google, Read-Write: the FAQ lists "email, profile, attachments", which grants
  no calendar access at all ("attachments" is Drive file access for event attachments, a feature
  this product does not have). The consent flow asks for email and profile from the FAQ plus
  `https://www.googleapis.com/auth/calendar` from the Organizational Accounts page.
* Organization calendar services follow the Organizational Accounts page for calendar access and
  take from the FAQ's Enterprise Connect table only the directory scopes needed to find the users
  of the service's domains (and, in Read-Write, the rooms that can be invited). The Enterprise
  table's per-user delegated scopes describe Cronofy's service-account delegation, which this
  product replaces by Google domain-wide delegation and Microsoft admin consent.
* Free/Busy never invites rooms, so the Enterprise table's room scope for Free/Busy and the group
  scope (group-based onboarding belongs to the directory service) are not requested by calendar
  services. The directory service takes that read-only room scope from the Enterprise table: the
  Organizational Accounts page's directory scopes (users and domains) have none, and rooms come from
  the directory.
* The Organizational Accounts page asks Microsoft for `Calendars.ReadWrite.All`, a name Entra ID does
  not have: the application permission to read and write every mailbox's calendars is
  `Calendars.ReadWrite` (the FAQ's Enterprise table names it so). The row keeps the seed's text and
  sends the real name (`WIRE_NAMES`); tests/data/provider-permissions.json lists the real names.

Some provider APIs need a scope no seed lists (Graph's online meetings take a user's object id, which
only a user-reading permission reveals; a person linking their own Zoom or Webex grants user-level
scopes the seeds never describe). The wire follows the provider: those scopes are in `WIRE_ONLY`,
apart from the seeds' rows, each with the reason it is needed.

Consent pages, the admin's "what data is shared" panels, provider clients and tests read this
module; nothing else spells a provider scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.choices import AccessMode


class Seed(StrEnum):
    FREE_BUSY_FAQ = "free-busy-access-changes.md"
    ORGANIZATIONAL_ACCOUNTS = "organizational-accounts.md"


class ConnectionKind(StrEnum):
    """The kind of connection a seed table describes."""

    INDIVIDUAL = "individual"  # FAQ, "Individual Connect"
    ENTERPRISE = "enterprise"  # FAQ, "Enterprise Connect"
    ORGANIZATIONAL = "organizational"  # Organizational Accounts, "Calendar Organization Accounts"
    DIRECTORY = "directory"  # Organizational Accounts, "Directory Organization Accounts"
    CONFERENCING = "conferencing"  # Organizational Accounts, "Conferencing Integrations"


class Flow(StrEnum):
    """Where this product asks a provider for scopes."""

    INDIVIDUAL_CONSENT = "individual_consent"  # an end user on the consent pages
    ORGANIZATION_CALENDAR = "organization_calendar"  # an IT admin connecting a calendar service
    DIRECTORY_SYNC = "directory_sync"  # an IT admin connecting a directory service
    CONFERENCING = "conferencing"  # an IT admin connecting a conferencing service
    CONFERENCING_PERSONAL = "conferencing_personal"  # a person linking their own Zoom or Webex


class ScopeProvider(StrEnum):
    """Who issues the scope (Meet scopes are Google's, Teams scopes Microsoft's)."""

    GOOGLE = "google"
    MICROSOFT = "microsoft"
    ZOOM = "zoom"
    WEBEX = "webex"


GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"

# Providers whose short scope names the seeds print stand for URLs under a prefix (Google's OAuth scopes).
SCOPE_URL_PREFIXES: dict[ScopeProvider, str] = {ScopeProvider.GOOGLE: GOOGLE_SCOPE_PREFIX}
# Providers where an organization's connection is granted tenant-wide application permissions (an admin's
# consent for the whole tenant) rather than delegated ones.
GRANTS_APPLICATION_PERMISSIONS: frozenset[ScopeProvider] = frozenset({ScopeProvider.MICROSOFT})

# Plain-language lines, keyed by wire scope: what a person is agreeing to.
MEANINGS: dict[str, str] = {
    "email": "see your email address",
    "profile": "see your name and profile picture",
    "openid": "confirm who you are when you sign in",
    f"{GOOGLE_SCOPE_PREFIX}calendar": "see, create, change and delete events in all your calendars",
    f"{GOOGLE_SCOPE_PREFIX}calendar.calendarlist.readonly": "see the list of your calendars",
    f"{GOOGLE_SCOPE_PREFIX}calendar.events.freebusy": "see when you are busy, without any event details",
    f"{GOOGLE_SCOPE_PREFIX}admin.directory.user.readonly": (
        "see the organization's users: names, email addresses and whether they are active"
    ),
    f"{GOOGLE_SCOPE_PREFIX}admin.directory.domain.readonly": "see the organization's domains",
    f"{GOOGLE_SCOPE_PREFIX}admin.directory.resource.calendar": "see and manage meeting rooms and other resources",
    f"{GOOGLE_SCOPE_PREFIX}admin.directory.resource.calendar.readonly": "see meeting rooms and other resources",
    f"{GOOGLE_SCOPE_PREFIX}meetings.space.created": "create Google Meet meetings and manage the ones it created",
    f"{GOOGLE_SCOPE_PREFIX}meetings.space.readonly": "see details of Google Meet meetings",
    f"{GOOGLE_SCOPE_PREFIX}meetings.space.settings": "see and change the settings of Google Meet meetings",
    "User.Read": "sign you in and see your basic profile",
    "offline_access": "keep the access you granted while you are away (until you revoke it)",
    "Calendars.ReadWrite": "see, create, change and delete events in your calendars",
    "Calendars.ReadBasic": (
        "see the times, titles and attendees of your events, but not their body or attachments "
        "(only times and busy status are kept)"
    ),
    "Calendars.ReadBasic.All": (
        "see the times, titles and attendees of everyone's events in the organization, but not their body or "
        "attachments (only times and busy status are kept)"
    ),
    "User.Read.All": "see the profile of every user in the organization",
    "Organization.Read.All": "see the organization's details and verified domains",
    "Place.Read.All": "see meeting rooms and other places",
    "GroupMember.Read.All": "see which groups people belong to",
    "OnlineMeetings.ReadWrite.All": "create and manage Teams meetings for people in the organization",
    "spark:kms": "use Webex's encryption keys to create meeting content",
    "meeting:admin_schedule_write": "schedule Webex meetings for people in the organization",
    "spark:people_read": "see the organization's Webex directory of people",
    "meeting:write:admin": "create and manage Zoom meetings for the organization's users",
    "user:read:admin": "see the organization's Zoom users",
    "User.ReadBasic.All": "see the name, email address and id of every user in the organization",
    "meeting:write": "create and manage your Zoom meetings",
    "user:read": "see your Zoom profile (name and email address)",
    "meeting:schedules_write": "create and manage your Webex meetings",
}
# Microsoft application permissions (an admin's consent for the whole tenant) whose name is also a
# delegated permission's: the same word means everyone's calendars, not one person's.
APPLICATION_MEANINGS: dict[str, str] = {
    "Calendars.ReadWrite": "see, create, change and delete events in the calendars of everyone in the organization",
}
ATTACHMENTS_MEANING = "attach files to events (Google Drive file access)"

# Seed texts that are not the provider's name for the permission, and the name that goes on the wire.
WIRE_NAMES: dict[tuple[str, str], str] = {
    ("microsoft", "Calendars.ReadWrite.All"): "Calendars.ReadWrite",
}
WIRE_NAME_NOTE = (
    "Entra ID has no Calendars.ReadWrite.All; the application permission that reads and writes every "
    "mailbox's calendars is Calendars.ReadWrite, which is what the product asks for and verifies."
)


@dataclass(frozen=True, slots=True)
class ScopeRow:
    """One scope string of one seed table."""

    seed: Seed
    kind: ConnectionKind
    provider: ScopeProvider
    access_mode: AccessMode | None  # None outside calendar connections
    label: str  # the seed's grouping label ("Delegated Scopes", "Directory Specific"...), "" if none
    seed_text: str  # exactly as the seed prints it
    scope: str | None  # what is sent to the provider; None when the seed text names no real scope
    used_by: frozenset[Flow]
    product: str = ""  # conferencing product (google_meet, ms_teams, zoom, webex)
    note: str = ""

    @property
    def is_application_permission(self) -> bool:
        """A Microsoft permission an admin grants for the whole tenant (not a person's delegated one)."""
        return (
            self.provider in GRANTS_APPLICATION_PERMISSIONS
            and self.kind is not ConnectionKind.INDIVIDUAL
            and "deleg" not in self.label.lower()
        )

    @property
    def meaning(self) -> str:
        if self.scope is None:
            return ATTACHMENTS_MEANING
        return meaning_of(self.scope, application=self.is_application_permission)


def wire_scope(provider: ScopeProvider, seed_text: str) -> str:
    """The scope string a provider expects for a seed's spelling of it.

    Google's OAuth scopes other than the OpenID Connect ones are URLs; the seeds often shorten them
    ("calendar.events.freebusy", "auth/admin...", "/auth/admin..."). Microsoft's are case-sensitive
    names, except the OpenID Connect "openid" which one seed capitalises.
    """
    text = seed_text.strip()
    if (provider, text) in WIRE_NAMES:
        return WIRE_NAMES[(provider, text)]
    if text.lower() in {"openid", "email", "profile"}:
        return text.lower()
    prefix = SCOPE_URL_PREFIXES.get(provider)
    if prefix is not None and not text.startswith("https://"):
        return prefix + text.lstrip("/").removeprefix("auth/")
    return text


def _rows(
    seed: Seed,
    kind: ConnectionKind,
    provider: ScopeProvider,
    access_mode: AccessMode | None,
    label: str,
    seed_texts: str,
    used_by: set[Flow],
    *,
    product: str = "",
    note: str = "",
    not_requested: dict[str, str] | None = None,
    also_used_by: dict[str, set[Flow]] | None = None,
    notes: dict[str, str] | None = None,
) -> list[ScopeRow]:
    """Rows for a comma-separated list as a seed prints it; `not_requested` maps a seed text to the
    reason no flow asks for it, `also_used_by` adds flows to single rows, `notes` notes single rows."""
    rows = []
    for seed_text in (text.strip() for text in seed_texts.split(",")):
        reason = (not_requested or {}).get(seed_text)
        flows = (set() if reason is not None else set(used_by)) | (also_used_by or {}).get(seed_text, set())
        scope = None if seed_text == "attachments" else wire_scope(provider, seed_text)
        rows.append(
            ScopeRow(
                seed=seed,
                kind=kind,
                provider=provider,
                access_mode=access_mode,
                label=label,
                seed_text=seed_text,
                scope=scope,
                used_by=frozenset(flows),
                product=product,
                note=reason or (notes or {}).get(seed_text, note),
            )
        )
    return rows


_FAQ, _ORG = Seed.FREE_BUSY_FAQ, Seed.ORGANIZATIONAL_ACCOUNTS
_RW, _FB = AccessMode.READ_WRITE, AccessMode.FREE_BUSY
_G, _MS = ScopeProvider.GOOGLE, ScopeProvider.MICROSOFT
_INDIVIDUAL, _ORG_CAL = {Flow.INDIVIDUAL_CONSENT}, {Flow.ORGANIZATION_CALENDAR}
_DELEGATION_NOTE = (
    "Cronofy's Enterprise Connect delegates per user; this product's organization connection uses the "
    "Organizational Accounts page's calendar scopes instead."
)
_ATTACHMENTS_NOTE = (
    "The FAQ's Read-Write row names attachments (Google Drive file access) and no calendar scope. No flow "
    "requests it: there are no attachments here, and the consent flow takes the calendar scope from the "
    "Organizational Accounts page."
)
_FINDS_USERS = "Finds the users of the service's domains."
_FINDS_USERS_AND_ROOMS = "Finds the users of the service's domains and the rooms that can be invited."
_GROUPS_NOTE = (
    "Group-based onboarding belongs to the directory service; a Free/Busy calendar service does not need "
    "group memberships."
)
_NO_ROOMS_NOTE = (
    "Free/Busy mode cannot invite rooms (Organizational Accounts page), so a calendar service does not request "
    "the room list. The directory service does: it reads rooms for the Read-Write services of the organization, "
    "read-only (the Organizational Accounts page's directory scopes have no room scope)."
)

# fmt: off
# Each call is one cell of a seed table: (table, provider, mode, the seed's label, its text, who uses it).
REGISTRY: tuple[ScopeRow, ...] = tuple(
    # The FAQ, "Individual Connect".
    _rows(_FAQ, ConnectionKind.INDIVIDUAL, _MS, _RW, "Delegated Scopes",
          "User.Read, Calendars.ReadWrite, offline_access", _INDIVIDUAL)
    + _rows(_FAQ, ConnectionKind.INDIVIDUAL, _G, _RW, "", "email, profile, attachments", _INDIVIDUAL,
            not_requested={"attachments": _ATTACHMENTS_NOTE})
    + _rows(_FAQ, ConnectionKind.INDIVIDUAL, _MS, _FB, "Delegated Scopes",
            "Calendars.ReadBasic, User.Read, offline_access", _INDIVIDUAL)
    + _rows(_FAQ, ConnectionKind.INDIVIDUAL, _G, _FB, "",
            "email, profile, calendar.calendarlist.readonly, calendar.events.freebusy", _INDIVIDUAL)
    # The FAQ, "Enterprise Connect".
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _MS, _RW, "Application Scopes",
            "User.Read.All, Organization.Read.All, Place.Read.All, Calendars.ReadWrite", _ORG_CAL,
            note=_FINDS_USERS_AND_ROOMS, not_requested={"Calendars.ReadWrite": _DELEGATION_NOTE})
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _MS, _RW, "Delegate Scopes", "Openid, email", set(),
            note=_DELEGATION_NOTE)
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _G, _RW, "User specific Scopes", "email, profile", set(),
            note=_DELEGATION_NOTE)
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _G, _RW, "Workspace and Directory Specific data",
            "admin.directory.user.readonly, admin.directory.domain.readonly, admin.directory.resource.calendar",
            _ORG_CAL, note=_FINDS_USERS_AND_ROOMS)
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _MS, _FB, "Delegated Scopes",
            "Calendars.ReadBasic, User.Read, offline_access", set(), note=_DELEGATION_NOTE)
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _MS, _FB, "Directory Specific",
            "GroupMember.Read.All, Organization.Read.All, User.Read.All", _ORG_CAL,
            note=_FINDS_USERS, not_requested={"GroupMember.Read.All": _GROUPS_NOTE})
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _G, _FB, "User Specific",
            "email,profile, calendar.calendarlist.readonly, calendar.events.freebusy", set(),
            note=_DELEGATION_NOTE)
    + _rows(_FAQ, ConnectionKind.ENTERPRISE, _G, _FB, "Directory Specific",
            "auth/admin.directory.user.readonly, /auth/admin.directory.domain.readonly, "
            "admin.directory.resource.calendar.readonly", _ORG_CAL,
            note=_FINDS_USERS, not_requested={"admin.directory.resource.calendar.readonly": _NO_ROOMS_NOTE},
            also_used_by={"admin.directory.resource.calendar.readonly": {Flow.DIRECTORY_SYNC}})
    # The Organizational Accounts page, calendar services.
    + _rows(_ORG, ConnectionKind.ORGANIZATIONAL, _G, _RW, "",
            "email, profile, https://www.googleapis.com/auth/calendar", _ORG_CAL,
            also_used_by={"https://www.googleapis.com/auth/calendar": _INDIVIDUAL})
    + _rows(_ORG, ConnectionKind.ORGANIZATIONAL, _MS, _RW, "", "openid, email, Calendars.ReadWrite.All", _ORG_CAL,
            notes={"Calendars.ReadWrite.All": WIRE_NAME_NOTE})
    + _rows(_ORG, ConnectionKind.ORGANIZATIONAL, _G, _FB, "",
            "email, profile, https://www.googleapis.com/auth/calendar.calendarlist.readonly, "
            "https://www.googleapis.com/auth/calendar.events.freebusy", _ORG_CAL)
    + _rows(_ORG, ConnectionKind.ORGANIZATIONAL, _MS, _FB, "", "openid, email, Calendars.ReadBasic.All", _ORG_CAL)
    # The Organizational Accounts page, directory services.
    + _rows(_ORG, ConnectionKind.DIRECTORY, _G, None, "",
            "https://www.googleapis.com/auth/admin.directory.user.readonly, "
            "https://www.googleapis.com/auth/admin.directory.domain.readonly", {Flow.DIRECTORY_SYNC})
    + _rows(_ORG, ConnectionKind.DIRECTORY, _MS, None, "", "User.Read.All, Organization.Read.All, Place.Read.All",
            {Flow.DIRECTORY_SYNC})
    # The Organizational Accounts page, conferencing services.
    + _rows(_ORG, ConnectionKind.CONFERENCING, _G, None, "",
            "https://www.googleapis.com/auth/meetings.space.created, "
            "https://www.googleapis.com/auth/meetings.space.readonly, "
            "https://www.googleapis.com/auth/meetings.space.settings", {Flow.CONFERENCING}, product="google_meet")
    + _rows(_ORG, ConnectionKind.CONFERENCING, _MS, None, "", "OnlineMeetings.ReadWrite.All", {Flow.CONFERENCING},
            product="ms_teams")
    + _rows(_ORG, ConnectionKind.CONFERENCING, ScopeProvider.WEBEX, None, "",
            "spark:kms, meeting:admin_schedule_write, spark:people_read", {Flow.CONFERENCING}, product="webex")
    + _rows(_ORG, ConnectionKind.CONFERENCING, ScopeProvider.ZOOM, None, "", "meeting:write:admin, user:read:admin",
            {Flow.CONFERENCING}, product="zoom")
)
# fmt: on


# The seed table each flow follows first; rows it borrows from other tables come after.
_PRIMARY_KIND = {
    Flow.INDIVIDUAL_CONSENT: ConnectionKind.INDIVIDUAL,
    Flow.ORGANIZATION_CALENDAR: ConnectionKind.ORGANIZATIONAL,
    Flow.DIRECTORY_SYNC: ConnectionKind.DIRECTORY,
    Flow.CONFERENCING: ConnectionKind.CONFERENCING,
    Flow.CONFERENCING_PERSONAL: ConnectionKind.CONFERENCING,
}


def rows_for(flow: Flow, *, provider: str, access_mode: str | None = None, product: str = "") -> tuple[ScopeRow, ...]:
    """The rows a flow requests from a provider, one per wire scope: its own table's rows first, in the
    seeds' order."""
    seen: set[str] = set()
    rows = []
    for row in sorted(REGISTRY, key=lambda row: row.kind != _PRIMARY_KIND[flow]):
        if flow not in row.used_by or row.provider != provider or row.scope is None:
            continue
        if access_mode is not None and row.access_mode not in (None, access_mode):
            continue
        if product and row.product and row.product != product:
            continue
        if row.scope in seen:
            continue
        seen.add(row.scope)
        rows.append(row)
    return tuple(rows)


def requested_scopes(flow: Flow, *, provider: str, access_mode: str | None = None, product: str = "") -> list[str]:
    """The wire scopes a flow asks the provider for (none in No Access: no row has that mode)."""
    return [
        row.scope
        for row in rows_for(flow, provider=provider, access_mode=access_mode, product=product)
        if row.scope is not None
    ]


def meaning_of(scope: str, *, application: bool = False) -> str:
    """The plain-language line for a wire scope (as a Microsoft application permission when
    `application`), or the scope itself when nobody documented it."""
    if application and scope in APPLICATION_MEANINGS:
        return APPLICATION_MEANINGS[scope]
    return MEANINGS.get(scope, scope)


@dataclass(frozen=True, slots=True)
class WireScope:
    """A scope a provider's API needs that no seed lists, and why. Shown beside the seeds' rows."""

    flow: Flow
    provider: ScopeProvider
    product: str
    scope: str
    reason: str
    label: str = "needed by the provider's API; not in the product documents"

    @property
    def meaning(self) -> str:
        return MEANINGS[self.scope]


_TEAMS_IDS = (
    "Graph creates online meetings only for a user's object id, never an email address: linking people by "
    "email needs a permission that reads users (Cronofy's own Teams scopes page lists User.ReadBasic.All)."
)
_PERSONAL = "A person linking their own account grants user-level scopes; the seeds list only the admin ones."
WIRE_ONLY: tuple[WireScope, ...] = (
    WireScope(Flow.CONFERENCING, ScopeProvider.MICROSOFT, "ms_teams", "User.ReadBasic.All", _TEAMS_IDS),
    WireScope(Flow.CONFERENCING_PERSONAL, ScopeProvider.ZOOM, "zoom", "meeting:write", _PERSONAL),
    WireScope(Flow.CONFERENCING_PERSONAL, ScopeProvider.ZOOM, "zoom", "user:read", _PERSONAL),
    WireScope(Flow.CONFERENCING_PERSONAL, ScopeProvider.WEBEX, "webex", "spark:kms", _PERSONAL),
    WireScope(Flow.CONFERENCING_PERSONAL, ScopeProvider.WEBEX, "webex", "meeting:schedules_write", _PERSONAL),
    WireScope(Flow.CONFERENCING_PERSONAL, ScopeProvider.WEBEX, "webex", "spark:people_read", _PERSONAL),
)


def wire_scope_rows(flow: Flow, *, provider: str, product: str = "") -> tuple[WireScope, ...]:
    """The scopes beyond the seeds a flow asks this provider for."""
    return tuple(
        row for row in WIRE_ONLY if row.flow == flow and row.provider == provider and row.product in ("", product)
    )


def provider_scopes(flow: Flow, *, provider: str, product: str = "") -> list[str]:
    """Everything a flow asks a provider for on the wire: the seeds' scopes, then any the provider's API
    needs beyond them."""
    scopes = requested_scopes(flow, provider=provider, product=product)
    return scopes + [row.scope for row in wire_scope_rows(flow, provider=provider, product=product)]
