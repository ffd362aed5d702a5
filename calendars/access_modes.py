"""What each access mode means, in one place.

Code that behaves differently by mode (scopes, storage, event delivery, conferencing, rooms,
identity, what an integrator's token may do, what a consent page promises, how far an organization's
choice lets its people go) asks the mode's policy instead of comparing modes itself. The texts are
what admins and end users read on consent pages, on their own page and in the admin console.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from accounts import api_scopes
from core.choices import AccessMode


@dataclass(frozen=True, slots=True)
class AccessModePolicy:
    mode: AccessMode
    summary: str
    # How much of a calendar the mode reaches. An organization's mode is a ceiling: its people may
    # connect in that mode or one of lower rank, never higher.
    rank: int
    needs_provider_authorization: bool
    syncs_busy_periods: bool
    may_store_event_details: bool  # only with the integrator's read_events grant, and only here
    writes_events_natively: bool  # False: events arrive as iMIP email invitations
    native_conferencing: bool  # Meet/Teams through `conferencing.profile_id: integrated`
    rooms_invitable: bool
    availability_source: str
    event_delivery: str
    identity: str
    conferencing: str  # where meeting links come from, in words for admins and API errors
    stored_data: tuple[str, ...]
    # What the mode means for the person, in their words, on consent pages and their own page.
    # `{application}` and `{provider}` are filled in.
    person_facts: tuple[str, ...]
    # "Acme allows ..." on consent pages of people whose organization chose this mode.
    ceiling_notice: str
    # Cronofy's provider_service names the account's service (gsuite, office365) in this mode; in the
    # others it repeats the provider name (google_free_busy, cronofy).
    reports_account_service: bool = False
    # Cronofy scopes an application's token cannot use in this mode, whatever the person granted, and
    # how the others read in this mode where the plain line would promise too much.
    withheld_api_scopes: frozenset[str] = frozenset()
    api_scope_lines: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return AccessMode(self.mode).label

    def allows(self, mode: str) -> bool:
        """As an organization's ceiling: whether a person may connect in `mode`."""
        return policy_for(mode).rank <= self.rank

    def effective_api_scopes(self, scopes: Iterable[str]) -> frozenset[str]:
        """The Cronofy scopes a grant of `scopes` amounts to on a calendar in this mode."""
        return api_scopes.expand(scopes) - self.withheld_api_scopes

    def describe_api_scopes(self, scopes: Iterable[str]) -> list[str]:
        """What an application granted `scopes` will be able to do in this mode, in a stable order."""
        effective = self.effective_api_scopes(scopes)
        return [
            self.api_scope_lines.get(scope, line)
            for scope, line in api_scopes.BASE_SCOPES.items()
            if scope in effective
        ]

    def describe_exactly(self, scopes: Iterable[str]) -> list[str]:
        """These base scopes (no implications added) as they read in this mode, in a stable order."""
        wanted = set(scopes)
        return [
            self.api_scope_lines.get(scope, line) for scope, line in api_scopes.BASE_SCOPES.items() if scope in wanted
        ]

    def describe_withheld(self, scopes: Iterable[str]) -> list[str]:
        """What the application asked for that this mode does not give it."""
        asked = api_scopes.expand(scopes)
        return [line for scope, line in api_scopes.BASE_SCOPES.items() if scope in asked & self.withheld_api_scopes]

    def facts_for(self, *, application: str, provider: str) -> list[str]:
        return [fact.format(application=application, provider=provider) for fact in self.person_facts]

    def ceiling_text(self, *, organization: str) -> str:
        return self.ceiling_notice.format(organization=organization)


_BY_EMAIL_INVITATION = {
    api_scopes.CREATE_EVENT: "schedule events for you, sent to you as email invitations",
    api_scopes.DELETE_EVENT: "cancel the events it scheduled for you, by email",
}

POLICIES: dict[str, AccessModePolicy] = {
    AccessMode.READ_WRITE: AccessModePolicy(
        mode=AccessMode.READ_WRITE,
        summary="Events are created directly in people's calendars; they are the organizer.",
        rank=2,
        needs_provider_authorization=True,
        syncs_busy_periods=True,
        may_store_event_details=True,
        writes_events_natively=True,
        native_conferencing=True,
        rooms_invitable=True,
        availability_source="Busy periods synced from the calendar in real time.",
        event_delivery="Written into the organizer's calendar by the provider, which invites the attendees.",
        identity="Proven by signing in to the calendar provider.",
        conferencing=(
            "Google Meet or Microsoft Teams made by the organizer's calendar with the event, or a meeting from a "
            "conferencing service (Zoom, Webex, Meet or Teams) the organization connects or the person links."
        ),
        stored_data=(
            "Start, end and free/busy status of calendar events.",
            "Event details (title, description, location, attendees), only for applications granted read_events.",
            "Events booked through this system.",
        ),
        person_facts=(
            "{application} sees when you are busy and can write the events it books into your calendar.",
            "Events it books are created directly in your calendar: you are the organizer and {provider} sends "
            "the invitations.",
            "Teams or Google Meet links can be added by your calendar, and meeting rooms can be invited.",
        ),
        ceiling_notice="{organization} connects calendars with read-write access.",
        reports_account_service=True,
    ),
    AccessMode.FREE_BUSY: AccessModePolicy(
        mode=AccessMode.FREE_BUSY,
        summary="Only when people are free or busy is seen; events arrive as email invitations.",
        rank=1,
        needs_provider_authorization=True,
        syncs_busy_periods=True,
        may_store_event_details=False,
        writes_events_natively=False,
        native_conferencing=False,
        rooms_invitable=False,
        availability_source="Busy periods synced from the calendar in real time.",
        event_delivery="Calendar invitations emailed to the organizer and every attendee.",
        identity="Proven by signing in to the calendar provider.",
        conferencing=(
            "Only from a conferencing service (Zoom, Webex, Meet or Teams) the organization connects or the "
            "person links: the calendar cannot make meetings."
        ),
        stored_data=(
            "Start, end and free/busy status of calendar events; never titles, descriptions, locations or attendees.",
            "Events booked through this system.",
        ),
        person_facts=(
            "{application} sees only when you are free or busy: never titles, descriptions, locations or attendees.",
            "Events it books arrive as email invitations that you accept in your calendar.",
            "Your calendar cannot add Teams or Google Meet links (a separately connected conferencing service can), "
            "and meeting rooms cannot be invited.",
        ),
        ceiling_notice="{organization} allows only free/busy access to your calendar.",
        withheld_api_scopes=frozenset(
            {api_scopes.READ_EVENTS, api_scopes.CREATE_CALENDAR, api_scopes.CHANGE_PARTICIPATION_STATUS}
        ),
        api_scope_lines={
            api_scopes.READ_FREE_BUSY: "see when you are free or busy, never what your events are",
            **_BY_EMAIL_INVITATION,
        },
    ),
    AccessMode.NO_ACCESS: AccessModePolicy(
        mode=AccessMode.NO_ACCESS,
        summary="No access to calendars at all; availability comes from preferences, events arrive by email.",
        rank=0,
        needs_provider_authorization=False,
        syncs_busy_periods=False,
        may_store_event_details=False,
        writes_events_natively=False,
        native_conferencing=False,
        rooms_invitable=False,
        availability_source="Availability rules and available periods set here, plus events booked here.",
        event_delivery="Calendar invitations emailed to the organizer and every attendee.",
        identity="Proven by the organization's directory or an email confirmation link.",
        conferencing=(
            "Only from a conferencing service (Zoom, Webex, Meet or Teams) the organization connects or the "
            "person links: there is no calendar to make meetings."
        ),
        stored_data=(
            "Nothing from the calendar service.",
            "Availability preferences and events booked through this system.",
        ),
        person_facts=(
            "{application} cannot see or change your calendar at all; you set your availability here.",
            "Events it books arrive as email invitations.",
        ),
        ceiling_notice="{organization} allows no access to your calendar: you set your availability here.",
        withheld_api_scopes=frozenset({api_scopes.READ_EVENTS, api_scopes.CHANGE_PARTICIPATION_STATUS}),
        api_scope_lines={
            api_scopes.LIST_CALENDARS: "see the calendar kept for you here",
            api_scopes.READ_FREE_BUSY: "see when you are available, from the hours you set here and the events it "
            "books",
            api_scopes.CREATE_CALENDAR: "create new calendars kept here",
            **_BY_EMAIL_INVITATION,
        },
    ),
}


def policy_for(mode: str) -> AccessModePolicy:
    return POLICIES[mode]


def modes_allowed_under(ceiling: str | None, modes: Iterable[str]) -> list[str]:
    """The modes of `modes` an organization's ceiling allows (all of them without a ceiling), in order."""
    if ceiling is None:
        return list(modes)
    return [mode for mode in modes if policy_for(ceiling).allows(mode)]


def lowest_mode(modes: Iterable[str]) -> str | None:
    """The mode of lowest rank (the tightest ceiling), or None for none."""
    return min(modes, key=lambda mode: policy_for(mode).rank, default=None)


def withheld_api_scopes_for(*, modes: Iterable[str], ceiling: str | None) -> frozenset[str]:
    """What a person's grants cannot do at the moment: a scope counts when one of their calendars' modes
    allows it, and never above their organization's ceiling."""
    modes = list(modes)
    withheld: set[str] = set()
    if modes:
        withheld = set.intersection(*(set(policy_for(mode).withheld_api_scopes) for mode in modes))
    if ceiling is not None:
        withheld |= policy_for(ceiling).withheld_api_scopes
    return frozenset(withheld)


# Every scope some mode can withhold: checking any other one never needs to know a person's modes.
RESTRICTABLE_API_SCOPES = frozenset().union(*(policy.withheld_api_scopes for policy in POLICIES.values()))
