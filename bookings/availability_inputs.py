"""Selectors for `/v1/availability`: everything the engine needs about the participants, fetched in a
fixed number of queries however many participants there are, and turned into engine members.

A person's busy time is their synced busy periods (busy or tentative) on the calendars that count,
the managed events on those calendars, and the managed events they are invited to and have not
declined. Their available time, with Managed Availability, is their weekly rules plus their
available periods; people whose profiles are all No Access use it by default (their availability is
their preferences), and without rules they keep the usual office hours, Monday to Friday 9 to 5.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Model

from accounts.models import Application, Grant, User
from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee, Transparency
from calendars.access_modes import policy_for
from calendars.availability import Interval, Member, intersect, merge
from calendars.choices import BusyStatus, ProfileStatus
from calendars.managed_availability import rule_spans
from calendars.models import AvailabilityRule, AvailablePeriod, BusyPeriod, Calendar, CalendarProfile
from core.db_functions import column_sql, epoch_seconds_sql, placeholders, table_sql

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


@dataclass(frozen=True, slots=True)
class _Rule:
    """What the engine needs of an AvailabilityRule (read as plain columns, not model instances)."""

    rule_id: str
    tzid: str
    calendar_ids: list[str]
    weekly_periods: list[dict[str, str]]


@dataclass
class _Person:
    user_id: int
    tzid: str
    calendars: dict[str, int] = field(default_factory=dict)  # public id -> pk
    modes: set[str] = field(default_factory=set)
    busy_by_calendar: dict[int, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    invited: list[Interval] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
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
    if not subs:
        return {}
    people: dict[str, _Person] = {}
    given_up_by_sub: dict[str, list[int]] = {}
    calendars = []
    # One query for the grants and the calendars behind them (outer joins keep people without any).
    sql, parameters = _grants_sql(application.pk, subs)
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        granted = cursor.fetchall()
    for user_id, sub, tzid, given_up_json, profile_id, status, mode, calendar_pk, calendar_id, deleted in granted:
        person = people.get(sub)
        if person is None:
            person = people[sub] = _Person(user_id=user_id, tzid=tzid or "Etc/UTC")
            # The application gave up these profiles for itself: their calendars do not count.
            given_up = json.loads(given_up_json) if isinstance(given_up_json, str) else given_up_json
            given_up_by_sub[sub] = given_up or []
        counts = calendar_pk is not None and not deleted and status != ProfileStatus.DISCONNECTED
        if counts and profile_id not in given_up_by_sub[sub]:
            calendars.append((calendar_pk, calendar_id, person, mode))
    unknown = [sub for sub in subs if sub not in people]
    if unknown:
        raise UnknownParticipants(unknown)
    calendar_owner = _own_calendars(calendars)
    _fill_times(
        people.values(),
        calendar_owner,
        managed=[
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
    _fill_times([person], calendar_owner, managed=[person], start=start, end=end)
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


# What each row of the times query is (its first column), and whom its second column names.
_BUSY_ON_CALENDAR, _INVITED, _AVAILABLE_PERIOD, _RULE = 0, 1, 2, 3


def _fill_times(
    people: Iterable[_Person],
    calendar_owner: dict[int, _Person],
    *,
    managed: list[_Person],
    start: datetime,
    end: datetime,
) -> None:
    """Everyone's busy time over [start, end), and the Managed Availability of the `managed` people
    (rules and available periods, only when someone's answer uses them), in one query: times read as
    epoch seconds, never as per-row datetimes, which cost ten times the fetch. Busy time is the synced
    busy and tentative periods and the opaque events booked here on their calendars, and the opaque
    events they are invited to and have not declined."""
    by_user = {person.user_id: person for person in people}
    if not by_user:
        return
    sql, parameters = _times_sql(
        list(calendar_owner), list(by_user), [person.user_id for person in managed], start=start, end=end
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        found = cursor.fetchall()
    busy_of = {calendar_id: person.busy_by_calendar[calendar_id] for calendar_id, person in calendar_owner.items()}
    for kind, owner, time_start, time_end, rule_id, tzid, calendar_ids, weekly_periods in found:
        if kind == _BUSY_ON_CALENDAR:
            busy_of[owner].append((time_start, time_end))
        elif kind == _INVITED:
            by_user[owner].invited.append((time_start, time_end))
        elif kind == _AVAILABLE_PERIOD:
            by_user[owner].periods.append((time_start, time_end))
        else:
            rule = _Rule(rule_id, tzid, json.loads(calendar_ids), json.loads(weekly_periods))
            by_user[owner].rules.append(rule)


def _table(model: type[Model]) -> str:
    return table_sql(connection, model)


def _column(model: type[Model], name: str) -> str:
    return column_sql(connection, model, name)


def _grants_sql(application_id: int, subs: list[str]) -> tuple[str, list]:
    """The live grants of these subs to the application, each with the user's profiles and calendars
    (outer joins: a person without any still has a row)."""
    return _grants_sql_text(connection.vendor, len(subs)), [application_id, *subs]


@functools.lru_cache(maxsize=64)
def _grants_sql_text(vendor: str, subs: int) -> str:
    """Written by hand for the reason the times query is: Django's building of this five-table query
    cost more than running it. Only the number of subs (and the database, `vendor`) changes the text, so
    each shape is built once per process."""
    grant, user, profile, calendar = Grant, User, CalendarProfile, Calendar
    column, table = _column, _table
    return (
        f"SELECT {column(user, 'id')}, {column(user, 'public_id')}, {column(user, 'default_tzid')}, "  # noqa: S608  # names from the models; values as parameters
        f"{column(grant, 'revoked_profile_ids')}, {column(profile, 'id')}, {column(profile, 'status')}, "
        f"{column(profile, 'access_mode')}, {column(calendar, 'id')}, {column(calendar, 'public_id')}, "
        f"{column(calendar, 'is_deleted')} "
        f"FROM {table(grant)} JOIN {table(user)} ON {column(user, 'id')} = {column(grant, 'user')} "
        f"LEFT JOIN {table(profile)} ON {column(profile, 'user')} = {column(user, 'id')} "
        f"LEFT JOIN {table(calendar)} ON {column(calendar, 'profile')} = {column(profile, 'id')} "
        f"WHERE {column(grant, 'application')} = %s AND {column(grant, 'revoked_at')} IS NULL "
        f"AND {column(user, 'public_id')} IN ({placeholders(subs)}) AND {column(user, 'is_active')}"
    )


def _times_sql(
    calendar_ids: list[int], user_ids: list[int], managed_user_ids: list[int], *, start: datetime, end: datetime
) -> tuple[str, list]:
    """The times query: rows are (kind, calendar or user id, start, end, and for rules: rule id, tzid,
    calendar ids and weekly periods as JSON text), times in epoch seconds."""
    since, until = (connection.ops.adapt_datetimefield_value(moment) for moment in (start, end))
    parameters: list = []
    if calendar_ids:
        parameters += [*calendar_ids, until, since, BusyStatus.BUSY, BusyStatus.TENTATIVE]
        parameters += [*calendar_ids, Transparency.OPAQUE, until, since]
    parameters += [*user_ids, AttendeeStatus.DECLINED, Transparency.OPAQUE, until, since]
    if managed_user_ids:
        parameters += [*managed_user_ids, until, since, *managed_user_ids]
    sql = _times_sql_text(connection.vendor, len(calendar_ids), len(user_ids), len(managed_user_ids))
    return sql, parameters


@functools.lru_cache(maxsize=256)
def _times_sql_text(vendor: str, calendars: int, users: int, managed_users: int) -> str:
    """Written by hand: on this hot path Django's query building (several SELECTs with their joins) cost
    more than running the query. Only the numbers of ids (and the database, `vendor`) change the text,
    so each shape is built once per process (building both texts took 0.27 ms a call);
    table and column names come from the models, values are parameters (in `_times_sql`'s order)."""
    column, table, marks = _column, _table, placeholders

    def times(model: type[Model]) -> str:
        start_sql = epoch_seconds_sql(connection, column(model, "start"))
        return f"{start_sql}, {epoch_seconds_sql(connection, column(model, 'end'))}, {no_rule}"

    # Typed NULLs: PostgreSQL takes a UNION's column types from its first SELECT.
    no_rule = "CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT)"
    event, attendee, busy = ManagedEvent, ManagedEventAttendee, BusyPeriod
    selects = []
    if calendars:
        selects.append(
            f"SELECT {_BUSY_ON_CALENDAR}, {column(busy, 'calendar')}, {times(busy)} FROM {table(busy)} "  # noqa: S608  # names from the models; values as parameters
            f"WHERE {column(busy, 'calendar')} IN ({marks(calendars)}) AND {column(busy, 'start')} < %s "
            f"AND {column(busy, 'end')} > %s AND {column(busy, 'status')} IN (%s, %s)"
        )
        selects.append(
            f"SELECT {_BUSY_ON_CALENDAR}, {column(event, 'calendar')}, {times(event)} FROM {table(event)} "  # noqa: S608  # names from the models; values as parameters
            f"WHERE {column(event, 'calendar')} IN ({marks(calendars)}) AND {column(event, 'deleted_at')} IS NULL "
            f"AND {column(event, 'transparency')} = %s "
            f"AND {column(event, 'start')} < %s AND {column(event, 'end')} > %s"
        )
    selects.append(
        f"SELECT {_INVITED}, {column(attendee, 'user')}, {times(event)} FROM {table(attendee)} "  # noqa: S608  # names from the models; values as parameters
        f"JOIN {table(event)} ON {column(event, 'id')} = {column(attendee, 'event')} "
        f"WHERE {column(attendee, 'user')} IN ({marks(users)}) AND {column(attendee, 'removed_at')} IS NULL "
        f"AND {column(attendee, 'status')} <> %s AND {column(event, 'deleted_at')} IS NULL "
        f"AND {column(event, 'transparency')} = %s AND {column(event, 'start')} < %s AND {column(event, 'end')} > %s"
    )
    if managed_users:
        period, rule = AvailablePeriod, AvailabilityRule
        selects.append(
            f"SELECT {_AVAILABLE_PERIOD}, {column(period, 'user')}, {times(period)} FROM {table(period)} "  # noqa: S608  # names from the models; values as parameters
            f"WHERE {column(period, 'user')} IN ({marks(managed_users)}) "
            f"AND {column(period, 'start')} < %s AND {column(period, 'end')} > %s"
        )
        rule_columns = ", ".join(
            f"CAST({column(rule, name)} AS TEXT)" for name in ("rule_id", "tzid", "calendar_ids", "weekly_periods")
        )
        selects.append(
            f"SELECT {_RULE}, {column(rule, 'user')}, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), {rule_columns} "  # noqa: S608  # names from the models; values as parameters
            f"FROM {table(rule)} WHERE {column(rule, 'user')} IN ({marks(managed_users)})"
        )
    return " UNION ALL ".join(selects)


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
        available = spans + person.periods
        if not counting:
            counting = {calendar_id for rule in rules for calendar_id in rule.calendar_ids}
    if request.available_periods is not None:
        asked = [(seconds(s), seconds(e)) for s, e in request.available_periods]
        available = asked if available is None else intersect(merge(available), merge(asked))
    calendar_pks = [person.calendars[c] for c in counting if c in person.calendars] if counting else None
    busy = list(person.invited)
    for calendar_pk, busy_spans in person.busy_by_calendar.items():
        if calendar_pks is None or calendar_pk in calendar_pks:
            busy += busy_spans
    return Member(key=request.sub, busy=busy, available=available)


def _zone(tzid: str) -> str:
    try:
        zoneinfo.ZoneInfo(tzid)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "Etc/UTC"
    return tzid


def utc(moment: int) -> datetime:
    return datetime.fromtimestamp(moment, tz=UTC)
