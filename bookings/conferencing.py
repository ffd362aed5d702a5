"""Conferencing for managed events: what `conferencing.profile_id` means for an organizer, the worker
that makes, moves and deletes the meeting at the provider, and the event's subscriptions
(`conferencing_assigned`, `conferencing_failing`).

An event whose meeting is being made waits to be announced (invitations, or the native write) until the
worker has its join link. If the provider fails, the event is announced without the link at once (it
holds the time, nothing is lost), the integrator is told, and the worker keeps trying; when the link
comes, an update carries it.
"""

from __future__ import annotations

import json
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from bookings.delivery import delivery_for
from bookings.models import (
    ConferencingState,
    EventNotification,
    EventNotificationKind,
    ManagedEvent,
)
from bookings.shapes import managed_event_as_cronofy
from calendars.models import Calendar
from calendars.notifications import SIGNATURE_HEADER, signature
from calendars.providers.base import ProviderError
from conferencing.models import ConferencingMeeting, ConferencingProfile
from conferencing.providers.base import MeetingSpec
from conferencing.selectors import conferencing_default_profile, conferencing_profile_of_organizer
from conferencing.services import MeetingBusy, conferencing_meeting_open, conferencing_meeting_sync
from core.outbox import Outbox, schedule_retry

logger = logging.getLogger(__name__)

NATIVE_DESCRIPTIONS = {"google": "Google Meet", "microsoft": "Microsoft Teams"}
NOTIFICATION_ATTEMPTS = 8
NOTIFICATION_TIMEOUT_SECONDS = 10
NOTIFICATIONS = Outbox(EventNotification, lease=timedelta(minutes=2))


@dataclass(frozen=True)
class ConferencingChoice:
    """What an upsert's `conferencing` comes to for this organizer."""

    kind: str  # none, explicit, native, provider
    profile: ConferencingProfile | None = None
    join_url: str = ""
    description: str = ""


def conferencing_choice(*, calendar: Calendar, requested: dict[str, str] | None) -> ConferencingChoice | None:
    """None when the upsert did not mention conferencing (the event keeps what it has). Raises
    ValidationError on `conferencing.profile_id` when the organizer has no such conferencing account."""
    if requested is None:
        return None
    profile_id = requested.get("profile_id", "none")
    if profile_id == "none":
        return ConferencingChoice("none")
    if profile_id == "explicit":
        return ConferencingChoice(
            "explicit", join_url=requested.get("join_url", ""), description=requested.get("provider_description", "")
        )
    organizer = calendar.profile.user
    if profile_id == "integrated":
        return ConferencingChoice("native")
    if profile_id == "default":
        profile = conferencing_default_profile(user=organizer)
        if profile is not None:
            return ConferencingChoice("provider", profile=profile)
        if calendar.integrated_conferencing_available:
            return ConferencingChoice("native")
        raise ValidationError(
            {
                "conferencing.profile_id": (
                    f"{calendar.profile.profile_name} has no account at a conferencing service of their organization, "
                    f"and this calendar cannot make Google Meet or Microsoft Teams meetings itself. "
                    f"{calendar.profile.get_access_mode_display()}: {calendar.profile.policy.conferencing} "
                    'Or give profile_id "explicit" with a join_url.'
                )
            }
        )
    profile = conferencing_profile_of_organizer(user=organizer, profile_id=profile_id)
    if profile is None:
        raise ValidationError(
            {
                "conferencing.profile_id": (
                    f"“{profile_id}” is not a conferencing profile of {calendar.profile.profile_name}: use one of "
                    'the account\'s conferencing_profiles (GET /v1/userinfo), "default", "integrated", "explicit" '
                    'or "none".'
                )
            }
        )
    if not profile.is_connected or (profile.service is not None and not profile.service.is_live):
        raise ValidationError(
            {
                "conferencing.profile_id": (
                    f"The {profile.get_provider_display()} profile “{profile_id}” is not connected: "
                    + (
                        "the organization's service needs its admin."
                        if profile.service_id
                        else "the person relinks it."
                    )
                )
            }
        )
    return ConferencingChoice("provider", profile=profile)


@transaction.atomic(savepoint=False)
def managed_event_apply_conferencing(event: ManagedEvent, *, choice: ConferencingChoice | None, moved: bool) -> bool:
    """Set the event's conferencing for this upsert (inside its transaction). True when the provider must
    make or move the meeting first: the event then waits for the worker to be announced."""
    if choice is None:
        if event.conferencing_meeting_id is None or event.conferencing_state == ConferencingState.NONE:
            return False
        return moved or event.conferencing_state in (ConferencingState.FAILING, ConferencingState.FAILED)
    previous = event.conferencing_meeting
    profile = choice.profile
    keeps_meeting = profile is not None and previous is not None and previous.profile_id == profile.pk
    if previous is not None and not keeps_meeting:
        _meeting_delete_later(previous)
        event.conferencing_meeting = None
    if profile is None:
        event.conferencing_profile = None
        event.conferencing_state, event.conferencing_error = ConferencingState.NONE, ""
        if choice.kind == "none":
            event.join_url, event.conferencing_description = "", ""
        elif choice.kind == "explicit":
            event.join_url, event.conferencing_description = choice.join_url, choice.description
        else:
            event.conferencing_description = NATIVE_DESCRIPTIONS.get(event.calendar.profile.platform or "", "")
        return False
    event.conferencing_profile = profile
    if event.start <= timezone.now():
        # Conferencing is not added to events in the past (as Cronofy does).
        event.conferencing_state, event.conferencing_error = ConferencingState.NONE, "The event starts in the past."
        return False
    if event.conferencing_meeting is None:
        event.conferencing_meeting = conferencing_meeting_open(profile=profile, reference=event.event_uid)
        event.join_url, event.conferencing_description = "", profile.get_provider_display()
        return True
    return moved or event.conferencing_state in (ConferencingState.FAILING, ConferencingState.FAILED)


def conference_later(event: ManagedEvent) -> None:
    transaction.on_commit(lambda: async_task("bookings.tasks.event_conference", event.pk))


def _meeting_delete_later(meeting: ConferencingMeeting) -> None:
    transaction.on_commit(lambda: async_task("conferencing.tasks.meeting_delete", meeting.pk))


def managed_event_meeting_delete_later(event: ManagedEvent) -> None:
    """The event was deleted: its meeting goes too (inside the transaction that deleted it)."""
    if event.conferencing_meeting is not None:
        _meeting_delete_later(event.conferencing_meeting)


def _spec(event: ManagedEvent) -> MeetingSpec:
    return MeetingSpec(
        key=event.event_uid,
        title=event.summary,
        start=event.start,
        end=event.end,
        time_zone=event.tzid if event.tzid in zoneinfo.available_timezones() else "UTC",
        agenda=event.description,
    )


def managed_event_conference(*, event_id: int, attempt: int = 1) -> ManagedEvent | None:
    """Make or move the event's meeting at the provider, then announce the event with its link. A
    provider failure announces it without the link (first failure), tells the subscriptions, and tries
    again with growing pauses until CONFERENCING_MAX_ATTEMPTS. Safe to run twice: a meeting already made
    is only moved when the event differs from it."""
    event = (
        ManagedEvent.objects.select_related("conferencing_meeting", "calendar__profile")
        .filter(pk=event_id, deleted_at__isnull=True)
        .first()
    )
    if event is None or event.conferencing_meeting is None:
        return event
    if event.conferencing_state not in (ConferencingState.PENDING, ConferencingState.FAILING):
        return event
    version = event.version
    try:
        meeting = conferencing_meeting_sync(meeting_id=event.conferencing_meeting.pk, spec=_spec(event))
    except MeetingBusy as busy:
        # Another worker is making this meeting: come back after it, without announcing anything.
        schedule_retry("bookings.tasks.event_conference", event.pk, attempt=attempt - 1, retry_after=busy.retry_after)
        return event
    except ProviderError as error:
        final = not error.retryable or attempt >= settings.CONFERENCING_MAX_ATTEMPTS
        _conference_failed(event.pk, version=version, error=error, final=final)
        if not final:
            schedule_retry("bookings.tasks.event_conference", event.pk, attempt=attempt, retry_after=error.retry_after)
        return event
    return _conference_assigned(event.pk, version=version, meeting=meeting)


@transaction.atomic
def _conference_assigned(event_id: int, *, version: int, meeting: ConferencingMeeting) -> ManagedEvent:
    event = ManagedEvent.objects.select_for_update(of=("self",)).select_related("calendar__profile").get(pk=event_id)
    if event.version != version or event.deleted_at is not None or event.conferencing_meeting_id != meeting.pk:
        return event  # changed meanwhile: the newer version's own task announces it
    previously = event.conferencing_state
    link_changed = event.join_url != meeting.join_url
    event.join_url, event.conferencing_description = meeting.join_url, meeting.provider_description
    event.conferencing_state, event.conferencing_error = ConferencingState.ASSIGNED, ""
    if previously in (ConferencingState.FAILING, ConferencingState.FAILED) and link_changed:
        # People have the event without its link: an update (a new SEQUENCE) brings it.
        event.version += 1
        event.sequence += 1
    event.save()
    if previously == ConferencingState.PENDING or link_changed:
        delivery_for(event.calendar).changed(event, removed=[])
    if link_changed:
        notify_subscriptions(event, EventNotificationKind.CONFERENCING_ASSIGNED)
    return event


@transaction.atomic
def _conference_failed(event_id: int, *, version: int, error: ProviderError, final: bool) -> None:
    event = ManagedEvent.objects.select_for_update(of=("self",)).select_related("calendar__profile").get(pk=event_id)
    if event.version != version or event.deleted_at is not None:
        return
    first = event.conferencing_state == ConferencingState.PENDING
    event.conferencing_state = ConferencingState.FAILED if final else ConferencingState.FAILING
    event.conferencing_error = str(error)[:2000]
    event.save(update_fields=["conferencing_state", "conferencing_error", "updated_at"])
    if first:
        # The event holds its time for everyone now; its link follows when the provider recovers.
        delivery_for(event.calendar).changed(event, removed=[])
    if first or final:
        notify_subscriptions(event, EventNotificationKind.CONFERENCING_FAILING)
    logger.warning("Conferencing for event %s %s: %s", event.event_uid, "given up" if final else "failing", error)


@transaction.atomic(durable=True)
def managed_event_conference_retry(*, event: ManagedEvent) -> ManagedEvent:
    """An admin's retry of an event whose conferencing was given up."""
    event = ManagedEvent.objects.select_for_update().get(pk=event.pk)
    if event.conferencing_state == ConferencingState.FAILED and event.deleted_at is None:
        event.conferencing_state = ConferencingState.FAILING
        event.save(update_fields=["conferencing_state", "updated_at"])
        conference_later(event)
    return event


#
# Subscriptions
#


def subscriptions_for(event: ManagedEvent, kind: str) -> list[str]:
    return [
        subscription["uri"]
        for subscription in event.subscriptions or []
        if subscription.get("type", "webhook") == "webhook"
        and any(interaction.get("type") == kind for interaction in subscription.get("interactions", []))
    ]


def notify_subscriptions(event: ManagedEvent, kind: str) -> list[EventNotification]:
    """One notification per subscribed URI, written in the caller's transaction, posted after commit."""
    uris = subscriptions_for(event, kind)
    if not uris:
        return []
    shaped = managed_event_as_cronofy(event, zone=zoneinfo.ZoneInfo("Etc/UTC"), localized=False)
    body: dict[str, Any] = {"notification": {"type": kind}, "event": shaped}
    if kind == EventNotificationKind.CONFERENCING_FAILING:
        body["notification"]["message"] = event.conferencing_error
    rows = []
    for uri in uris:
        row = EventNotification.objects.create(
            event=event, uri=uri, kind=kind, body=body, next_attempt_at=timezone.now()
        )
        transaction.on_commit(partial(async_task, "bookings.tasks.event_notification_deliver", row.pk))
        rows.append(row)
    return rows


def event_notification_deliver(*, notification_id: int) -> EventNotification | None:
    """Post one due notification, signed with the application's secret (Cronofy-HMAC-SHA256)."""
    claimed = NOTIFICATIONS.claim(notification_id)
    if claimed is None:
        return None
    row = EventNotification.objects.select_related("event__application").get(pk=claimed.pk)
    body = json.dumps(row.body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Scheduling push notifications"}
    secret = row.event.application.signing_secret if row.event.application else ""
    if secret:
        headers[SIGNATURE_HEADER] = signature(body=body, secret=secret)
    try:
        response = requests.post(row.uri, data=body, headers=headers, timeout=NOTIFICATION_TIMEOUT_SECONDS)
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except requests.RequestException as failure:
        error = type(failure).__name__
    if NOTIFICATIONS.record(row, error=error, max_attempts=NOTIFICATION_ATTEMPTS):
        logger.warning("Gave up notifying %s for event %s: %s", row.kind, row.event_id, error)
    return row


def event_notifications_due(*, limit: int = 500) -> list[int]:
    return NOTIFICATIONS.due(limit=limit)
