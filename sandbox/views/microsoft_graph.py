"""Microsoft Graph v1.0: me/users, calendars, getSchedule, calendarView and its delta, events
create/update/delete/cancel/respond, subscriptions with the validation handshake, and (in
`microsoft_online_meetings`) the user list and Teams online meetings."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from django.core import signing
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import services
from sandbox.models import Calendar, Event, Person, Provider, Subscription, Token
from sandbox.recurrence import Occurrence, occurrences
from sandbox.scopes import graph_allows, graph_sees_body
from sandbox.views import microsoft_directory
from sandbox.views import microsoft_online_meetings as teams
from sandbox.views.common import ApiError, access_token, endpoint, graph_error, json_body

DELTA_SALT = "sandbox.graph.delta"
SCHEDULE_MAX_ENTITIES = 100
SCHEDULE_MAX_RANGE = timedelta(days=62)
SUBSCRIPTION_MAX_MINUTES = 4230
VALIDATION_TIMEOUT_SECONDS = 10
# Windows time zone names Graph clients send, and the IANA zones they stand for.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "India Standard Time": "Asia/Kolkata",
}
RESPONSES = {"needsAction": "none", "accepted": "accepted", "tentative": "tentativelyAccepted", "declined": "declined"}
AVAILABILITY_DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}

DEFAULT_REMINDER_MINUTES = 15


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(
            graph_error(
                400,
                "TimeZoneNotSupportedException",
                f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
            )
        ) from None


def _graph_time(moment: datetime, zone: ZoneInfo, zone_label: str) -> dict[str, str]:
    local = moment.astimezone(zone)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_label}


def _parse_graph_time(value: Any, name: str) -> datetime:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ApiError(graph_error(400, "ErrorInvalidRequest", f"Property {name} is required."))
    zone = _zone(value.get("timeZone") or "UTC")
    text = value["dateTime"].rstrip("Z")
    text = re.sub(r"\.(\d{6})\d*$", r".\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(graph_error(400, "ErrorInvalidRequest", f"Invalid {name}.dateTime value.")) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _query_time(request: HttpRequest, name: str) -> datetime:
    value = request.GET.get(name, "")
    if not value:
        raise ApiError(
            graph_error(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by "
                "the query string parameters StartDateTime and EndDateTime.",
            )
        )
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ApiError(
            graph_error(400, "ErrorInvalidParameter", f"The value '{value}' of parameter '{name}' is invalid.")
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _output_zone(request: HttpRequest) -> tuple[ZoneInfo, str]:
    match = re.search(r'outlook\.timezone="([^"]+)"', request.headers.get("Prefer", ""))
    label = match.group(1) if match else "UTC"
    return _zone(label), label


#
# Who is asking, about whom
#


def _target(token: Token, user: str | None) -> Person:
    """The mailbox a request is about: /me for delegated tokens; /users/{id|upn} in the token's tenant."""
    if user is None:
        if token.person is None:
            raise ApiError(
                graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            )
        return token.person
    person = (
        Person.objects.select_related("tenant")
        .filter(tenant__provider=Provider.MICROSOFT)
        .filter(email__iexact=user)
        .first()
        or Person.objects.select_related("tenant").filter(external_id__iexact=user).first()
    )
    if person is None:
        raise ApiError(graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store."))
    tenant_id = token.person.tenant_id if token.person else token.tenant_id
    if person.tenant_id != tenant_id:
        raise ApiError(graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store."))
    if token.person is not None and person.pk != token.person.pk:
        raise ApiError(graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
    return person


def _require(token: Token, operation: str) -> None:
    if not graph_allows(operation, token.scopes):
        raise ApiError(graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))


def _user_path(person: Person) -> str:
    return f"users/{person.external_id}"


#
# Shapes
#


def _responses_for(event: Event, owner: Person) -> dict[str, Any]:
    if event.organizer_email.lower() == owner.email.lower():
        return {"response": "organizer", "time": "0001-01-01T00:00:00Z"}
    return {
        "response": RESPONSES.get(event.response_of(owner.email) or "needsAction", "none"),
        "time": "0001-01-01T00:00:00Z",
    }


def _show_as(event: Event, owner: Person) -> str:
    if event.transparent or event.response_of(owner.email) == "declined":
        return "free"
    return event.show_as


def event_json(
    item: Occurrence | Event, *, owner: Person, body: bool, zone: ZoneInfo, zone_label: str
) -> dict[str, Any]:
    """An event resource. Calendars.ReadBasic shows subject and attendees but never the body."""
    if isinstance(item, Event):
        item = Occurrence(item, item.series, item.start, item.end, item.original_start)
    event, series = item.event, item.series
    kind = "singleInstance" if series is None else "exception" if event.series_id else "occurrence"
    if event.is_series and series is None:
        kind = "seriesMaster"
    shaped: dict[str, Any] = {
        "@odata.etag": f'W/"{event.change_seq}"',
        "id": item.instance_id if series else event.event_id,
        "createdDateTime": event.created.isoformat().replace("+00:00", "Z"),
        "lastModifiedDateTime": event.updated.isoformat().replace("+00:00", "Z"),
        "changeKey": str(event.change_seq),
        "iCalUId": event.ical_uid,
        "subject": event.summary,
        "importance": "normal",
        "sensitivity": "private" if event.is_private else "normal",
        "isAllDay": event.all_day,
        "isCancelled": event.is_cancelled,
        "isOrganizer": event.organizer_email.lower() == owner.email.lower(),
        "responseRequested": True,
        "seriesMasterId": series.event_id if series else None,
        "showAs": _show_as(event, owner),
        "type": kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={quote(event.event_id)}&exvsurl=1&path=/calendar/item",
        "responseStatus": _responses_for(event, owner),
        "start": _graph_time(item.start, zone, zone_label),
        "end": _graph_time(item.end, zone, zone_label),
        "location": {"displayName": event.location, "locationType": "default"},
        "attendees": [
            {
                "type": "resource"
                if attendee.get("resource")
                else ("optional" if attendee.get("optional") else "required"),
                "status": {
                    "response": RESPONSES.get(attendee.get("response", "needsAction"), "none"),
                    "time": "0001-01-01T00:00:00Z",
                },
                "emailAddress": {"name": attendee.get("name", ""), "address": attendee["email"]},
            }
            for attendee in event.attendees
        ],
        "organizer": {"emailAddress": {"name": event.organizer_name, "address": event.organizer_email}},
        # Outlook keeps one reminder (15 minutes unless the event has its own); none when turned off.
        "isReminderOn": event.reminders is None or bool(event.reminders),
        "reminderMinutesBeforeStart": event.reminders[0]["minutes"] if event.reminders else DEFAULT_REMINDER_MINUTES,
        "isOnlineMeeting": event.conference.get("provider") == "teamsForBusiness",
        "onlineMeetingProvider": "teamsForBusiness"
        if event.conference.get("provider") == "teamsForBusiness"
        else "unknown",
        "onlineMeeting": {"joinUrl": event.conference["joinUrl"]}
        if event.conference.get("provider") == "teamsForBusiness"
        else None,
    }
    if event.series_id and event.original_start:
        shaped["originalStart"] = event.original_start.isoformat().replace("+00:00", "Z")
    if body:
        shaped["bodyPreview"] = event.description[:255]
        shaped["body"] = {"contentType": "text", "content": event.description}
    return shaped


def _calendar_json(calendar: Calendar) -> dict[str, Any]:
    owner = calendar.owner
    return {
        "id": calendar.calendar_id,
        "name": calendar.name,
        "color": "auto",
        "hexColor": calendar.color,
        "isDefaultCalendar": calendar.is_primary,
        "changeKey": str(calendar.pk),
        "canShare": calendar.is_primary,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": owner.name, "address": owner.email},
    }


def _user_json(person: Person) -> dict[str, Any]:
    given, _, family = person.name.partition(" ")
    return {
        "id": person.external_id,
        "displayName": person.name,
        "givenName": given,
        "surname": family,
        "mail": person.email,
        "userPrincipalName": person.email,
        "jobTitle": None,
        "officeLocation": None,
        "preferredLanguage": "en-GB",
        "businessPhones": [],
        "mobilePhone": None,
    }


def _calendar_of(person: Person, calendar_id: str | None) -> Calendar:
    calendars = Calendar.objects.select_related("owner").filter(owner=person)
    calendar = (calendars.filter(calendar_id=calendar_id) if calendar_id else calendars.filter(is_primary=True)).first()
    if calendar is None:
        raise ApiError(graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store."))
    return calendar


#
# Operations
#


def me(request: HttpRequest, token: Token, user: str | None) -> HttpResponse:
    _require(token, "graph.me" if user is None else "graph.users.get")
    return JsonResponse(
        {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            **_user_json(_target(token, user)),
        }
    )


def calendars(request: HttpRequest, token: Token, user: str | None) -> HttpResponse:
    person = _target(token, user)
    if request.method == "POST":
        _require(token, "graph.calendars.create")
        name = str(json_body(request, Provider.MICROSOFT).get("name") or "").strip()
        if not name:
            raise ApiError(graph_error(400, "ErrorInvalidRequest", "The calendar name is required."))
        calendar = Calendar.objects.create(
            owner=person, calendar_id=_graph_event_id(), name=name[:300], time_zone=person.time_zone
        )
        return JsonResponse(_calendar_json(Calendar.objects.select_related("owner").get(pk=calendar.pk)), status=201)
    _require(token, "graph.calendars.list")
    return JsonResponse(
        {
            "value": [
                _calendar_json(c)
                for c in Calendar.objects.filter(owner=person).select_related("owner").order_by("-is_primary", "name")
            ]
        }
    )


def default_calendar(request: HttpRequest, token: Token, user: str | None) -> HttpResponse:
    _require(token, "graph.calendars.list")
    return JsonResponse(_calendar_json(_calendar_of(_target(token, user), None)))


def get_schedule(request: HttpRequest, token: Token, user: str | None) -> HttpResponse:
    _require(token, "graph.getSchedule")
    viewer = _target(token, user)
    body = json_body(request, Provider.MICROSOFT)
    schedules = body.get("schedules") or []
    if not isinstance(schedules, list) or not schedules:
        raise ApiError(graph_error(400, "ErrorInvalidParameter", "Schedules must contain at least one entry."))
    if len(schedules) > SCHEDULE_MAX_ENTITIES:
        raise ApiError(
            graph_error(
                400,
                "ErrorMailboxDataArrayTooBig",
                f"The number of entries in the mailbox data array exceeds the allowed size = {SCHEDULE_MAX_ENTITIES}.",
            )
        )
    start, end = (
        _parse_graph_time(body.get("startTime"), "startTime"),
        _parse_graph_time(body.get("endTime"), "endTime"),
    )
    if end <= start:
        raise ApiError(graph_error(400, "ErrorInvalidTimeInterval", "The start time must be before the end time."))
    if end - start > SCHEDULE_MAX_RANGE:
        raise ApiError(
            graph_error(400, "ErrorTimeIntervalTooBig", "The time interval is too big; it cannot exceed 62 days.")
        )
    interval = int(body.get("availabilityViewInterval") or 30)
    if not 5 <= interval <= 1440:
        raise ApiError(
            graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440.")
        )
    zone, label = _output_zone(request)
    values = []
    for address in schedules:
        person = Person.objects.filter(email__iexact=str(address), tenant_id=viewer.tenant_id).first()
        calendar = person.calendars.filter(is_primary=True).first() if person else None
        if person is None or calendar is None:
            values.append(
                {
                    "scheduleId": address,
                    "availabilityView": "",
                    "scheduleItems": [],
                    "error": {
                        "message": f"Unable to resolve the mailbox '{address}'.",
                        "responseCode": "ErrorMailRecipientNotFound",
                    },
                }
            )
            continue
        values.append(_schedule(calendar, start, end, interval, zone, label, details=person.pk == viewer.pk))
    return JsonResponse(
        {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection("
            "microsoft.graph.scheduleInformation)",
            "value": values,
        }
    )


def _schedule(
    calendar: Calendar, start: datetime, end: datetime, interval: int, zone: ZoneInfo, label: str, *, details: bool
) -> dict[str, Any]:
    owner = calendar.owner
    rows = Event.objects.filter(calendar=calendar).select_related("series")
    slots = [slot for slot in occurrences(rows, start, end) if _show_as(slot.event, owner) != "free"]
    items = []
    for slot in slots:
        item: dict[str, Any] = {
            "isPrivate": slot.event.is_private,
            "status": _show_as(slot.event, owner),
            "start": _graph_time(slot.start, zone, label),
            "end": _graph_time(slot.end, zone, label),
        }
        if details and not slot.event.is_private:
            item.update(subject=slot.event.summary, location=slot.event.location)
        items.append(item)
    view = []
    cursor = start
    while cursor < end:
        block_end = min(cursor + timedelta(minutes=interval), end)
        states = [_show_as(s.event, owner) for s in slots if s.start < block_end and s.end > cursor]
        worst = max(states, key=lambda state: AVAILABILITY_DIGITS.get(state, "0"), default="free")
        view.append(AVAILABILITY_DIGITS.get(worst, "0"))
        cursor = block_end
    return {
        "scheduleId": owner.email,
        "availabilityView": "".join(view),
        "scheduleItems": items,
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "09:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": owner.time_zone},
        },
    }


def calendar_view(request: HttpRequest, token: Token, user: str | None, calendar_id: str | None) -> HttpResponse:
    _require(token, "graph.calendarView")
    person = _target(token, user)
    calendar = _calendar_of(person, calendar_id)
    start, end = _query_time(request, "startDateTime"), _query_time(request, "endDateTime")
    top = max(1, min(int(request.GET.get("$top") or 10), 1000))
    skip = int(request.GET.get("$skip") or 0)
    zone, label = _output_zone(request)
    rows = Event.objects.filter(calendar=calendar).select_related("series")
    found = occurrences(rows, start, end)
    body = graph_sees_body(token.scopes)
    response: dict[str, Any] = {
        "value": [
            event_json(item, owner=person, body=body, zone=zone, zone_label=label) for item in found[skip : skip + top]
        ]
    }
    if skip + top < len(found):
        query = request.GET.copy()
        query["$skip"] = str(skip + top)
        response["@odata.nextLink"] = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return JsonResponse(response)


# Graph serves at most this many items a page for Outlook resources (the ceiling of `$top` there);
# `Prefer: odata.maxpagesize` asks for less or up to it, and a delta page holds 100 otherwise.
DELTA_MAX_PAGE = 1000
DELTA_DEFAULT_PAGE = 100


def calendar_view_delta(request: HttpRequest, token: Token, user: str | None, calendar_id: str | None) -> HttpResponse:
    """A round of pages (`@odata.nextLink`) ending in an `@odata.deltaLink`. Each page costs what it
    holds, not the calendar: the tokens carry a keyset position (the first round walks the calendar's
    rows by id, a delta round its changed rows by change number, each row expanded into its items),
    so a page reads only its own rows."""
    _require(token, "graph.calendarView.delta")
    person = _target(token, user)
    calendar = _calendar_of(person, calendar_id)
    page_size = DELTA_DEFAULT_PAGE
    match = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
    if match:
        page_size = max(1, min(int(match.group(1)), DELTA_MAX_PAGE))
    state = _delta_state(request, calendar)
    if state is None:
        start, end = _query_time(request, "startDateTime"), _query_time(request, "endDateTime")
        state = {
            "c": calendar.pk,
            "e": calendar.sync_epoch,
            "w": [start.isoformat(), end.isoformat()],
            "since": None,
            "snap": services.current_change_seq(),
            "k": [0, 0],
        }
    start, end = (datetime.fromisoformat(value) for value in state["w"])
    zone, label = _output_zone(request)
    body = graph_sees_body(token.scopes)

    def as_json(slots: list[Occurrence]) -> list[dict[str, Any]]:
        return [
            {"@odata.type": "#microsoft.graph.event", "id": slot.instance_id, "@removed": {"reason": "deleted"}}
            if slot.is_cancelled or (slot.series is not None and slot.series.is_cancelled)
            else event_json(slot, owner=person, body=body, zone=zone, zone_label=label)
            for slot in slots
        ]

    exceptions = Prefetch("exceptions", queryset=Event.objects.select_related("series"))
    if state["since"] is None:
        # Every row that can have an occurrence in the window: singles and series (their exceptions
        # come with them), by id.
        rows = Event.objects.filter(calendar=calendar, series__isnull=True, start__lt=end).prefetch_related(exceptions)
        page, following_key = _keyset_page(
            rows,
            "pk",
            state.get("k", [0, 0]),
            page_size,
            lambda row: as_json(occurrences([row, *row.exceptions.all()] if row.is_series else [row], start, end)),
        )
    else:
        rows = (
            Event.objects.filter(calendar=calendar, change_seq__gt=state["since"], change_seq__lte=state["snap"])
            .select_related("series")
            .prefetch_related(exceptions)
        )
        page, following_key = _keyset_page(
            rows, "change_seq", state.get("k", [0, 0]), page_size, lambda row: as_json(_changed_slots(row, start, end))
        )
    base = request.build_absolute_uri(request.path)
    response: dict[str, Any] = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "value": page,
    }
    if following_key is not None:
        response["@odata.nextLink"] = (
            f"{base}?$skiptoken={signing.dumps({**state, 'k': following_key}, salt=DELTA_SALT)}"
        )
    else:
        following = {
            "c": calendar.pk,
            "e": calendar.sync_epoch,
            "w": state["w"],
            "since": state["snap"],
            "snap": None,
            "k": [0, 0],
        }
        response["@odata.deltaLink"] = f"{base}?$deltatoken={signing.dumps(following, salt=DELTA_SALT)}"
    return JsonResponse(response)


def _keyset_page(
    rows: QuerySet[Event],
    key: str,
    position: list[int],
    size: int,
    expand: Callable[[Event], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[int] | None]:
    """Up to `size` items of `rows` in order of the integer `key`, from `position` ([the key of the row
    to resume at, how many of its items were already served]); returns them and the next position,
    None when the rows are exhausted. Rows are read in chunks just over a page."""
    resume_key, served = position
    items: list[dict[str, Any]] = []
    while True:
        chunk = list(rows.filter(**{f"{key}__gte": resume_key}).order_by(key)[: size + 1])
        for row in chunk:
            row_key = getattr(row, key)
            row_items = expand(row)
            offset = served if row_key == resume_key else 0
            if len(items) == size:  # the page is full: a next one only if something is left
                if len(row_items) > offset:
                    return items, [row_key, offset]
                continue
            taken = row_items[offset : offset + size - len(items)]
            items.extend(taken)
            if offset + len(taken) < len(row_items):
                return items, [row_key, offset + len(taken)]  # the page ends inside this row
        if len(chunk) <= size:
            return items, None
        resume_key, served = getattr(chunk[-1], key) + 1, 0


def _delta_state(request: HttpRequest, calendar: Calendar) -> dict[str, Any] | None:
    value = request.GET.get("$skiptoken") or request.GET.get("$deltatoken")
    if not value:
        return None
    try:
        state = signing.loads(value, salt=DELTA_SALT)
    except signing.BadSignature:
        raise ApiError(graph_error(400, "BadRequest", "The delta token is malformed.")) from None
    if state.get("c") != calendar.pk:
        raise ApiError(graph_error(400, "BadRequest", "The delta token does not belong to this resource."))
    if state.get("e") != calendar.sync_epoch:
        raise ApiError(
            graph_error(
                410,
                "SyncStateNotFound",
                "The sync state generation is not found. Restart the synchronization without a delta token.",
            )
        )
    if state["snap"] is None:
        state["snap"] = services.current_change_seq()
    return state


def _changed_slots(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    """What a delta round reports for one changed row: a series' occurrences in the window (cancelled
    ones included, to be reported removed), or the single event or exception itself."""
    if event.is_series:
        return occurrences([event, *event.exceptions.all()], start, end, include_cancelled=True)
    return [Occurrence(event, event.series, event.start, event.end, event.original_start)]


def _reminders_from_body(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("isReminderOn") is False:
        return []
    minutes = body.get("reminderMinutesBeforeStart", DEFAULT_REMINDER_MINUTES)
    if not isinstance(minutes, int) or minutes < 0:
        raise ApiError(graph_error(400, "ErrorInvalidRequest", "reminderMinutesBeforeStart is not valid."))
    return [{"method": "popup", "minutes": minutes}]


def _event_values(body: dict[str, Any], *, owner: Person, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not partial or "start" in body:
        values["start"] = _parse_graph_time(body.get("start"), "start")
        values["time_zone"] = WINDOWS_ZONES.get(
            (body.get("start") or {}).get("timeZone") or "UTC", (body.get("start") or {}).get("timeZone") or "UTC"
        )
    if not partial or "end" in body:
        values["end"] = _parse_graph_time(body.get("end"), "end")
    if "start" in values and "end" in values and values["end"] <= values["start"]:
        raise ApiError(graph_error(400, "ErrorInvalidRequest", "The end time must be after the start time."))
    if "subject" in body:
        values["summary"] = str(body["subject"] or "")
    if "body" in body:
        values["description"] = str((body["body"] or {}).get("content", ""))
    if "location" in body:
        values["location"] = str((body["location"] or {}).get("displayName", ""))
    if "isAllDay" in body:
        values["all_day"] = bool(body["isAllDay"])
    if "showAs" in body and body["showAs"] in AVAILABILITY_DIGITS:
        values["show_as"] = body["showAs"]
    if "sensitivity" in body:
        values["is_private"] = body["sensitivity"] in ("private", "confidential")
    if "attendees" in body:
        attendees = []
        for attendee in body["attendees"] or []:
            address = str((attendee.get("emailAddress") or {}).get("address", "")).strip()
            if "@" not in address:
                raise ApiError(graph_error(400, "ErrorInvalidRecipients", "At least one recipient is not valid."))
            attendees.append(
                {
                    "email": address,
                    "name": (attendee.get("emailAddress") or {}).get("name", ""),
                    "response": "needsAction",
                    "resource": attendee.get("type") == "resource",
                    "optional": attendee.get("type") == "optional",
                }
            )
        values["attendees"] = attendees
    if "isReminderOn" in body or "reminderMinutesBeforeStart" in body:
        values["reminders"] = _reminders_from_body(body)
    if body.get("isOnlineMeeting") and body.get("onlineMeetingProvider", "teamsForBusiness") == "teamsForBusiness":
        values["conference"] = services.teams_conference()
    elif "isOnlineMeeting" in body and not body["isOnlineMeeting"]:
        values["conference"] = {}
    return values


def create_event(request: HttpRequest, token: Token, user: str | None, calendar_id: str | None) -> HttpResponse:
    _require(token, "graph.events.create")
    person = _target(token, user)
    calendar = _calendar_of(person, calendar_id)
    body = json_body(request, Provider.MICROSOFT)
    values = _event_values(body, owner=person, partial=False)
    transaction_id = str(body.get("transactionId") or "")
    with transaction.atomic():
        if transaction_id:
            # Graph uses transactionId to recognise a retried create and answers with the first event.
            existing = Event.objects.filter(calendar=calendar, ical_uid=f"tx-{transaction_id}").first()
            if existing is not None:
                return _event_response(existing, person, token, status=201)
            values["ical_uid"] = f"tx-{transaction_id}"
        else:
            values["ical_uid"] = f"040000008200E00074C5B7101A82E008{secrets.token_hex(24).upper()}"
        event = services.event_create(calendar=calendar, values=values, event_id=_graph_event_id())
    return _event_response(event, person, token, status=201)


def _graph_event_id() -> str:
    return "AAMkAGsbx" + secrets.token_urlsafe(30).replace("-", "A").replace("_", "B") + "AAA="


def _event_response(event: Event, person: Person, token: Token, *, status: int = 200) -> JsonResponse:
    zone = ZoneInfo("UTC")
    return JsonResponse(
        event_json(event, owner=person, body=graph_sees_body(token.scopes), zone=zone, zone_label="UTC"), status=status
    )


def _own_event(person: Person, event_id: str) -> Event:
    event = (
        Event.objects.filter(calendar__owner=person, event_id=event_id)
        .select_related("calendar__owner", "series")
        .first()
    )
    if event is None or event.is_cancelled:
        raise ApiError(graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store."))
    return event


def event_item(request: HttpRequest, token: Token, user: str | None, event_id: str) -> HttpResponse:
    person = _target(token, user)
    if request.method == "GET":
        _require(token, "graph.events.get")
        return _event_response(_own_event(person, event_id), person, token)
    if request.method == "PATCH":
        _require(token, "graph.events.update")
        event = _own_event(person, event_id)
        if event.organizer_email.lower() != person.email.lower():
            raise ApiError(graph_error(403, "ErrorAccessDenied", "Only the organizer can update the meeting."))
        values = _event_values(json_body(request, Provider.MICROSOFT), owner=person, partial=True)
        return _event_response(services.event_update(event=event, values=values), person, token)
    if request.method == "DELETE":
        _require(token, "graph.events.delete")
        event = _own_event(person, event_id)
        if event.organizer_email.lower() != person.email.lower():
            services.event_respond(event=event, response="declined")
        services.event_cancel(event=event)
        return HttpResponse(status=204)
    return graph_error(405, "Request_BadRequest", "Method not allowed.")


def event_action(request: HttpRequest, token: Token, user: str | None, event_id: str, action: str) -> HttpResponse:
    person = _target(token, user)
    event = _own_event(person, event_id)
    if action == "cancel":
        _require(token, "graph.events.cancel")
        if event.organizer_email.lower() != person.email.lower():
            raise ApiError(
                graph_error(
                    400,
                    "ErrorAccessDenied",
                    "Your request can't be completed. You need to be an organizer to cancel a meeting.",
                )
            )
        services.event_cancel(event=event)
        return HttpResponse(status=202)
    _require(token, "graph.events.respond")
    if event.organizer_email.lower() == person.email.lower():
        raise ApiError(graph_error(400, "ErrorInvalidRequest", "The organizer cannot respond to their own meeting."))
    answer = {"accept": "accepted", "decline": "declined", "tentativelyaccept": "tentative"}[action.lower()]
    services.event_respond(event=event, response=answer)
    return HttpResponse(status=202)


#
# Subscriptions
#


def _subscription_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": str(subscription.subscription_id),
        "resource": subscription.resource,
        "applicationId": subscription.client.client_id,
        "changeType": ",".join(subscription.change_types),
        "clientState": subscription.client_state or None,
        "notificationUrl": subscription.notification_url,
        "lifecycleNotificationUrl": subscription.lifecycle_notification_url or None,
        "expirationDateTime": subscription.expiration.isoformat().replace("+00:00", "Z"),
        "creatorId": subscription.person.external_id,
        "latestSupportedTlsVersion": "v1_2",
        "notificationContentType": None,
        "includeResourceData": False,
    }


def _expiration(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("z", "Z"))
    except ValueError:
        raise ApiError(graph_error(400, "InvalidRequest", "expirationDateTime is not a valid date.")) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    now = timezone.now()
    if moment <= now:
        raise ApiError(graph_error(400, "InvalidRequest", "Subscription expiration can only be in the future."))
    if moment > now + timedelta(minutes=SUBSCRIPTION_MAX_MINUTES):
        raise ApiError(
            graph_error(
                400,
                "InvalidRequest",
                f"Subscription expiration can only be {SUBSCRIPTION_MAX_MINUTES} minutes in the future.",
            )
        )
    return moment


def _validate_endpoint(url: str) -> None:
    """Graph's handshake: POST ?validationToken=…, expect 200 text/plain echoing the token within 10 s."""
    challenge = secrets.token_urlsafe(24)
    separator = "&" if "?" in url else "?"
    try:
        response = requests.post(
            f"{url}{separator}validationToken={quote(challenge)}",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            data=b"",
            timeout=VALIDATION_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        response = None
    if (
        response is None
        or response.status_code != 200
        or response.text != challenge
        or not response.headers.get("Content-Type", "").startswith("text/plain")
    ):
        raise ApiError(
            graph_error(
                400,
                "ValidationError",
                f"Subscription validation request failed. Notification "
                f"endpoint must respond with 200 OK to validation request. ({url})",
            )
        )


def subscriptions(request: HttpRequest, token: Token) -> HttpResponse:
    _require(token, "graph.subscriptions")
    if request.method != "POST":
        return JsonResponse(
            {
                "value": [
                    _subscription_json(s)
                    for s in Subscription.objects.filter(client=token.client, deleted_at__isnull=True).select_related(
                        "client", "person"
                    )
                ]
            }
        )
    body = json_body(request, Provider.MICROSOFT)
    resource = str(body.get("resource", "")).strip("/")
    match = re.fullmatch(r"(?i)(me|users/([^/]+))/(events|calendar/events|calendars/[^/]+/events)", resource)
    if match is None:
        raise ApiError(graph_error(400, "InvalidRequest", f"Resource '{resource}' is not supported."))
    person = _target(token, match.group(2))
    change_types = [part.strip() for part in str(body.get("changeType", "")).split(",") if part.strip()]
    if not change_types or set(change_types) - {"created", "updated", "deleted"}:
        raise ApiError(graph_error(400, "InvalidRequest", "changeType must be created, updated and/or deleted."))
    notification_url = str(body.get("notificationUrl", ""))
    if not notification_url.startswith(("http://", "https://")):
        raise ApiError(graph_error(400, "InvalidRequest", "notificationUrl must be an http(s) URL."))
    client_state = str(body.get("clientState") or "")
    if len(client_state) > 128:
        raise ApiError(graph_error(400, "InvalidRequest", "clientState can be at most 128 characters long."))
    expiration = _expiration(body.get("expirationDateTime"))
    _validate_endpoint(notification_url)
    lifecycle = str(body.get("lifecycleNotificationUrl") or "")
    if lifecycle:
        _validate_endpoint(lifecycle)
    subscription = Subscription.objects.create(
        client=token.client,
        person=person,
        resource=resource,
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_notification_url=lifecycle,
        client_state=client_state,
        expiration=expiration,
    )
    return JsonResponse(_subscription_json(subscription), status=201)


def subscription_item(request: HttpRequest, token: Token, subscription_id: str) -> HttpResponse:
    _require(token, "graph.subscriptions")
    wanted = _uuid(subscription_id)
    subscription = (
        Subscription.objects.filter(subscription_id=wanted, client=token.client, deleted_at__isnull=True)
        .select_related("client", "person")
        .first()
        if wanted is not None
        else None
    )
    if subscription is None or subscription.expiration <= timezone.now():
        raise ApiError(graph_error(404, "ResourceNotFound", "The object was not found."))
    if request.method == "PATCH":
        subscription.expiration = _expiration(json_body(request, Provider.MICROSOFT).get("expirationDateTime"))
        subscription.save(update_fields=["expiration"])
    elif request.method == "DELETE":
        Subscription.objects.filter(pk=subscription.pk).update(deleted_at=timezone.now())
        return HttpResponse(status=204)
    return JsonResponse(_subscription_json(subscription))


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


#
# Routing: Graph paths are case-insensitive and reach the same mailbox through /me or /users/{id}.
#

USER = r"(?:me|users/(?P<user>[^/]+))"
CALENDAR = r"(?:/calendars/(?P<calendar>[^/]+)|/calendar)?"
ROUTES: list[tuple[str, set[str], str, Callable[..., HttpResponse]]] = [
    # The directory first: "users/delta" would otherwise read as the user called "delta".
    (r"users", {"GET"}, "graph.users.list", microsoft_directory.users_list),
    (r"users/delta", {"GET"}, "graph.users.delta", microsoft_directory.users_delta),
    (r"organization", {"GET"}, "graph.organization", microsoft_directory.organization),
    (r"places/microsoft\.graph\.room", {"GET"}, "graph.places", microsoft_directory.rooms),
    (rf"{USER}", {"GET"}, "graph.me", me),
    (rf"{USER}/calendars", {"GET", "POST"}, "graph.calendars", calendars),
    (rf"{USER}/calendar", {"GET"}, "graph.calendars.list", default_calendar),
    (rf"{USER}/calendar/getSchedule", {"POST"}, "graph.getSchedule", get_schedule),
    (rf"{USER}{CALENDAR}/calendarView", {"GET"}, "graph.calendarView", calendar_view),
    (rf"{USER}{CALENDAR}/calendarView/delta", {"GET"}, "graph.calendarView.delta", calendar_view_delta),
    (rf"{USER}{CALENDAR}/events", {"POST"}, "graph.events.create", create_event),
    (rf"{USER}/events/(?P<event>[^/]+)", {"GET", "PATCH", "DELETE"}, "graph.events.item", event_item),
    (
        rf"{USER}/events/(?P<event>[^/]+)/(?P<action>cancel|accept|decline|tentativelyAccept)",
        {"POST"},
        "graph.events.action",
        event_action,
    ),
    (rf"{USER}/onlineMeetings", {"POST"}, "graph.onlineMeetings.create", teams.online_meetings),
    (
        rf"{USER}/onlineMeetings/(?P<action>createOrGet)",
        {"POST"},
        "graph.onlineMeetings.createOrGet",
        teams.online_meetings,
    ),
    (
        rf"{USER}/onlineMeetings/(?P<meeting>[^/]+)",
        {"GET", "PATCH", "DELETE"},
        "graph.onlineMeetings.item",
        teams.online_meeting_item,
    ),
    (r"subscriptions", {"GET", "POST"}, "graph.subscriptions", subscriptions),
    (r"subscriptions/(?P<subscription>[^/]+)", {"GET", "PATCH", "DELETE"}, "graph.subscriptions", subscription_item),
]
COMPILED = [
    (re.compile(f"^{pattern}$", re.IGNORECASE), methods, operation, view)
    for pattern, methods, operation, view in ROUTES
]


@csrf_exempt
def dispatch(request: HttpRequest, path: str) -> HttpResponse:
    for pattern, methods, operation, view in COMPILED:
        match = pattern.match(path.strip("/"))
        if match is None:
            continue
        if request.method not in methods:
            return graph_error(
                405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
            )
        return _run(request, operation, view, match.groupdict())
    return graph_error(400, "BadRequest", f"Resource not found for the segment '{path.split('/')[0]}'.")


def _run(
    request: HttpRequest, operation: str, view: Callable[..., HttpResponse], groups: dict[str, str | None]
) -> HttpResponse:
    @endpoint(Provider.MICROSOFT, operation)
    def handle(request: HttpRequest) -> HttpResponse:
        token = access_token(request, Provider.MICROSOFT)
        arguments: dict[str, Any] = {}
        if "user" in groups:
            arguments["user"] = groups["user"]
        if view in (calendar_view, calendar_view_delta, create_event):
            arguments["calendar_id"] = groups.get("calendar")
        if "event" in groups:
            arguments["event_id"] = groups["event"]
        if "action" in groups:
            arguments["action"] = groups["action"]
        if "subscription" in groups:
            arguments["subscription_id"] = groups["subscription"]
        if "meeting" in groups:
            arguments["meeting_id"] = groups["meeting"]
        return view(request, token, **arguments)

    return handle(request)
