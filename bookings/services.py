"""Services for managed events: upsert and delete as integrators ask, and the workers' side of native
delivery (writes into Read-Write calendars). Invitations by email are bookings/invitations.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Application, User
from bookings import imip
from bookings.conferencing import (
    conference_later,
    conferencing_choice,
    managed_event_apply_conferencing,
    managed_event_meeting_delete_later,
)
from bookings.delivery import delivery_for
from bookings.models import (
    ConferencingState,
    DeliveryMode,
    ManagedEvent,
    ManagedEventAttendee,
    WriteState,
)
from bookings.senders import sender_for
from calendars.clients import calendar_client_for_profile
from calendars.models import Calendar
from calendars.providers.base import Attendee, EventSpec, ProviderAuthError, ProviderError, ProviderPermissionError
from calendars.services import calendar_profile_mark_relink_required
from core.outbox import schedule_retry
from directory.selectors import room_addresses_among

logger = logging.getLogger(__name__)

# Changes attendees have to act on: a new SEQUENCE (RFC 5546 section 2.1.4).
SIGNIFICANT = ("start", "end", "all_day", "tzid", "location")
WRITE_ATTEMPTS = 6


@dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    display_name: str = ""


@dataclass
class EventInput:
    """An upsert as the integrator sent it, already validated."""

    event_id: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False
    tzid: str = "Etc/UTC"
    description: str = ""
    location: str = ""
    location_geo: dict[str, str] = field(default_factory=dict)
    url: str = ""
    transparency: str = "opaque"
    event_private: bool = False
    reminders: list[dict[str, int]] = field(default_factory=list)
    conferencing: dict[str, str] | None = None  # None: not mentioned, the event keeps its conferencing
    invite: list[Invitee] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    subscriptions: list[dict[str, object]] | None = None


def managed_event_upsert(*, application: Application, calendar: Calendar, data: EventInput) -> ManagedEvent:
    """Create or update the event keyed by (calendar, event_id), then hand it to the calendar's delivery.

    Runs under a lock on the event's row, so concurrent upserts of one event_id make one event; an
    upsert that changes nothing announces nothing. Raises ValidationError (by field) when the
    calendar's access mode cannot deliver what was asked.
    """
    delivery = delivery_for(calendar)
    # Rooms as the directory knows them (Google calendar resources, Microsoft places), on any provider.
    room_addresses = room_addresses_among(emails=[invitee.email for invitee in data.invite])
    rooms = [invitee.email for invitee in data.invite if invitee.email.lower() in room_addresses]
    choice = conferencing_choice(calendar=calendar, requested=data.conferencing)
    native = choice is not None and choice.kind == "native"
    refusals = delivery.refusals(conferencing_profile="integrated" if native else None, rooms=rooms)
    if refusals:
        raise ValidationError(refusals)
    with transaction.atomic():
        event = _locked_event(application=application, calendar=calendar, event_id=data.event_id)
        created = event is None
        if created:
            event = _create_row(application=application, calendar=calendar, data=data, delivery_mode=delivery.mode)
            if event is None:  # another request created it meanwhile
                event = _locked_event(application=application, calendar=calendar, event_id=data.event_id)
                created = False
        if event is None:
            # _create_row gives None only when a concurrent insert of this event won, so the re-read finds it
            # unless that row was purged in between: an error worth seeing rather than an AttributeError.
            raise RuntimeError(f"Managed event {data.event_id!r} vanished while being upserted.")
        values = {
            "summary": data.summary,
            "description": data.description,
            "location": data.location,
            "location_geo": data.location_geo,
            "start": data.start,
            "end": data.end,
            "all_day": data.all_day,
            "tzid": data.tzid,
            "transparency": data.transparency,
            "url": data.url,
            "reminders": data.reminders,
            "event_private": data.event_private,
            "conferencing": data.conferencing if data.conferencing is not None else event.conferencing,
            "subscriptions": data.subscriptions if data.subscriptions is not None else event.subscriptions,
        }
        changed = created or event.deleted_at is not None or any(getattr(event, k) != v for k, v in values.items())
        significant = not created and any(getattr(event, name) != values[name] for name in SIGNIFICANT)
        moved = not created and any(getattr(event, name) != values[name] for name in ("start", "end", "summary"))
        for name, value in values.items():
            setattr(event, name, value)
        added, removed = _apply_attendees(event, invite=data.invite, remove=data.remove, rooms=room_addresses)
        if not (changed or added or removed):
            return event
        join_url = event.join_url
        conference = managed_event_apply_conferencing(event, choice=choice, moved=moved or event.deleted_at is not None)
        if conference:
            event.conferencing_state = ConferencingState.PENDING
        significant = significant or event.join_url != join_url
        if not created and (significant or removed or event.deleted_at is not None):
            event.sequence += 1
        event.deleted_at = None
        event.version += 1
        # Fields are validated here; the table's unique key and its end-after-start check are left to
        # the database (the key is the row locked above, the order was checked with the input): Django
        # validates each with a query of its own, two more round trips for every upsert.
        event.full_clean(
            exclude=["calendar", "application", "conferencing_profile", "conferencing_meeting"],
            validate_unique=False,
            validate_constraints=False,
        )
        event.save()
        delivery.changed(event, removed=removed)
        if conference:
            conference_later(event)
    return event


def _locked_event(*, application: Application | None, calendar: Calendar, event_id: str) -> ManagedEvent | None:
    """The application's own event with this id on the calendar: another application's event of the
    same id is never found, so never changed (None: an event left by a deleted application)."""
    return (
        ManagedEvent.objects.select_for_update(of=("self",))
        .select_related("calendar__profile__user", "conferencing_meeting")
        .filter(application=application, calendar=calendar, event_id=event_id)
        .first()
    )


def _create_row(
    *, application: Application, calendar: Calendar, data: EventInput, delivery_mode: str
) -> ManagedEvent | None:
    event = ManagedEvent(
        calendar=calendar,
        application=application,
        event_id=data.event_id,
        summary=data.summary,
        start=data.start,
        end=data.end,
        delivery_mode=delivery_mode,
    )
    if delivery_mode == DeliveryMode.EMAIL:
        # Replies must keep reaching the address the first invitation named, whatever changes later.
        event.reply_domain = sender_for(calendar).reply_domain
        event.ical_uid = imip.event_ical_uid(event)
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        return None
    return _locked_event(application=application, calendar=calendar, event_id=data.event_id)


def _apply_attendees(
    event: ManagedEvent, *, invite: list[Invitee], remove: list[str], rooms: set[str]
) -> tuple[list[ManagedEventAttendee], list[ManagedEventAttendee]]:
    """Invite (or re-invite) and remove attendees; returns those added and those removed now."""
    current = {attendee.email.lower(): attendee for attendee in event.attendees.all()}
    accounts = {
        user.email.lower(): user
        for user in User.objects.filter(email__in=[i.email for i in invite], is_active=True).only("pk", "email")
    }
    added, removed = [], []
    for invitee in invite:
        key = invitee.email.lower()
        attendee = current.get(key)
        if attendee is None:
            attendee = ManagedEventAttendee(event=event, email=invitee.email)
            current[key] = attendee
            added.append(attendee)
        elif attendee.removed_at is not None:
            attendee.removed_at = None
            added.append(attendee)
        elif attendee.display_name == invitee.display_name:
            continue
        attendee.display_name = invitee.display_name
        attendee.user = accounts.get(key)
        attendee.is_room = key in rooms
        attendee.save()
    for email in remove:
        attendee = current.get(email.lower())
        if attendee is not None and attendee.removed_at is None:
            attendee.removed_at = timezone.now()
            attendee.save(update_fields=["removed_at"])
            removed.append(attendee)
    return added, removed


def managed_event_delete(*, application: Application | None, calendar: Calendar, event_id: str) -> ManagedEvent | None:
    """Cancel the application's event for everyone; deleting twice, or an unknown event (another
    application's included), changes nothing. `application` is None for an event whose application
    has since been deleted (offboarding cancels those too)."""
    with transaction.atomic():
        event = _locked_event(application=application, calendar=calendar, event_id=event_id)
        if event is None or event.deleted_at is not None:
            return event
        event.deleted_at = timezone.now()
        event.sequence += 1
        event.version += 1
        event.save(update_fields=["deleted_at", "sequence", "version", "updated_at"])
        delivery_for(calendar).deleted(event)
        managed_event_meeting_delete_later(event)
    return event


#
# The invitation outbox (Free/Busy and No Access)
#


#
# Native writes (Read-Write)
#


def _spec(event: ManagedEvent) -> EventSpec:
    description, location = event.description, event.location
    if event.join_url and not event.uses_native_conferencing:
        # No provider field holds another provider's meeting: the link goes where people look.
        description = f"{description}\n\n{imip.join_line(event)}".strip()
        location = location or event.join_url
    return EventSpec(
        key=event.event_uid,
        summary=event.summary,
        start=event.start,
        end=event.end,
        time_zone=event.tzid,
        all_day=event.all_day,
        description=description,
        location=location,
        attendees=tuple(
            Attendee(email=a.email, name=a.display_name, is_resource=a.is_room)
            for a in event.attendees.filter(removed_at__isnull=True)
        ),
        native_conferencing=event.uses_native_conferencing,
        transparent=event.transparency == "transparent",
        private=event.event_private,
        reminder_minutes=tuple(reminder["minutes"] for reminder in event.reminders),
    )


def managed_event_write(*, event_id: int, attempt: int = 1) -> ManagedEvent | None:
    """Bring the organizer's calendar in line with the event's latest version, through the provider,
    which then invites the attendees itself. No lock is held while the provider works; the write is
    keyed by the event, so a retried create never makes a second event."""
    event = (
        ManagedEvent.objects.select_related("calendar__profile__calendar_service", "calendar__profile__user")
        .filter(pk=event_id, delivery_mode=DeliveryMode.NATIVE)
        .first()
    )
    if event is None or event.write_state != WriteState.PENDING:
        return event
    version, calendar = event.version, event.calendar
    written = None
    try:
        client = calendar_client_for_profile(calendar.profile)
        if event.deleted_at is not None:
            if event.provider_event_id:
                client.delete_event(calendar.provider_calendar_id, event.provider_event_id)
        else:
            written = client.write_event(
                calendar.provider_calendar_id, _spec(event), provider_event_id=event.provider_event_id or None
            )
    except (ProviderAuthError, ProviderPermissionError) as error:
        _write_failed(event, f"The calendar no longer accepts this application's writes: {error}")
        if isinstance(error, ProviderAuthError):
            calendar_profile_mark_relink_required(profile=calendar.profile, error=str(error))
        return event
    except ProviderError as error:
        if not error.retryable or attempt >= WRITE_ATTEMPTS:
            _write_failed(event, str(error))
            return event
        ManagedEvent.objects.filter(pk=event.pk).update(write_attempts=attempt, write_error=str(error)[:2000])
        schedule_retry("bookings.tasks.event_write", event.pk, attempt=attempt, retry_after=error.retry_after)
        return event
    with transaction.atomic():
        locked = ManagedEvent.objects.select_for_update().get(pk=event.pk)
        if written is not None:
            locked.provider_event_id = written.provider_event_id
            locked.ical_uid = written.ical_uid or locked.ical_uid
            if locked.uses_native_conferencing:
                locked.join_url = written.join_url
        locked.write_attempts = attempt
        if locked.version == version:
            # A newer version has its own write queued; this one only records where the event is.
            locked.write_state, locked.write_error = WriteState.WRITTEN, ""
        locked.save(
            update_fields=["provider_event_id", "ical_uid", "join_url", "write_attempts", "write_state", "write_error"]
        )
    return locked


def _write_failed(event: ManagedEvent, reason: str) -> None:
    ManagedEvent.objects.filter(pk=event.pk).update(write_state=WriteState.FAILED, write_error=reason[:2000])
    logger.warning("Could not write managed event %s: %s", event.event_uid, reason[:200])
