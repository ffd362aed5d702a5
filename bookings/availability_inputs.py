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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from accounts.models import Application, Grant
from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee, Transparency
from calendars.access_modes import policy_for
from calendars.availability import Interval, Member, intersect, merge
from calendars.choices import BusyStatus, ProfileStatus
from calendars.managed_availability import rule_spans
from calendars.models import AvailabilityRule, AvailablePeriod, BusyPeriod, Calendar

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
    accounts that granted this application access, UnknownCalendars for calendar ids not theirs."""
    subs = sorted({request.sub for request in requests})
    people = {}
    given_up: set[int] = set()  # profiles the application revoked for itself
    for user_id, sub, tzid, revoked in Grant.objects.filter(
        application=application, revoked_at__isnull=True, user__public_id__in=subs, user__is_active=True
    ).values_list("user_id", "user__public_id", "user__default_tzid", "revoked_profile_ids"):
        people[sub] = _Person(user_id=user_id, tzid=tzid or "Etc/UTC")
        given_up.update(revoked or [])
    unknown = [sub for sub in subs if sub not in people]
    if unknown:
        raise UnknownParticipants(unknown)
    _fill(
        people.values(),
        start=start,
        end=end,
        given_up=given_up,
        uses_rules=lambda person: any(
            _uses_managed_availability(r, person) for r in requests if people[r.sub] is person
        ),
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
    _fill([person], start=start, end=end, given_up=set(), uses_rules=lambda _: True)
    uses_rules = bool(person.rules or person.periods) or _uses_managed_availability(MemberRequest(sub=sub), person)
    request = MemberRequest(sub=sub, managed_availability=uses_rules)
    return _member(request, person, start=start, end=end), uses_rules


def _fill(
    people: Iterable[_Person],
    *,
    start: datetime,
    end: datetime,
    given_up: set[int],
    uses_rules: Callable[[_Person], bool],
) -> None:
    """Load what the engine needs about these people, in a fixed number of queries. Rules and available
    periods are read for those `uses_rules` picks once their calendars' modes are known; the calendars of
    profiles in `given_up` (an application gave them up for itself) do not count."""
    by_user = {person.user_id: person for person in people}
    calendar_owner: dict[int, _Person] = {}
    for pk, public_id, user_id, mode in (
        Calendar.objects.filter(profile__user_id__in=by_user, is_deleted=False)
        .exclude(profile__status=ProfileStatus.DISCONNECTED)
        .exclude(profile_id__in=given_up)
        .values_list("pk", "public_id", "profile__user_id", "profile__access_mode")
    ):
        person = by_user[user_id]
        person.calendars[public_id] = pk
        person.modes.add(mode)
        calendar_owner[pk] = person

    for calendar_id, busy_start, busy_end in BusyPeriod.objects.filter(
        calendar_id__in=calendar_owner,
        start__lt=end,
        end__gt=start,
        status__in=[BusyStatus.BUSY, BusyStatus.TENTATIVE],
    ).values_list("calendar_id", "start", "end"):
        calendar_owner[calendar_id].busy_by_calendar[calendar_id].append((seconds(busy_start), seconds(busy_end)))
    for calendar_id, event_start, event_end in ManagedEvent.objects.filter(
        calendar_id__in=calendar_owner,
        deleted_at__isnull=True,
        transparency=Transparency.OPAQUE,
        start__lt=end,
        end__gt=start,
    ).values_list("calendar_id", "start", "end"):
        calendar_owner[calendar_id].busy_by_calendar[calendar_id].append((seconds(event_start), seconds(event_end)))
    for user_id, event_start, event_end in (
        ManagedEventAttendee.objects.filter(
            user_id__in=by_user,
            removed_at__isnull=True,
            event__deleted_at__isnull=True,
            event__transparency=Transparency.OPAQUE,
            event__start__lt=end,
            event__end__gt=start,
        )
        .exclude(status=AttendeeStatus.DECLINED)
        .values_list("user_id", "event__start", "event__end")
    ):
        by_user[user_id].invited.append((seconds(event_start), seconds(event_end)))

    managed_user_ids = [person.user_id for person in by_user.values() if uses_rules(person)]
    if managed_user_ids:
        for rule in AvailabilityRule.objects.filter(user_id__in=managed_user_ids):
            by_user[rule.user_id].rules.append(rule)
        for user_id, period_start, period_end in AvailablePeriod.objects.filter(
            user_id__in=managed_user_ids, start__lt=end, end__gt=start
        ).values_list("user_id", "start", "end"):
            by_user[user_id].periods.append((seconds(period_start), seconds(period_end)))


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
