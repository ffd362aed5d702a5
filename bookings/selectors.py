"""Reads that combine the calendars' synced busy periods with the events booked here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Case, CharField, F, QuerySet, Value, When
from django.utils import timezone

from bookings.models import ManagedEvent, Transparency
from calendars.access_modes import AccessModePolicy
from calendars.choices import BusyStatus
from calendars.models import BusyPeriod, Calendar


def free_busy_rows(*, calendars: QuerySet[Calendar], start: datetime, end: datetime, include_managed: bool) -> QuerySet:
    """Busy periods overlapping [start, end) of these calendars, with the managed events on them when
    asked, as one ordered query (so it pages in the database): tuples of calendar id, start, end,
    all-day, status and the calendar's time zone."""
    busy = _free_busy_columns(
        BusyPeriod.objects.filter(calendar__in=calendars, start__lt=end, end__gt=start), status=F("status")
    )
    if include_managed:
        managed = _free_busy_columns(
            ManagedEvent.objects.filter(calendar__in=calendars, deleted_at__isnull=True, start__lt=end, end__gt=start),
            status=Case(
                When(transparency=Transparency.TRANSPARENT, then=Value(BusyStatus.FREE)),
                default=Value(BusyStatus.BUSY),
                output_field=CharField(),
            ),
        )
        busy = busy.union(managed, all=True)
    return busy.order_by("fb_start", "fb_end", "fb_calendar")


def _free_busy_columns(rows: QuerySet, *, status: Any) -> QuerySet:
    # No ordering inside a compound query: the union is ordered as a whole.
    return (
        rows.order_by()
        .annotate(
            fb_calendar=F("calendar__public_id"),
            fb_start=F("start"),
            fb_end=F("end"),
            fb_all_day=F("all_day"),
            fb_status=status,
            fb_zone=F("calendar__time_zone"),
        )
        .values_list("fb_calendar", "fb_start", "fb_end", "fb_all_day", "fb_status", "fb_zone")
    )


def future_events_changing_delivery(profile_ids: list[int], old: AccessModePolicy, new: AccessModePolicy) -> list[str]:
    """For a mode change's preview: the future events booked here on these profiles' calendars whose
    delivery moves between native writes and email invitations (their next update or cancellation goes
    the new way; nothing is re-sent by the change itself)."""
    if old.writes_events_natively == new.writes_events_natively or not profile_ids:
        return []
    count = ManagedEvent.objects.filter(
        calendar__profile_id__in=profile_ids, deleted_at__isnull=True, end__gt=timezone.now()
    ).count()
    if not count:
        return []
    moves = (
        "from native writes to email invitations"
        if old.writes_events_natively
        else "from email invitations to native writes"
    )
    return [
        f"{count} future event{'s' if count != 1 else ''} booked here move{'s' if count == 1 else ''} {moves}: "
        "their next update or cancellation is delivered the new way."
    ]
