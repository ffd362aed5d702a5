"""What happens to the future bookings of a person who was offboarded, by their organization's policy:
cancelled (attendees get cancellations, by email or from the provider), handed over to a named
organizer (the event moves to their calendar and attendees get the update), or kept and flagged for an
admin. Every outcome is in the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record
from bookings import imip
from bookings.delivery import delivery_for
from bookings.models import ManagedEvent
from bookings.senders import sender_for
from bookings.services import managed_event_delete
from calendars.choices import ProfileStatus
from calendars.models import Calendar


def _audit(event: ManagedEvent, action: str, **changes: object) -> None:
    audit_record(
        actor=None,
        target=event,
        action=action,
        organization=event.calendar.profile.organization,
        changes={"event": event.event_uid, **changes},
    )


def _cancel(event: ManagedEvent, *, reason: str, handover_to: User | None) -> str:
    managed_event_delete(application=event.application, calendar=event.calendar, event_id=event.event_id)
    _audit(event, "booking_cancelled", reason=reason)
    return "cancelled"


def _flag(event: ManagedEvent, *, reason: str, handover_to: User | None) -> str:
    ManagedEvent.objects.filter(pk=event.pk).update(flagged_at=timezone.now(), flag_reason=reason[:300])
    _audit(event, "booking_flagged", reason=reason)
    return "flagged"


def _primary_calendar(user: User | None) -> Calendar | None:
    if user is None or not user.is_active:
        return None
    return (
        Calendar.objects.filter(profile__user=user, is_primary=True, is_deleted=False)
        .filter(profile__status=ProfileStatus.CONNECTED)
        .select_related("profile__user")
        .order_by("profile_id")
        .first()
    )


def _hand_over(event: ManagedEvent, *, reason: str, handover_to: User | None) -> str:
    target = _primary_calendar(handover_to)
    if target is None:
        return _flag(
            event,
            reason=f"{reason}; not handed over: {handover_to or 'nobody'} has no connected calendar",
            handover_to=handover_to,
        )
    why_not = ""
    if ManagedEvent.objects.filter(calendar=target, event_id=event.event_id).exists():
        why_not = f"{handover_to}'s calendar already has an event with the id {event.event_id}"
    else:
        delivery = delivery_for(target)
        rooms = [attendee.email for attendee in event.attendees.filter(removed_at__isnull=True, is_room=True)]
        refusals = delivery.refusals(conferencing_profile=event.conferencing.get("profile_id"), rooms=rooms)
        if refusals:
            why_not = " ".join(refusals.values())
    if why_not:
        return _flag(event, reason=f"{reason}; not handed over: {why_not}", handover_to=handover_to)
    with transaction.atomic():
        locked = ManagedEvent.objects.select_for_update().get(pk=event.pk)
        previous = locked.calendar.profile.profile_name
        locked.calendar = target
        locked.sequence += 1
        locked.version += 1
        locked.provider_event_id = ""
        locked.delivery_mode = delivery.mode
        # Replies to emailed updates reach the new organizer's domain; a native write brings its own UID.
        locked.reply_domain = sender_for(target).reply_domain
        locked.ical_uid = locked.ical_uid or imip.event_ical_uid(locked)
        locked.save()
        delivery.changed(locked, removed=[])
        _audit(locked, "booking_handed_over", reason=reason, **{"from": previous, "to": target.profile.profile_name})
    return "handed_over"


POLICIES: dict[str, Callable[..., str]] = {"cancel": _cancel, "hand_over": _hand_over, "keep": _flag}


def managed_events_after_offboarding(
    *, organizer: User, policy: str, handover_to: User | None, reason: str
) -> dict[str, int]:
    """Apply the organization's policy to every future booking the person organizes; returns how many
    had each outcome. Each booking is handled on its own, so one that fails leaves the others done."""
    outcomes: dict[str, int] = {}
    handle = POLICIES.get(policy, _flag)
    events = (
        ManagedEvent.objects.filter(calendar__profile__user=organizer, deleted_at__isnull=True, end__gt=timezone.now())
        .select_related("calendar__profile__user", "calendar__profile__organization")
        .order_by("start")
    )
    for event in events:
        outcome = handle(event, reason=f"organizer offboarded: {reason}", handover_to=handover_to)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
