"""How a managed event reaches people: the one place that depends on the organizer's access mode.

Read-Write organizers get the event written into their own calendar by the provider, which invites
the attendees (rooms and Meet / Teams included). Free/Busy and No Access organizers get iMIP email
invitations, one per recipient, organizer included; native conferencing and rooms are refused there
because nothing could book them (a conferencing service makes their meetings instead).

An event whose meeting a conferencing provider is still making is not announced yet (only people
removed from it are told); the conferencing worker announces it once it has its link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.db import transaction
from django_q.tasks import async_task

from bookings.invitations import invitations_queue
from bookings.models import DeliveryMode, InvitationMethod, ManagedEvent, ManagedEventAttendee, WriteState
from calendars.models import Calendar

NATIVE_CONFERENCING = {"integrated", "default"}


class Delivery(Protocol):
    @property
    def mode(self) -> str:
        """The DeliveryMode this delivery records on the events it handles (read-only for implementations)."""
        ...

    def refusals(self, *, conferencing_profile: str | None, rooms: list[str]) -> dict[str, str]:
        """Why this request cannot be delivered, by field; empty when it can."""

    def changed(self, event: ManagedEvent, *, removed: Iterable[ManagedEventAttendee]) -> None:
        """Announce the event's current version (inside the transaction that saved it)."""

    def deleted(self, event: ManagedEvent) -> None:
        """Announce the event's cancellation (inside the transaction that deleted it)."""


class NativeWrite:
    mode = DeliveryMode.NATIVE

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar

    def refusals(self, *, conferencing_profile: str | None, rooms: list[str]) -> dict[str, str]:
        if conferencing_profile in NATIVE_CONFERENCING and not self.calendar.integrated_conferencing_available:
            return {"conferencing": "This calendar cannot create Meet or Teams meetings."}
        return {}

    def changed(self, event: ManagedEvent, *, removed: Iterable[ManagedEventAttendee]) -> None:
        # Removed attendees are simply left out of the provider's event; the provider tells them.
        if event.awaits_conference:
            return
        self._queue_write(event)

    def deleted(self, event: ManagedEvent) -> None:
        self._queue_write(event)

    def _queue_write(self, event: ManagedEvent) -> None:
        ManagedEvent.objects.filter(pk=event.pk).update(write_state=WriteState.PENDING, write_error="")
        transaction.on_commit(lambda: async_task("bookings.tasks.event_write", event.pk))


class EmailInvitation:
    mode = DeliveryMode.EMAIL

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar

    def refusals(self, *, conferencing_profile: str | None, rooms: list[str]) -> dict[str, str]:
        found = {}
        if conferencing_profile in NATIVE_CONFERENCING:
            found["conferencing"] = (
                "Free/Busy and No Access calendars cannot create Google Meet or Microsoft Teams meetings "
                "themselves: use a conferencing profile of the organizer (their organization's Zoom, Webex, Meet "
                'or Teams service, or their own), "default", or give the meeting\'s link with profile_id '
                '"explicit" and a join_url.'
            )
        if rooms:
            found["attendees"] = (
                f"Rooms cannot be booked by email invitation ({', '.join(rooms)}): only Read-Write calendars "
                "can book rooms."
            )
        return found

    def changed(self, event: ManagedEvent, *, removed: Iterable[ManagedEventAttendee]) -> None:
        if not event.awaits_conference:
            current = list(event.attendees.filter(removed_at__isnull=True))
            invitations_queue(event=event, method=InvitationMethod.REQUEST, recipients=None, attendees=current)
        for attendee in removed:
            invitations_queue(event=event, method=InvitationMethod.CANCEL, recipients=[attendee], attendees=[attendee])

    def deleted(self, event: ManagedEvent) -> None:
        current = list(event.attendees.filter(removed_at__isnull=True))
        invitations_queue(
            event=event, method=InvitationMethod.CANCEL, recipients=None, attendees=current, cancelled=True
        )


def delivery_for(calendar: Calendar) -> Delivery:
    """Read-Write writes into the provider's calendar; Free/Busy and No Access send iMIP invitations."""
    if calendar.profile.policy.writes_events_natively:
        return NativeWrite(calendar)
    return EmailInvitation(calendar)
