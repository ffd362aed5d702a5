"""A managed event in Cronofy's shape, as `GET /v1/events` returns it and as event subscriptions'
notifications carry it."""

from __future__ import annotations

import zoneinfo
from typing import Any

from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee
from core.api_params import time_text, utc_text


def conferencing_block(event: ManagedEvent) -> dict[str, str] | None:
    """`conferencing` as Cronofy reads it back: who provides the meeting and its join URL; None when the
    event has no join details (yet)."""
    if not event.join_url:
        return None
    block = {"provider_description": event.conferencing_description or "Conferencing", "join_url": event.join_url}
    if event.conferencing_profile is not None:
        block["provider_name"] = event.conferencing_profile.provider
    return block


def owner_participation(event: ManagedEvent, attendees: list[ManagedEventAttendee]) -> str:
    """`participation_status` is the calendar owner's own: the organizer's event is theirs
    ("accepted"), unless they are also among its attendees, where their answer is what counts (their
    reply to an emailed invitation, or the provider's record of it)."""
    owner = event.calendar.profile.profile_name.lower()
    own = next((a for a in attendees if a.email.lower() == owner), None)
    return own.status if own is not None else AttendeeStatus.ACCEPTED


def managed_event_as_cronofy(event: ManagedEvent, *, zone: zoneinfo.ZoneInfo, localized: bool) -> dict[str, Any]:
    all_day_zone = zoneinfo.ZoneInfo(event.tzid) if event.all_day else None
    calendar = event.calendar
    attendees = [a for a in event.attendees.all() if a.removed_at is None]
    shaped: dict[str, Any] = {
        "calendar_id": calendar.public_id,
        "event_id": event.event_id,
        "event_uid": event.event_uid,
        "summary": event.summary,
        "description": event.description,
        "start": time_text(event.start, zone=zone, localized=localized, all_day_zone=all_day_zone),
        "end": time_text(event.end, zone=zone, localized=localized, all_day_zone=all_day_zone),
        "deleted": event.deleted_at is not None,
        "created": utc_text(event.created_at),
        "updated": utc_text(event.updated_at),
        "location": {"description": event.location} if event.location else {},
        "participation_status": owner_participation(event, attendees),
        "attendees": [{"email": a.email, "display_name": a.display_name, "status": a.status} for a in attendees],
        "organizer": {"email": calendar.profile.profile_name, "display_name": calendar.profile.user.name},
        "transparency": event.transparency,
        "status": "cancelled" if event.deleted_at else "confirmed",
        "categories": [],
        "recurring": False,
        "event_private": event.event_private,
        "options": {"delete": True, "update": True, "change_participation_status": False},
    }
    conferencing = conferencing_block(event)
    if conferencing is not None:
        shaped["conferencing"] = conferencing
        shaped["meeting_url"] = event.join_url
    return shaped
