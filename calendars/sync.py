"""Services that keep busy periods fresh: sync rounds merged into what we hold, and the provider push
subscriptions that say when to run them.

A full round lists Cronofy's window (42 days back, 201 ahead, plus slack) and makes our copy match it; an
incremental round applies only what changed since the cursor. Either way the copy is changed row by
row inside one transaction, never emptied and refilled, so availability never shows a false gap
(cal.com's PR #22508 is the cautionary tale). Event details are written only for Read-Write profiles
whose account granted `read_events`, by the one function here that touches that table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ConnectionStatus
from accounts.selectors import user_has_granted_scope
from calendars.access_modes import policy_for
from calendars.choices import ProfileStatus
from calendars.clients import calendar_client_for_profile
from calendars.models import (
    BusyPeriod,
    Calendar,
    CalendarProfile,
    CalendarService,
    ExternalEventDetail,
    ProviderWatch,
)
from calendars.notifications import (
    profile_changes_notify,
    profile_disconnected_notify,
    profile_initial_sync_completed_notify,
)
from calendars.providers.base import (
    BusyChanges,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderUnknownUser,
    SyncCursorExpired,
)
from calendars.providers.base import CalendarProvider as ProviderClient
from calendars.services import (
    calendar_profile_discard_unknown_person,
    calendar_profile_mark_relink_required,
    calendar_profile_save_calendars,
    calendar_service_mark_failed,
)
from calendars.watches import RENEW_BEFORE, profile_watches_ensure_quietly
from core.choices import AccessMode

logger = logging.getLogger(__name__)

SYNC_PAST = timedelta(days=42)
SYNC_FUTURE = timedelta(days=201)
# Delta links and sync tokens keep the window of the round that started them. Rather than re-reading
# every event each day to move that window forward (a full round costs nearly a first sync, however
# little changed), a full round asks for WINDOW_SLACK more future than Cronofy's window needs, and
# incremental rounds, which carry only what changed, serve until that slack is used up. A full round
# then comes every WINDOW_SLACK, or at once when the provider drops the cursor (410 Gone, expired sync
# token) or someone asks for one; its merge still writes only the rows that differ.
WINDOW_SLACK = timedelta(days=28)
FULL_SYNC_EVERY = WINDOW_SLACK
# Without push notifications (missed, or a provider that dropped them) a calendar is still polled.
POLL_EVERY = timedelta(minutes=30)
BULK_BATCH = 500
SYNCING_MODES = [mode for mode in AccessMode.values if policy_for(mode).syncs_busy_periods]


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    calendar_id: str
    full: bool
    upserted: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.upserted or self.removed)


def sync_window(now: datetime) -> tuple[datetime, datetime]:
    """What a full round started `now` lists: Cronofy's window, and WINDOW_SLACK beyond it so its
    cursor still covers Cronofy's window until the next full round."""
    return now - SYNC_PAST, now + SYNC_FUTURE + WINDOW_SLACK


def profile_stores_event_details(profile: CalendarProfile) -> bool:
    """Read-Write profiles keep event details, and only when their account granted `read_events`."""
    return profile.policy.may_store_event_details and user_has_granted_scope(
        user_id=profile.user_id, scope="read_events"
    )


#
# Sync rounds
#


def profile_sync(
    *, profile: CalendarProfile, full: bool = False, calendars: Iterable[Calendar] | None = None
) -> list[SyncOutcome]:
    """One sync round for each of the profile's calendars (or the given ones).

    A withdrawn grant marks the profile for relinking and tells the integrators; a provider that is
    down raises ProviderError (retryable) after recording it, so the task can try again later.
    """
    if not profile.syncs_busy_periods:
        return []
    round_started = timezone.now()
    store_details = profile_stores_event_details(profile)
    client = calendar_client_for_profile(profile, include_details=store_details)
    wanted = calendars if calendars is not None else profile.calendars.filter(is_deleted=False)
    outcomes = []
    try:
        for calendar in wanted:
            if calendar.is_hosted or calendar.is_deleted:
                continue
            outcomes.append(calendar_sync(calendar=calendar, client=client, full=full, store_details=store_details))
    except (ProviderAuthError, ProviderPermissionError) as error:
        _grant_refused(profile, error)
        return outcomes
    finally:
        changed = [outcome.calendar_id for outcome in outcomes if outcome.changed]
        if changed:
            profile_changes_notify(profile=profile, calendar_ids=changed, since=round_started)
    synced_at = timezone.now()
    # A round that went through clears what an earlier failure left for the console.
    CalendarProfile.objects.filter(pk=profile.pk).update(last_synced_at=synced_at, last_error="")
    if profile.calendar_service_id is not None:
        CalendarService.objects.filter(pk=profile.calendar_service_id).update(last_synced_at=synced_at)
        CalendarService.objects.filter(pk=profile.calendar_service_id, status=ConnectionStatus.ACTIVE).update(
            last_error=""
        )
    return outcomes


def _grant_refused(profile: CalendarProfile, error: ProviderError) -> None:
    """The provider no longer accepts the grant: the person relinks (their own grant), or the
    organization's admin reauthorizes (the service's grant), and the integrators are told."""
    calendar_profile_mark_relink_required(profile=profile, error=str(error))
    if isinstance(error, ProviderAuthError):
        service = profile.calendar_service  # None, without a query, for a person's own grant
        if service is not None:
            calendar_service_mark_failed(service=service, error=str(error))
    profile_disconnected_notify(profile=profile)


def profile_initial_sync(*, profile: CalendarProfile) -> None:
    """A newly connected profile: list its calendars, sync each in full, tell the integrators it is
    ready, and subscribe to its changes. A withdrawn grant (or one without the scope to list calendars:
    a person may untick scopes at Google) marks it for relinking instead; a provider that is down
    raises ProviderError for the caller to try again later."""
    if not profile.syncs_busy_periods:
        return
    try:
        calendars = calendar_client_for_profile(profile).list_calendars()
    except ProviderUnknownUser as error:
        if profile.calendar_service_id is None:
            raise
        # Provisioning reached an address of the domain the provider has no user for (someone who
        # signed up here): the organization's grant is fine, and there is nothing to relink.
        calendar_profile_discard_unknown_person(profile=profile, error=str(error))
        return
    except (ProviderAuthError, ProviderPermissionError) as error:
        _grant_refused(profile, error)
        return
    calendar_profile_save_calendars(profile=profile, calendars=calendars)
    profile_sync(profile=profile, full=True)
    profile.refresh_from_db()
    if not profile.is_connected:
        return  # profile_sync found the grant withdrawn, and said so
    profile_initial_sync_completed_notify(profile=profile)
    profile_watches_ensure_quietly(profile=profile)


def calendar_sync(*, calendar: Calendar, client: ProviderClient, full: bool, store_details: bool) -> SyncOutcome:
    """One round for one calendar: fetch from the provider, then merge under the calendar's row lock."""
    Calendar.objects.filter(pk=calendar.pk, sync_pending=True).update(sync_pending=False)
    started_from = calendar.sync_cursor
    now = timezone.now()
    start, end = sync_window(now)
    stale_window = calendar.full_synced_at is None or calendar.full_synced_at < now - FULL_SYNC_EVERY
    cursor = None if full or stale_window or not started_from else started_from
    try:
        try:
            changes = client.busy_changes(calendar.provider_calendar_id, cursor=cursor, start=start, end=end)
        except SyncCursorExpired:
            logger.info("Sync cursor of calendar %s expired; syncing it in full.", calendar.public_id)
            changes = client.busy_changes(calendar.provider_calendar_id, cursor=None, start=start, end=end)
    except ProviderError as error:
        Calendar.objects.filter(pk=calendar.pk).update(sync_error=str(error)[:2000])
        raise
    with transaction.atomic():
        locked = Calendar.objects.select_for_update().get(pk=calendar.pk)
        if locked.sync_cursor != started_from and not changes.full:
            # Another round finished first and moved the cursor; its view is at least as new as ours.
            return SyncOutcome(calendar_id=calendar.public_id, full=False, upserted=0, removed=0)
        upserted, removed = _merge(locked, changes, now=now)
        if store_details:
            _store_details(locked, changes)
        locked.sync_cursor = changes.cursor
        locked.synced_at = now
        locked.sync_error = ""
        fields = ["sync_cursor", "synced_at", "sync_error"]
        if changes.full:
            locked.full_synced_at = now
            fields.append("full_synced_at")
        locked.save(update_fields=fields)
    calendar.sync_cursor = locked.sync_cursor
    return SyncOutcome(calendar_id=calendar.public_id, full=changes.full, upserted=upserted, removed=removed)


def _merge(calendar: Calendar, changes: BusyChanges, *, now: datetime) -> tuple[int, int]:
    """Make our busy periods agree with the provider's answer, row by row; returns (upserted, removed)."""
    listed = {event.provider_event_id: event for event in changes.events}
    held = {
        row.provider_event_id: (row.start, row.end, row.all_day, row.status, row.series_id)
        for row in BusyPeriod.objects.filter(calendar=calendar, provider_event_id__in=list(listed)).only(
            "provider_event_id", "start", "end", "all_day", "status", "series_id"
        )
    }
    fresh = [
        BusyPeriod(
            calendar=calendar,
            provider_event_id=event_id,
            start=event.start,
            end=event.end,
            all_day=event.all_day,
            status=str(event.status),
            series_id=event.series_id or "",
            updated_at=now,
        )
        for event_id, event in listed.items()
        if held.get(event_id) != (event.start, event.end, event.all_day, str(event.status), event.series_id or "")
    ]
    BusyPeriod.objects.bulk_create(
        fresh,
        batch_size=BULK_BATCH,
        update_conflicts=True,
        unique_fields=["calendar", "provider_event_id"],
        update_fields=["start", "end", "all_day", "status", "series_id", "updated_at"],
    )
    held_here = BusyPeriod.objects.filter(calendar=calendar)
    if changes.full:
        gone = [pk for pk, event_id in held_here.values_list("pk", "provider_event_id") if event_id not in listed]
        doomed = BusyPeriod.objects.filter(pk__in=gone)
    elif changes.removed_ids:
        removed_ids = list(changes.removed_ids)
        doomed = held_here.filter(Q(provider_event_id__in=removed_ids) | Q(series_id__in=removed_ids))
    else:
        return len(fresh), 0
    return len(fresh), doomed.delete()[1].get(BusyPeriod._meta.label, 0)


def _store_details(calendar: Calendar, changes: BusyChanges) -> None:
    """Event details of a Read-Write profile with `read_events`: the only writer of that table."""
    with_details = {event.provider_event_id: event.details for event in changes.events if event.details is not None}
    if not with_details:
        return
    ids = dict(
        BusyPeriod.objects.filter(calendar=calendar, provider_event_id__in=list(with_details)).values_list(
            "provider_event_id", "pk"
        )
    )
    ExternalEventDetail.objects.bulk_create(
        [
            ExternalEventDetail(
                busy_period_id=ids[event_id],
                summary=details.summary,
                description=details.description,
                location=details.location,
                organizer_email=details.organizer_email,
                join_url=details.join_url,
                attendees=[
                    {"email": a.email, "display_name": a.name, "status": a.response, "resource": a.is_resource}
                    for a in details.attendees
                ],
            )
            for event_id, details in with_details.items()
            if event_id in ids
        ],
        batch_size=BULK_BATCH,
        update_conflicts=True,
        unique_fields=["busy_period"],
        update_fields=["summary", "description", "location", "organizer_email", "join_url", "attendees"],
    )


def external_event_details_forget(*, profile: CalendarProfile) -> int:
    """Drop every stored event detail of a profile: its mode no longer allows them, or the account
    withdrew `read_events`."""
    return ExternalEventDetail.objects.filter(busy_period__calendar__profile=profile).delete()[0]


def calendars_mark_sync_pending(*, calendars: Iterable[Calendar]) -> list[int]:
    """Mark calendars as wanting a sync; returns those that were not already waiting for one, so a
    burst of notifications starts one round, not one per notification."""
    started = []
    for calendar in calendars:
        if Calendar.objects.filter(pk=calendar.pk, sync_pending=False).update(sync_pending=True):
            started.append(calendar.pk)
    return started


#
# What the periodic tasks look for
#


def calendars_due_for_polling(*, now: datetime | None = None) -> list[int]:
    """Calendars of syncing profiles not synced for a while: the fallback for missed notifications."""
    now = now or timezone.now()
    due = (
        Calendar.objects.filter(
            is_deleted=False,
            profile__status=ProfileStatus.CONNECTED,
            profile__access_mode__in=SYNCING_MODES,
        )
        .filter(Q(synced_at__isnull=True) | Q(synced_at__lt=now - POLL_EVERY))
        .exclude(provider_calendar_id__startswith="hosted:")
        .values_list("pk", flat=True)
    )
    return list(due)


def profiles_with_watches_due(*, now: datetime | None = None) -> list[int]:
    """Syncing profiles whose push subscriptions expire soon, or that have none (creating one failed)."""
    now = now or timezone.now()
    live = ProviderWatch.objects.filter(stopped_at__isnull=True)
    expiring = set(live.filter(expires_at__lt=now + RENEW_BEFORE).values_list("profile_id", flat=True))
    unwatched = set(
        CalendarProfile.objects.filter(
            status=ProfileStatus.CONNECTED, access_mode__in=SYNCING_MODES, last_synced_at__isnull=False
        )
        .exclude(pk__in=live.values("profile_id"))
        .values_list("pk", flat=True)
    )
    return sorted(expiring | unwatched)
