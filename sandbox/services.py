"""Writes in the sandbox world: events with change numbers, invitations copied into attendees'
calendars, rooms that answer by themselves, responses, push notifications after commit."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from sandbox.models import (
    Calendar,
    ChangeCounter,
    DelegationGrant,
    Event,
    Person,
    ServiceAccount,
    Subscription,
    Tenant,
    WatchChannel,
)
from sandbox.recurrence import Occurrence, occurrences

MEET_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def next_change_seq() -> int:
    """The next global change number. The counter row stays locked until the writer commits, so
    changes become visible in number order and a sync token never skips one. One statement (an
    UPDATE ... RETURNING, which PostgreSQL and SQLite both have): every event the sandbox writes takes
    a number, and three queries for it were a quarter of seeding the demo world."""
    quote = connection.ops.quote_name
    table, key = quote(ChangeCounter._meta.db_table), quote(ChangeCounter._meta.pk.column)
    value = quote(ChangeCounter._meta.get_field("value").column)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {value} = {value} + 1 WHERE {key} = 1 RETURNING {value}")  # noqa: S608  # names from the model
        row = cursor.fetchone()
    if row is None:  # the first change ever: the counter row is made, then counted
        ChangeCounter.objects.get_or_create(pk=1)
        return next_change_seq()
    return int(row[0])


def current_change_seq() -> int:
    counter = ChangeCounter.objects.filter(pk=1).first()
    return counter.value if counter else 0


def new_event_id() -> str:
    # Google's event ids use base32hex characters (a-v, 0-9).
    return "".join(secrets.choice("abcdefghijklmnopqrstuv0123456789") for _ in range(26))


def new_meet_code() -> str:
    parts = (3, 4, 3)
    return "-".join("".join(secrets.choice(MEET_ALPHABET) for _ in range(size)) for size in parts)


def meet_conference(request_id: str) -> dict[str, Any]:
    code = new_meet_code()
    return {
        "provider": "hangoutsMeet",
        "conferenceId": code,
        "joinUrl": f"https://meet.google.com/{code}",
        "requestId": request_id,
    }


def teams_conference() -> dict[str, Any]:
    thread = secrets.token_hex(16)
    return {
        "provider": "teamsForBusiness",
        "conferenceId": str(secrets.randbelow(10**9)),
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0",
    }


@dataclass
class EventChanges:
    """Fields to set on an event; attendees are replaced whole, as both providers do."""

    values: dict[str, Any] = field(default_factory=dict)


def _has_listeners(calendar: Calendar) -> bool:
    now = timezone.now()
    return (
        WatchChannel.objects.filter(calendar=calendar, stopped_at__isnull=True, expiration__gt=now).exists()
        or Subscription.objects.filter(
            person_id=calendar.owner_id, deleted_at__isnull=True, expiration__gt=now
        ).exists()
    )


def _save(event: Event) -> Event:
    event.change_seq = next_change_seq()
    event.updated = timezone.now()
    event.save()
    if _has_listeners(event.calendar):
        calendar_id, event_id = event.calendar_id, event.event_id
        transaction.on_commit(lambda: async_task("sandbox.tasks.notify_calendar_changed", calendar_id, event_id))
    return event


def _is_busy(calendar: Calendar, start: datetime, end: datetime, *, ignoring_uid: str) -> bool:
    rows = Event.objects.filter(calendar=calendar).exclude(ical_uid=ignoring_uid).select_related("series")
    for occurrence in occurrences(rows, start, end):
        if not occurrence.event.transparent and occurrence.event.response_of(calendar.owner.email) != "declined":
            return True
    return False


def _room_response(room: Person, event: Event) -> str:
    """Rooms accept an invitation when they are free for every occurrence in the coming year."""
    calendar = room.calendars.filter(is_primary=True).first()
    if calendar is None:
        return "declined"
    horizon_end = max(event.end, timezone.now()) + timedelta(days=365)
    slots: Sequence[Occurrence | Event] = [event]
    if event.is_series:
        slots = occurrences([event], event.start, horizon_end)
    for slot in slots:
        if _is_busy(calendar, slot.start, slot.end, ignoring_uid=event.ical_uid):
            return "declined"
    return "accepted"


def _answer_for_rooms(event: Event) -> None:
    emails = [attendee["email"].lower() for attendee in event.attendees if attendee.get("resource")]
    rooms = {room.email.lower(): room for room in Person.objects.filter(email__in=emails, kind=Person.Kind.ROOM)}
    for attendee in event.attendees:
        room = rooms.get(attendee["email"].lower())
        if room is not None and attendee.get("response", "needsAction") == "needsAction":
            attendee["response"] = _room_response(room, event)


def _copy_fields(source: Event) -> dict[str, Any]:
    return {
        name: getattr(source, name)
        for name in (
            "ical_uid",
            "summary",
            "description",
            "location",
            "start",
            "end",
            "all_day",
            "time_zone",
            "recurrence",
            "status",
            "is_private",
            "organizer_email",
            "organizer_name",
            "attendees",
            "conference",
            "sequence",
            "original_start",
        )
    }


def _propagate(event: Event) -> None:
    """Put the invitation into every sandbox attendee's primary calendar, as the provider's mail system
    would, and withdraw it from attendees who were removed."""
    organizer_calendar = event.calendar
    invited = {attendee["email"].lower(): attendee for attendee in event.attendees}
    people = Person.objects.filter(email__in=list(invited)).exclude(pk=organizer_calendar.owner_id)
    series_uid_filter = {"ical_uid": event.ical_uid, "original_start": event.original_start}
    for person in people:
        calendar = person.calendars.filter(is_primary=True).first()
        if calendar is None:
            continue
        response = invited[person.email.lower()].get("response", "needsAction")
        copy = Event.objects.filter(calendar=calendar, **series_uid_filter).first()
        values = _copy_fields(event)
        if response == "declined" and person.kind == Person.Kind.ROOM:
            values["status"] = Event.Status.CANCELLED  # a room keeps no event it declined
        values["show_as"] = Event.ShowAs.TENTATIVE if response in ("needsAction", "tentative") else event.show_as
        if event.series_id is not None:
            values["series"] = Event.objects.filter(
                calendar=calendar, ical_uid=event.ical_uid, original_start__isnull=True
            ).first()
        if copy is None:
            copy = Event(calendar=calendar, event_id=new_event_id(), created=timezone.now(), **values)
        else:
            for name, value in values.items():
                setattr(copy, name, value)
        _save(copy)
    removed = (
        Event.objects.filter(**series_uid_filter)
        .exclude(calendar=organizer_calendar)
        .exclude(calendar__owner__email__in=list(invited))
        .exclude(status=Event.Status.CANCELLED)
    )
    for copy in removed:
        copy.status = Event.Status.CANCELLED
        _save(copy)


@transaction.atomic
def event_create(*, calendar: Calendar, values: dict[str, Any], event_id: str | None = None) -> Event:
    """Create an event in a calendar as its owner (the organizer)."""
    owner = calendar.owner
    event = Event(
        calendar=calendar,
        event_id=event_id or new_event_id(),
        organizer_email=owner.email,
        organizer_name=owner.name,
        created=timezone.now(),
    )
    for name, value in values.items():
        setattr(event, name, value)
    if not event.ical_uid:
        event.ical_uid = f"{event.event_id}@sandbox"
    _answer_for_rooms(event)
    _save(event)
    _propagate(event)
    return event


SIGNIFICANT_FIELDS = {"start", "end", "recurrence", "location", "all_day"}


@transaction.atomic
def event_update(*, event: Event, values: dict[str, Any]) -> Event:
    """Change an event as its organizer. A new time or place bumps the sequence, as RFC 5546 asks."""
    if any(name in SIGNIFICANT_FIELDS and getattr(event, name) != value for name, value in values.items()):
        event.sequence += 1
    for name, value in values.items():
        setattr(event, name, value)
    _answer_for_rooms(event)
    _save(event)
    if event.organizer_email.lower() == event.calendar.owner.email.lower():
        _propagate(event)
    return event


@transaction.atomic
def event_cancel(*, event: Event) -> Event:
    """Delete an event: kept as cancelled so incremental syncs report it; attendees' copies go too."""
    event.status = Event.Status.CANCELLED
    _save(event)
    for exception in event.exceptions.exclude(status=Event.Status.CANCELLED):
        exception.status = Event.Status.CANCELLED
        _save(exception)
    if event.organizer_email.lower() == event.calendar.owner.email.lower():
        for copy in (
            Event.objects.filter(ical_uid=event.ical_uid)
            .exclude(calendar=event.calendar)
            .exclude(status=Event.Status.CANCELLED)
        ):
            copy.status = Event.Status.CANCELLED
            _save(copy)
    return event


@transaction.atomic
def occurrence_change(*, series: Event, original_start: datetime, values: dict[str, Any]) -> Event:
    """Change (or, with status cancelled, cancel) one occurrence of a series."""
    original_start = original_start.astimezone(UTC)
    exception = Event.objects.filter(series=series, original_start=original_start).first()
    if exception is None:
        duration = series.end - series.start
        exception = Event(
            calendar=series.calendar,
            event_id=f"{series.event_id}_{original_start:%Y%m%dT%H%M%SZ}",
            series=series,
            original_start=original_start,
            start=original_start,
            end=original_start + duration,
            created=timezone.now(),
            **{
                name: value
                for name, value in _copy_fields(series).items()
                if name not in ("start", "end", "recurrence", "original_start")
            },
        )
        exception.show_as, exception.transparent = series.show_as, series.transparent
    for name, value in values.items():
        setattr(exception, name, value)
    _save(exception)
    if series.organizer_email.lower() == series.calendar.owner.email.lower():
        _propagate(exception)
    return exception


@transaction.atomic
def event_respond(*, event: Event, response: str) -> Event:
    """The calendar's owner answers an invitation; the answer reaches every copy, the organizer's too."""
    email = event.calendar.owner.email.lower()
    for copy in Event.objects.filter(ical_uid=event.ical_uid, original_start=event.original_start):
        attendees = [dict(attendee) for attendee in copy.attendees]
        for attendee in attendees:
            if attendee["email"].lower() == email:
                attendee["response"] = response
        copy.attendees = attendees
        if copy.pk == event.pk:
            copy.show_as = {"accepted": Event.ShowAs.BUSY, "declined": Event.ShowAs.FREE}.get(
                response, Event.ShowAs.TENTATIVE
            )
        _save(copy)
    return Event.objects.get(pk=event.pk)


def calendar_expire_sync_tokens(*, calendar: Calendar) -> None:
    """Every sync token and delta link of this calendar now answers 410 Gone."""
    Calendar.objects.filter(pk=calendar.pk).update(sync_epoch=F("sync_epoch") + 1)


def new_guid() -> str:
    return str(uuid.uuid4())


#
# Domain-wide delegation, as a Workspace administrator grants it in the Google Admin console
#

# Scopes Google accepts in a delegation besides its https://www.googleapis.com/auth/… URLs.
GOOGLE_SHORT_SCOPES = {"email", "profile", "openid", "https://mail.google.com/"}
GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"


class DelegationRefused(Exception):
    """What the Admin console says when it will not save a delegation."""


def delegation_grant(*, tenant: Tenant, client_id: str, scopes: str | list[str]) -> DelegationGrant:
    """Allow the service account with this client id (its numeric unique id) these scopes for the
    Workspace's users; a client id delegated already has its scopes replaced (Google's overwrite)."""
    listed = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes)
    wanted = list(dict.fromkeys(scope.strip() for scope in listed if scope.strip()))
    account = ServiceAccount.objects.filter(unique_id=client_id.strip()).first() if client_id.strip() else None
    if account is None:
        raise DelegationRefused("Client ID is invalid: give the service account's numeric client ID.")
    if not wanted:
        raise DelegationRefused("Add at least one OAuth scope.")
    invalid = [s for s in wanted if s not in GOOGLE_SHORT_SCOPES and not s.startswith(GOOGLE_SCOPE_PREFIX)]
    if invalid:
        raise DelegationRefused(f"Invalid OAuth scope: {invalid[0]}")
    if tenant.provider != "google":
        raise DelegationRefused("Domain-wide delegation is a Google Workspace setting.")
    grant, _ = DelegationGrant.objects.update_or_create(
        tenant=tenant, service_account=account, defaults={"scopes": wanted}
    )
    return grant


def delegation_remove(*, tenant: Tenant, client_id: str) -> int:
    """Delete a client's delegation: its tokens for the Workspace's users stop being issued."""
    deleted, _ = DelegationGrant.objects.filter(tenant=tenant, service_account__unique_id=client_id).delete()
    return deleted
