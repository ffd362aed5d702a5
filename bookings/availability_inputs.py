"""Selectors for `/v1/availability`: everything the engine needs about the participants, fetched in a
fixed number of queries however many participants there are, and turned into engine members.

A person's busy time is their synced busy periods (busy or tentative) on the calendars that count,
the managed events on those calendars, and the managed events they are invited to and have not
declined. Their available time, with Managed Availability, is their weekly rules plus their
available periods; people whose profiles are all No Access use it by default (their availability is
their preferences), and without rules they keep the usual office hours, Monday to Friday 9 to 5.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Cast

from accounts.models import Application, Grant
from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee, Transparency
from calendars.access_modes import policy_for
from calendars.availability import Interval, Member, intersect, merge
from calendars.choices import BusyStatus, ProfileStatus
from calendars.managed_availability import rule_spans
from calendars.models import AvailabilityRule, AvailablePeriod, BusyPeriod, Calendar
from core.db_functions import EpochSeconds

OFFICE_HOURS = [
    {"day": day, "start_time": "09:00", "end_time": "17:00"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
]


@dataclass(frozen=True, slots=True)
class MemberRequest:
    sub: str
    calendar_ids: tuple[str, ...] = ()
    available_periods: tuple[tuple[datetime, datetime], ...] | None = None
    managed_availability: bool | None = None
    availability_rule_ids: tuple[str, ...] | None = None


@dataclass
class _Person:
    user_id: int
    tzid: str
    calendars: dict[str, int] = field(default_factory=dict)  # public id -> pk
    modes: set[str] = field(default_factory=set)
    busy_by_calendar: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    invited: list[Interval] = field(default_factory=list)
    rules: list[AvailabilityRule] = field(default_factory=list)
    periods: list[Interval] = field(default_factory=list)


class UnknownParticipants(Exception):
    def __init__(self, subs: list[str]) -> None:
        super().__init__(", ".join(subs))
        self.subs = subs


class UnknownCalendars(Exception):
    def __init__(self, sub: str, calendar_ids: list[str]) -> None:
        super().__init__(f"{sub}: {', '.join(calendar_ids)}")
        self.sub, self.calendar_ids = sub, calendar_ids


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def availability_members(
    *, application: Application, requests: list[MemberRequest], start: datetime, end: datetime
) -> dict[str, Member]:
    """Engine members for the requested subs, by sub. Raises UnknownParticipants for subs that are not
    accounts that granted this application access, UnknownCalendars for calendar ids not theirs.

    Three queries however many people are asked about (the grants with their calendars, everyone's
    busy time, and their Managed Availability only when someone's answer uses it)."""
    subs = sorted({request.sub for request in requests})
    people: dict[str, _Person] = {}
    calendars = []
    # One query for the grants and the calendars behind them (outer joins keep people without any).
    for (
        user_id,
        sub,
        tzid,
        given_up,
        profile_id,
        status,
        mode,
        calendar_pk,
        calendar_id,
        deleted,
    ) in Grant.objects.filter(
        application=application, revoked_at__isnull=True, user__public_id__in=subs, user__is_active=True
    ).values_list(
        "user_id",
        "user__public_id",
        "user__default_tzid",
        "revoked_profile_ids",
        "user__calendar_profiles__id",
        "user__calendar_profiles__status",
        "user__calendar_profiles__access_mode",
        "user__calendar_profiles__calendars__id",
        "user__calendar_profiles__calendars__public_id",
        "user__calendar_profiles__calendars__is_deleted",
    ):
        person = people.get(sub)
        if person is None:
            person = people[sub] = _Person(user_id=user_id, tzid=tzid or "Etc/UTC")
        # The application gave up these profiles for itself: their calendars do not count.
        counts = calendar_pk is not None and not deleted and status != ProfileStatus.DISCONNECTED
        if counts and profile_id not in (given_up or ()):
            calendars.append((calendar_pk, calendar_id, person, mode))
    unknown = [sub for sub in subs if sub not in people]
    if unknown:
        raise UnknownParticipants(unknown)
    calendar_owner = _own_calendars(calendars)
    _fill_busy(people.values(), calendar_owner, start=start, end=end)
    _fill_managed_availability(
        [
            person
            for person in people.values()
            if any(_uses_managed_availability(r, person) for r in requests if people[r.sub] is person)
        ],
        start=start,
        end=end,
    )
    members = {}
    for request in requests:
        members[request.sub] = _member(request, people[request.sub], start=start, end=end)
    return members


def person_week(*, user_id: int, sub: str, tzid: str, start: datetime, end: datetime) -> tuple[Member, bool]:
    """A person's own busy and available time over [start, end), as the engine sees it (for their own
    page): busy from every calendar and booking, available from their Managed Availability when they
    use it (No Access people by default, anyone who set hours). Returns the member and whether their
    Managed Availability applies."""
    person = _Person(user_id=user_id, tzid=tzid or "Etc/UTC")
    calendar_owner = _own_calendars(
        (pk, public_id, person, mode)
        for pk, public_id, mode in Calendar.objects.filter(profile__user_id=user_id, is_deleted=False)
        .exclude(profile__status=ProfileStatus.DISCONNECTED)
        .values_list("pk", "public_id", "profile__access_mode")
    )
    _fill_busy([person], calendar_owner, start=start, end=end)
    _fill_managed_availability([person], start=start, end=end)
    uses_rules = bool(person.rules or person.periods) or _uses_managed_availability(MemberRequest(sub=sub), person)
    request = MemberRequest(sub=sub, managed_availability=uses_rules)
    return _member(request, person, start=start, end=end), uses_rules


def _own_calendars(calendars: Iterable[tuple[int, str, _Person, str]]) -> dict[int, _Person]:
    """Record (pk, public id, owner, access mode) calendars on their owners; the owner of each pk."""
    calendar_owner: dict[int, _Person] = {}
    for pk, public_id, person, mode in calendars:
        person.calendars[public_id] = pk
        person.modes.add(mode)
        calendar_owner[pk] = person
    return calendar_owner


def _fill_busy(
    people: Iterable[_Person], calendar_owner: dict[int, _Person], *, start: datetime, end: datetime
) -> None:
    """Everyone's busy time over [start, end) in one query, read as epoch seconds (never as per-row
    datetimes, which cost ten times the fetch): synced busy and tentative periods and the opaque events
    booked here on their calendars (by calendar), and the opaque events they are invited to and have
    not declined (by person)."""
    by_user = {person.user_id: person for person in people}
    if not by_user:
        return
    # Typed NULLs: PostgreSQL takes a UNION's column types from its first SELECT.
    no_calendar = Cast(Value(None), output_field=BigIntegerField())
    no_user = Cast(Value(None), output_field=BigIntegerField())
    synced = BusyPeriod.objects.filter(
        calendar_id__in=calendar_owner,
        start__lt=end,
        end__gt=start,
        status__in=[BusyStatus.BUSY, BusyStatus.TENTATIVE],
    ).annotate(b_calendar=F("calendar_id"), b_user=no_user, b_start=EpochSeconds("start"), b_end=EpochSeconds("end"))
    booked = ManagedEvent.objects.filter(
        calendar_id__in=calendar_owner,
        deleted_at__isnull=True,
        transparency=Transparency.OPAQUE,
        start__lt=end,
        end__gt=start,
    ).annotate(b_calendar=F("calendar_id"), b_user=no_user, b_start=EpochSeconds("start"), b_end=EpochSeconds("end"))
    invited = (
        ManagedEventAttendee.objects.filter(
            user_id__in=by_user,
            removed_at__isnull=True,
            event__deleted_at__isnull=True,
            event__transparency=Transparency.OPAQUE,
            event__start__lt=end,
            event__end__gt=start,
        )
        .exclude(status=AttendeeStatus.DECLINED)
        .annotate(
            b_calendar=no_calendar,
            b_user=F("user_id"),
            b_start=EpochSeconds("event__start"),
            b_end=EpochSeconds("event__end"),
        )
    )
    columns = ("b_calendar", "b_user", "b_start", "b_end")
    rows = (
        synced.order_by()
        .values_list(*columns)
        .union(booked.order_by().values_list(*columns), invited.order_by().values_list(*columns), all=True)
    )
    for calendar_id, user_id, busy_start, busy_end in rows:
        if calendar_id is not None:
            calendar_owner[calendar_id].busy_by_calendar[calendar_id].append((busy_start, busy_end))
        else:
            by_user[user_id].invited.append((busy_start, busy_end))


def _fill_managed_availability(people: list[_Person], *, start: datetime, end: datetime) -> None:
    """Rules and available periods of these people (no query when nobody's answer uses them)."""
    if not people:
        return
    by_user = {person.user_id: person for person in people}
    for rule in AvailabilityRule.objects.filter(user_id__in=by_user):
        by_user[rule.user_id].rules.append(rule)
    for user_id, period_start, period_end in AvailablePeriod.objects.filter(
        user_id__in=by_user, start__lt=end, end__gt=start
    ).values_list("user_id", EpochSeconds("start"), EpochSeconds("end")):
        by_user[user_id].periods.append((period_start, period_end))


def _uses_managed_availability(request: MemberRequest, person: _Person) -> bool:
    if request.managed_availability is not None:
        return request.managed_availability
    # Nothing of theirs is synced from a calendar: what they set here is their availability.
    return bool(person.modes) and not any(policy_for(mode).syncs_busy_periods for mode in person.modes)


def _member(request: MemberRequest, person: _Person, *, start: datetime, end: datetime) -> Member:
    missing = [calendar_id for calendar_id in request.calendar_ids if calendar_id not in person.calendars]
    if missing:
        raise UnknownCalendars(request.sub, missing)
    available: list[Interval] | None = None
    counting = set(request.calendar_ids)
    if _uses_managed_availability(request, person):
        rules = person.rules
        if request.availability_rule_ids is not None:
            rules = [rule for rule in rules if rule.rule_id in request.availability_rule_ids]
        if not rules and not person.periods and request.availability_rule_ids is None:
            spans = rule_spans(tzid=_zone(person.tzid), weekly_periods=OFFICE_HOURS, start=start, end=end)
        else:
            spans = [
                span
                for rule in rules
                for span in rule_spans(tzid=rule.tzid, weekly_periods=rule.weekly_periods, start=start, end=end)
            ]
        available = [(seconds(s), seconds(e)) for s, e in spans] + person.periods
        if not counting:
            counting = {calendar_id for rule in rules for calendar_id in rule.calendar_ids}
    if request.available_periods is not None:
        asked = [(seconds(s), seconds(e)) for s, e in request.available_periods]
        available = asked if available is None else intersect(merge(available), merge(asked))
    calendar_pks = [person.calendars[c] for c in counting if c in person.calendars] if counting else None
    busy = list(person.invited)
    for calendar_pk, spans in person.busy_by_calendar.items():
        if calendar_pks is None or calendar_pk in calendar_pks:
            busy += spans
    return Member(key=request.sub, busy=busy, available=available)


def _zone(tzid: str) -> str:
    try:
        zoneinfo.ZoneInfo(tzid)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "Etc/UTC"
    return tzid


def utc(moment: int) -> datetime:
    return datetime.fromtimestamp(moment, tz=UTC)
