"""How an event's time reads in the text people get (invitation and reply subjects and bodies): in the
event's own time zone, named with its UTC offset, as Google and Outlook write it, so "10:00" never
means one thing in the subject and another in the body. (Written with an en dash between the times
and a minus sign in negative offsets; shown here with ASCII.)

    Tue 3 Mar 2026 10:00 - 11:00 (America/New_York, UTC-05:00)
    Tue 3 Mar 2026 23:00 - Wed 4 Mar 2026 01:00 (Asia/Kolkata, UTC+05:30)
    Sun 29 Mar 2026 00:30 - 02:30 (Europe/London, UTC+00:00 at the start, UTC+01:00 at the end)
    Tue 3 Mar 2026 (all day)

The offset is the one in force at that moment, so the same zone reads differently either side of a
daylight-saving change, and an event across the change says both.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from bookings.models import ManagedEvent

UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT"})
MINUS = "\u2212"  # the minus sign, as Google writes offsets; a hyphen reads as a dash
DASH = "\u2013"


def utc_offset(moment: datetime) -> str:
    """`UTC+05:30`, `UTC+00:00`, or `UTC` MINUS `05:00`, for an aware datetime."""
    offset = moment.utcoffset() or timedelta(0)
    sign = MINUS if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def event_when(event: ManagedEvent) -> str:
    """The event's time as people read it, in the event's time zone (see the module's examples)."""
    zone = zoneinfo.ZoneInfo(event.tzid)
    start, end = event.start.astimezone(zone), event.end.astimezone(zone)
    if event.all_day:
        last = (end - timedelta(days=1)).date()  # an all-day end is the day after the last
        if last <= start.date():
            return f"{_day(start)} (all day)"
        return f"{_day(start)} {DASH} {_day(end - timedelta(days=1))} (all day)"
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{_day(end)} {end:%H:%M}"
    span = f"{_day(start)} {start:%H:%M} {DASH} {until}"
    if event.tzid in UTC_ZONES:
        return f"{span} (UTC)"
    first, last_offset = utc_offset(start), utc_offset(end)
    if first == last_offset:
        return f"{span} ({event.tzid}, {first})"
    return f"{span} ({event.tzid}, {first} at the start, {last_offset} at the end)"
