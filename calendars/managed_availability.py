"""Services for Managed Availability: a person's weekly rules and one-off available periods, and how a
rule becomes concrete spans of time.

Rules are kept in the person's own time zone and expanded day by day with real zone data, so
"Mondays 09:00 to 17:00 in Europe/London" is 09:00 local on both sides of a daylight-saving change.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import transaction

from accounts.models import User
from calendars.models import AvailabilityRule, AvailablePeriod

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_WEEKLY_PERIODS = 100


def parse_clock(text: str) -> tuple[int, int]:
    """`HH:MM`, 00:00 to 24:00, as (hours, minutes); ValueError otherwise."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(text)
    parsed = int(hours), int(minutes)
    if parsed[1] >= 60 or parsed > (24, 0):
        raise ValueError(text)
    return parsed


def _epoch_at(day: date, clock: tuple[int, int], zone: zoneinfo.ZoneInfo) -> int:
    hours, minutes = clock
    if hours == 24:
        return int(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).timestamp())
    return int(datetime.combine(day, time(hours, minutes), tzinfo=zone).timestamp())


def rule_spans(
    *, tzid: str, weekly_periods: Iterable[dict[str, str]], start: datetime, end: datetime
) -> list[tuple[int, int]]:
    """The spans a weekly rule makes available within [start, end), sorted, in epoch seconds (what the
    availability engine takes: each answer expands a rule over up to 35 days for every person who
    uses one, so clocks are parsed once per rule and no datetime outlives its day)."""
    zone = zoneinfo.ZoneInfo(tzid)
    by_day: dict[int, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for period in weekly_periods:
        clocks = parse_clock(period["start_time"]), parse_clock(period["end_time"])
        by_day.setdefault(DAYS.index(period["day"]), []).append(clocks)
    lower, upper = int(start.timestamp()), int(end.timestamp())
    spans = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for opens, closes in by_day.get(day.weekday(), ()):
            span_start, span_end = max(_epoch_at(day, opens, zone), lower), min(_epoch_at(day, closes, zone), upper)
            if span_start < span_end:
                spans.append((span_start, span_end))
        day += timedelta(days=1)
    return sorted(spans)


@transaction.atomic
def availability_rule_upsert(
    *, user: User, rule_id: str, tzid: str, calendar_ids: list[str], weekly_periods: list[dict[str, str]]
) -> AvailabilityRule:
    """Create or replace a rule by its id (inputs validated by the caller's serializer)."""
    rule, _ = AvailabilityRule.objects.select_for_update().get_or_create(
        user=user, rule_id=rule_id, defaults={"tzid": tzid, "calendar_ids": calendar_ids, "weekly_periods": []}
    )
    rule.tzid, rule.calendar_ids = tzid, list(calendar_ids)
    rule.weekly_periods = [
        {"day": p["day"], "start_time": p["start_time"], "end_time": p["end_time"]} for p in weekly_periods
    ]
    rule.save()
    return rule


def availability_rule_delete(*, user: User, rule_id: str) -> bool:
    return AvailabilityRule.objects.filter(user=user, rule_id=rule_id).delete()[0] > 0


@transaction.atomic
def available_period_upsert(*, user: User, period_id: str, start: datetime, end: datetime) -> AvailablePeriod:
    period, _ = AvailablePeriod.objects.update_or_create(
        user=user, period_id=period_id, defaults={"start": start, "end": end}
    )
    return period


def available_periods_delete(*, user: User, period_id: str | None = None) -> int:
    """One period by id, or every period of the person when no id is given."""
    periods = AvailablePeriod.objects.filter(user=user)
    if period_id is not None:
        periods = periods.filter(period_id=period_id)
    return periods.delete()[0]
