"""Recurring events expanded into occurrences, in the series' own time zone (so 09:30 stays 09:30
across daylight-saving changes), with changed and cancelled occurrences applied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr  # type: ignore[import-untyped]  # no stubs installed (types-python-dateutil)

from sandbox.models import Event

# Open-ended series are expanded this far when a caller gives no window (Google and Microsoft bound
# their expansions too; the exact bound is not documented).
DEFAULT_HORIZON = timedelta(days=730)


@dataclass(frozen=True)
class Occurrence:
    """One concrete time slot: a single event, or one occurrence (or changed occurrence) of a series."""

    event: Event  # the row whose data applies: the single event, the exception, or the series
    series: Event | None
    start: datetime
    end: datetime
    original_start: datetime | None

    @property
    def instance_id(self) -> str:
        if self.series is None:
            return self.event.event_id
        if self.original_start is None:
            raise ValueError("An occurrence of a series always has its original start.")
        return f"{self.series.event_id}_{self.original_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"

    @property
    def is_cancelled(self) -> bool:
        return self.event.is_cancelled


def _rule_set(series: Event) -> rruleset:
    zone = UTC if series.all_day else ZoneInfo(series.time_zone)
    dtstart = series.start.astimezone(zone)
    return rrulestr("\n".join(series.recurrence), dtstart=dtstart, forceset=True, tzids=lambda name: ZoneInfo(name))


def series_starts(series: Event, start: datetime, end: datetime) -> list[datetime]:
    """Original start times of the series' occurrences that overlap [start, end)."""
    duration = series.end - series.start
    found = _rule_set(series).between(start - duration, end, inc=False)
    return [moment.astimezone(UTC) for moment in found if moment + duration > start]


def occurrences(
    events: Iterable[Event], start: datetime, end: datetime, *, include_cancelled: bool = False
) -> list[Occurrence]:
    """Every occurrence overlapping [start, end) of these events (singles, series and their exceptions).

    Exceptions must be among `events` for their series to be expanded correctly.
    """
    events = list(events)
    exceptions: dict[int, dict[datetime, Event]] = {}
    for event in events:
        if event.series_id is not None and event.original_start is not None:
            exceptions.setdefault(event.series_id, {})[event.original_start.astimezone(UTC)] = event
    found: list[Occurrence] = []
    for event in events:
        if event.series_id is not None:
            series_cancelled = event.series.is_cancelled if event.series else False
            overlaps = event.start < end and event.end > start
            if overlaps and (include_cancelled or not (event.is_cancelled or series_cancelled)):
                found.append(Occurrence(event, event.series, event.start, event.end, event.original_start))
            continue
        if not event.is_series:
            if event.start < end and event.end > start and (include_cancelled or not event.is_cancelled):
                found.append(Occurrence(event, None, event.start, event.end, None))
            continue
        if event.is_cancelled and not include_cancelled:
            continue
        changed = exceptions.get(event.pk, {})
        duration = event.end - event.start
        for original in series_starts(event, start, end):
            if original in changed:
                continue  # the exception row stands for it (moved, changed or cancelled)
            found.append(Occurrence(event, event, original, original + duration, original))
    found.sort(key=lambda occurrence: (occurrence.start, occurrence.instance_id))
    return found
