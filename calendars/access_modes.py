"""What each access mode means, in one place.

Code that behaves differently by mode (scopes, storage, event delivery, conferencing, rooms,
identity) asks the mode's policy instead of comparing modes itself. The texts are what admins and
end users read on consent pages and in the admin console.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.choices import AccessMode


@dataclass(frozen=True, slots=True)
class AccessModePolicy:
    mode: AccessMode
    summary: str
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


POLICIES: dict[str, AccessModePolicy] = {
    AccessMode.READ_WRITE: AccessModePolicy(
        mode=AccessMode.READ_WRITE,
        summary="Events are created directly in people's calendars; they are the organizer.",
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
    ),
    AccessMode.FREE_BUSY: AccessModePolicy(
        mode=AccessMode.FREE_BUSY,
        summary="Only when people are free or busy is seen; events arrive as email invitations.",
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
    ),
    AccessMode.NO_ACCESS: AccessModePolicy(
        mode=AccessMode.NO_ACCESS,
        summary="No access to calendars at all; availability comes from preferences, events arrive by email.",
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
    ),
}


def policy_for(mode: str) -> AccessModePolicy:
    return POLICIES[mode]
