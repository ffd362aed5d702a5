"""Google Calendar API v3: calendarList.list, freeBusy.query, events list/get/insert/patch/delete,
events.watch and channels.stop, with the scopes of Google's discovery document enforced."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_q.tasks import async_task

from sandbox import services
from sandbox.models import Calendar, Event, Person, Provider, Token, WatchChannel
from sandbox.recurrence import DEFAULT_HORIZON, Occurrence, occurrences
from sandbox.scopes import google_allows, google_sees_details
from sandbox.views.common import (
    ApiError,
    access_token,
    endpoint,
    google_error,
    json_body,
    parse_rfc3339,
    token_person,
    utc_z,
)

SYNC_SALT = "sandbox.google.sync"
PAGE_SALT = "sandbox.google.page"
SYNC_TOKEN_MAX_AGE = 30 * 86400
FREEBUSY_MAX_RANGE = timedelta(days=90)
FREEBUSY_CALENDAR_MAX = 50
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
RESPONSE_STATES = {"needsAction", "declined", "tentative", "accepted"}


def _authorized(request: HttpRequest, method_id: str) -> Token:
    token = access_token(request, Provider.GOOGLE)
    if not google_allows(method_id, token.scopes) or token.person is None:
        raise ApiError(
            google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                status_name="PERMISSION_DENIED",
            )
        )
    return token


def _own_calendar(token: Token, calendar_id: str) -> Calendar:
    calendars = Calendar.objects.select_related("owner").filter(owner=token.person)
    calendar = (
        calendars.filter(is_primary=True)
        if calendar_id == "primary"
        else calendars.filter(calendar_id__iexact=calendar_id)
    ).first()
    if calendar is None:
        raise ApiError(google_error(404, "notFound", "Not Found"))
    return calendar


MAX_REMINDER_OVERRIDES = 5
MAX_REMINDER_MINUTES = 40320  # four weeks


def _bad_request(message: str, *, reason: str = "invalid", location: str | None = None) -> ApiError:
    return ApiError(google_error(400, reason, message, location=location))


#
# Resource shapes
#


def _time(moment: datetime, zone_name: str, all_day: bool) -> dict[str, str]:
    if all_day:
        return {"date": moment.astimezone(UTC).date().isoformat()}
    return {"dateTime": moment.astimezone(ZoneInfo(zone_name)).isoformat(), "timeZone": zone_name}


def _etag(event: Event) -> str:
    return f'"{event.change_seq}"'


def _attendee_json(attendee: dict[str, Any], owner_email: str, organizer_email: str) -> dict[str, Any]:
    shaped: dict[str, Any] = {"email": attendee["email"], "responseStatus": attendee.get("response", "needsAction")}
    if attendee.get("name"):
        shaped["displayName"] = attendee["name"]
    if attendee.get("resource"):
        shaped["resource"] = True
    if attendee.get("optional"):
        shaped["optional"] = True
    if attendee["email"].lower() == organizer_email.lower():
        shaped["organizer"] = True
    if attendee["email"].lower() == owner_email.lower():
        shaped["self"] = True
    return shaped


def event_json(occurrence: Occurrence | Event, *, owner: Person, detail: bool, expanded: bool) -> dict[str, Any]:
    """An Event resource. Without a detail scope only what free/busy needs is shown: times, status,
    transparency and the owner's own answer."""
    if isinstance(occurrence, Event):
        occurrence = Occurrence(
            occurrence, occurrence.series, occurrence.start, occurrence.end, occurrence.original_start
        )
    event, series = occurrence.event, occurrence.series
    event_id = occurrence.instance_id if (expanded or series is None or event.series_id) else event.event_id
    shaped: dict[str, Any] = {"kind": "calendar#event", "etag": _etag(event), "id": event_id}
    if series is not None and (expanded or event.series_id):
        shaped["recurringEventId"] = series.event_id
        if occurrence.original_start is not None:  # always set on an occurrence of a series
            shaped["originalStartTime"] = _time(occurrence.original_start, series.time_zone, series.all_day)
    if event.is_cancelled or (series is not None and series.is_cancelled):
        shaped["status"] = "cancelled"
        return shaped
    shaped.update(
        {
            "status": event.status,
            "updated": f"{utc_z(event.updated)[:-1]}.000Z",
            "start": _time(occurrence.start, event.time_zone, event.all_day),
            "end": _time(occurrence.end, event.time_zone, event.all_day),
            "transparency": "transparent" if event.transparent else "opaque",
            "eventType": "default",
        }
    )
    if not expanded and event.is_series:
        shaped["recurrence"] = list(event.recurrence)
    own_answer = event.response_of(owner.email)
    if not detail:
        if own_answer is not None:
            shaped["attendees"] = [{"self": True, "responseStatus": own_answer}]
        return shaped
    shaped.update(
        {
            "htmlLink": f"https://calendar.google.com/calendar/event?eid={event.event_id}",
            "created": f"{utc_z(event.created)[:-1]}.000Z",
            "summary": event.summary,
            "iCalUID": event.ical_uid,
            "sequence": event.sequence,
            "visibility": "private" if event.is_private else "default",
            "organizer": {
                "email": event.organizer_email,
                **({"displayName": event.organizer_name} if event.organizer_name else {}),
                **({"self": True} if event.organizer_email.lower() == owner.email.lower() else {}),
            },
            "creator": {"email": event.organizer_email},
            "reminders": _reminders_json(event),
        }
    )
    if event.description:
        shaped["description"] = event.description
    if event.location:
        shaped["location"] = event.location
    if event.attendees:
        shaped["attendees"] = [_attendee_json(a, owner.email, event.organizer_email) for a in event.attendees]
    if event.conference.get("provider") == "hangoutsMeet":
        code = event.conference["conferenceId"]
        shaped["hangoutLink"] = event.conference["joinUrl"]
        shaped["conferenceData"] = {
            "createRequest": {
                "requestId": event.conference.get("requestId", ""),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
                "status": {"statusCode": "success"},
            },
            "entryPoints": [
                {"entryPointType": "video", "uri": event.conference["joinUrl"], "label": f"meet.google.com/{code}"}
            ],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": code,
        }
    return shaped


#
# calendarList.list
#


@endpoint(Provider.GOOGLE, "calendar.calendarList.list")
@require_http_methods(["GET"])
def calendar_list(request: HttpRequest) -> HttpResponse:
    token = _authorized(request, "calendar.calendarList.list")
    calendars = list(Calendar.objects.filter(owner=token.person).order_by("-is_primary", "name"))
    limit = min(int(request.GET.get("maxResults") or 100), 250)
    offset = _page_offset(request, "calendarList")
    page = calendars[offset : offset + limit]
    body: dict[str, Any] = {
        "kind": "calendar#calendarList",
        "etag": f'"{len(calendars)}"',
        "items": [
            {
                "kind": "calendar#calendarListEntry",
                "etag": f'"{calendar.pk}"',
                "id": calendar.calendar_id,
                "summary": calendar.name,
                "timeZone": calendar.time_zone,
                "accessRole": "owner",
                "primary": calendar.is_primary,
                "selected": True,
                "backgroundColor": calendar.color,
                "foregroundColor": "#000000",
                "defaultReminders": [{"method": "popup", "minutes": 10}],
                "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
            }
            for calendar in page
        ],
    }
    if offset + limit < len(calendars):
        body["nextPageToken"] = signing.dumps({"o": offset + limit, "k": "calendarList"}, salt=PAGE_SALT)
    else:
        body["nextSyncToken"] = signing.dumps({"k": "calendarList", "n": len(calendars)}, salt=SYNC_SALT)
    return JsonResponse(body)


def _page_offset(request: HttpRequest, kind: str) -> int:
    page_token = request.GET.get("pageToken")
    if not page_token:
        return 0
    try:
        data = signing.loads(page_token, salt=PAGE_SALT)
    except signing.BadSignature:
        raise _bad_request("Invalid page token value.", location="pageToken") from None
    if data.get("k") != kind:
        raise _bad_request("Invalid page token value.", location="pageToken")
    return int(data["o"])


@endpoint(Provider.GOOGLE, "calendar.calendars.insert")
@require_http_methods(["POST"])
def calendars_insert(request: HttpRequest) -> HttpResponse:
    token = _authorized(request, "calendar.calendars.insert")
    body = json_body(request, Provider.GOOGLE)
    summary = str(body.get("summary") or "").strip()
    if not summary:
        raise _bad_request("Missing title.", reason="required", location="summary")
    owner = token_person(token)
    zone = str(body.get("timeZone") or owner.time_zone)
    calendar = Calendar.objects.create(
        owner=owner,
        calendar_id=f"{secrets.token_hex(16)}@group.calendar.google.com",
        name=summary[:300],
        time_zone=zone,
    )
    return JsonResponse(
        {
            "kind": "calendar#calendar",
            "etag": f'"{calendar.pk}"',
            "id": calendar.calendar_id,
            "summary": calendar.name,
            "timeZone": calendar.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
    )


#
# freeBusy.query
#


def _visible(viewer: Person, target: Person) -> bool:
    """Free/busy is visible inside a Workspace organization (its default sharing), not across them."""
    return viewer.pk == target.pk or viewer.tenant_id == target.tenant_id


def busy_intervals(calendar: Calendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Merged busy time: opaque, not cancelled, not declined by the calendar's owner."""
    rows = Event.objects.filter(calendar=calendar).select_related("series")
    intervals = sorted(
        (max(slot.start, start), min(slot.end, end))
        for slot in occurrences(rows, start, end)
        if not slot.event.transparent and slot.event.response_of(calendar.owner.email) != "declined"
    )
    merged: list[tuple[datetime, datetime]] = []
    for slot_start, slot_end in intervals:
        if merged and slot_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], slot_end))
        else:
            merged.append((slot_start, slot_end))
    return merged


@endpoint(Provider.GOOGLE, "calendar.freebusy.query")
@require_http_methods(["POST"])
def freebusy(request: HttpRequest) -> HttpResponse:
    token = _authorized(request, "calendar.freebusy.query")
    body = json_body(request, Provider.GOOGLE)
    start, end = parse_rfc3339(body.get("timeMin", "")), parse_rfc3339(body.get("timeMax", ""))
    if start is None:
        raise _bad_request("Missing timeMin parameter.", reason="required", location="timeMin")
    if end is None:
        raise _bad_request("Missing timeMax parameter.", reason="required", location="timeMax")
    if end <= start:
        raise _bad_request("The specified time range is empty.", reason="timeRangeEmpty", location="timeMax")
    if end - start > FREEBUSY_MAX_RANGE:
        raise _bad_request("The requested time range is too long.", reason="timeRangeTooLong", location="timeMax")
    zone = ZoneInfo(body.get("timeZone") or "UTC")
    result: dict[str, Any] = {}
    for index, item in enumerate(body.get("items") or []):
        calendar_id = str(item.get("id", ""))
        if index >= FREEBUSY_CALENDAR_MAX:
            result[calendar_id] = {"errors": [{"domain": "global", "reason": "tooManyCalendarsRequested"}], "busy": []}
            continue
        calendar = (
            Calendar.objects.select_related("owner").filter(owner=token.person, is_primary=True).first()
            if calendar_id == "primary"
            else Calendar.objects.select_related("owner").filter(calendar_id__iexact=calendar_id).first()
        )
        if calendar is None or not _visible(token_person(token), calendar.owner):
            result[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        result[calendar_id] = {
            "busy": [
                {
                    "start": slot_start.astimezone(zone).isoformat().replace("+00:00", "Z"),
                    "end": slot_end.astimezone(zone).isoformat().replace("+00:00", "Z"),
                }
                for slot_start, slot_end in busy_intervals(calendar, start, end)
            ]
        }
    return JsonResponse(
        {
            "kind": "calendar#freeBusy",
            "timeMin": f"{utc_z(start)[:-1]}.000Z",
            "timeMax": f"{utc_z(end)[:-1]}.000Z",
            "calendars": result,
        }
    )


#
# events.list, with sync tokens
#


def _sync_token(calendar: Calendar, seq: int, query: dict[str, Any]) -> str:
    return signing.dumps({"c": calendar.pk, "e": calendar.sync_epoch, "s": seq, "q": query}, salt=SYNC_SALT)


def _read_sync_token(value: str, calendar: Calendar) -> dict[str, Any]:
    gone = ApiError(
        google_error(
            410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.", domain="calendar"
        )
    )
    try:
        data = signing.loads(value, salt=SYNC_SALT, max_age=SYNC_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise gone from None
    except signing.BadSignature:
        raise _bad_request("Invalid sync token value.", location="syncToken") from None
    if data.get("c") != calendar.pk:
        raise _bad_request("Invalid sync token value.", location="syncToken")
    if data.get("e") != calendar.sync_epoch:
        raise gone
    return data


def _window(query: dict[str, Any]) -> tuple[datetime, datetime]:
    start = parse_rfc3339(query.get("timeMin") or "") or EPOCH
    end = parse_rfc3339(query.get("timeMax") or "") or timezone.now() + DEFAULT_HORIZON
    return start, end


def _full_items(calendar: Calendar, query: dict[str, Any]) -> list[Occurrence | Event]:
    start, end = _window(query)
    rows = list(Event.objects.filter(calendar=calendar).select_related("series"))
    if query["singleEvents"]:
        found = occurrences(rows, start, end, include_cancelled=query["showDeleted"])
        if query.get("orderBy") == "updated":
            found.sort(key=lambda occurrence: occurrence.event.updated)
        return list(found)
    items: list[Occurrence | Event] = []
    for event in rows:
        if event.is_cancelled and not query["showDeleted"]:
            continue
        if event.is_series:
            if occurrences([event], start, end, include_cancelled=True):
                items.append(event)
        elif event.start < end and event.end > start:
            items.append(event)
    return items


def _changed_items(calendar: Calendar, since: int, query: dict[str, Any]) -> list[Occurrence | Event]:
    start, end = _window(query)
    changed = list(
        Event.objects.filter(calendar=calendar, change_seq__gt=since).select_related("series").order_by("change_seq")
    )
    if not query["singleEvents"]:
        return list(changed)
    items: list[Occurrence | Event] = []
    for event in changed:
        if event.is_series:
            exceptions = list(event.exceptions.all())
            items += occurrences([event, *exceptions], start, end, include_cancelled=True)
        else:
            items.append(event)
    return items


@endpoint(Provider.GOOGLE, "calendar.events.list")
@require_http_methods(["GET"])
def events_list(request: HttpRequest, calendar_id: str) -> HttpResponse:
    token = _authorized(request, "calendar.events.list")
    calendar = _own_calendar(token, calendar_id)
    params = request.GET
    limit = max(1, min(int(params.get("maxResults") or 250), 2500))
    sync_value = params.get("syncToken")
    if sync_value:
        restricted = [
            name
            for name in (
                "timeMin",
                "timeMax",
                "updatedMin",
                "q",
                "iCalUID",
                "orderBy",
                "privateExtendedProperty",
                "sharedExtendedProperty",
            )
            if params.get(name)
        ]
        if restricted:
            raise _bad_request(f"Sync token cannot be used with {restricted[0]}.", location=restricted[0])
        if params.get("showDeleted") == "false":
            raise _bad_request("Sync token cannot be used with showDeleted=false.", location="showDeleted")
    page_value = params.get("pageToken")
    if page_value:
        try:
            page = signing.loads(page_value, salt=PAGE_SALT)
        except signing.BadSignature:
            raise _bad_request("Invalid page token value.", location="pageToken") from None
        query, offset, snapshot, since = page["q"], page["o"], page["s"], page.get("since")
        if page.get("c") != calendar.pk:
            raise _bad_request("Invalid page token value.", location="pageToken")
    else:
        offset, snapshot = 0, services.current_change_seq()
        if sync_value:
            data = _read_sync_token(sync_value, calendar)
            query, since = data["q"], data["s"]
        else:
            query = {
                "singleEvents": params.get("singleEvents") == "true",
                "showDeleted": params.get("showDeleted") == "true",
                "timeMin": params.get("timeMin"),
                "timeMax": params.get("timeMax"),
                "orderBy": params.get("orderBy"),
            }
            if query["orderBy"] == "startTime" and not query["singleEvents"]:
                raise _bad_request(
                    "The requested ordering is not available for the particular query.", location="orderBy"
                )
            for name in ("timeMin", "timeMax"):
                if query[name] and parse_rfc3339(query[name]) is None:
                    raise _bad_request(f"Bad Request: invalid {name}", location=name)
            window_start, window_end = _window(query)
            if query["timeMin"] and query["timeMax"] and window_end <= window_start:
                raise _bad_request("The specified time range is empty.", reason="timeRangeEmpty", location="timeMax")
            since = None
    items = _changed_items(calendar, since, query) if since is not None else _full_items(calendar, query)
    detail = google_sees_details(token.scopes)
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"{snapshot}"',
        "summary": calendar.name,
        "updated": f"{utc_z(timezone.now())[:-1]}.000Z",
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [],
        "items": [
            event_json(item, owner=calendar.owner, detail=detail, expanded=query["singleEvents"])
            for item in items[offset : offset + limit]
        ],
    }
    if offset + limit < len(items):
        body["nextPageToken"] = signing.dumps(
            {"c": calendar.pk, "q": query, "o": offset + limit, "s": snapshot, "since": since}, salt=PAGE_SALT
        )
    else:
        body["nextSyncToken"] = _sync_token(calendar, snapshot, query)
    return JsonResponse(body)


@endpoint(Provider.GOOGLE, "calendar.events.get")
@require_http_methods(["GET"])
def events_get(request: HttpRequest, calendar_id: str, event_id: str) -> HttpResponse:
    token = _authorized(request, "calendar.events.get")
    calendar = _own_calendar(token, calendar_id)
    event = Event.objects.filter(calendar=calendar, event_id=event_id).select_related("series").first()
    if event is None:
        raise ApiError(google_error(404, "notFound", "Not Found"))
    return JsonResponse(
        event_json(event, owner=calendar.owner, detail=google_sees_details(token.scopes), expanded=False)
    )


#
# events.insert / patch / delete
#


def _parse_time(value: Any, name: str) -> tuple[datetime, bool, str | None]:
    if not isinstance(value, dict):
        raise _bad_request(f"Missing {name} time.", reason="required")
    zone_name = value.get("timeZone")
    if zone_name:
        try:
            ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad_request(f"Invalid time zone definition for {name} time.", reason="timeRangeEmpty") from None
    if value.get("date"):
        try:
            day = date.fromisoformat(value["date"])
        except ValueError:
            raise _bad_request(f"Invalid {name} time.") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC), True, zone_name
    moment = value.get("dateTime") and datetime.fromisoformat(value["dateTime"].replace("z", "Z"))
    if not moment:
        raise _bad_request(f"Missing {name} time.", reason="required")
    if moment.tzinfo is None:
        if not zone_name:
            raise _bad_request(f"Missing time zone definition for {name} time.", reason="required")
        moment = moment.replace(tzinfo=ZoneInfo(zone_name))
    return moment.astimezone(UTC), False, zone_name


def _reminders_json(event: Event) -> dict[str, Any]:
    if event.reminders is None:
        return {"useDefault": True}
    return {"useDefault": False, **({"overrides": list(event.reminders)} if event.reminders else {})}


def _reminders_from_body(reminders: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Google's rules: defaults or overrides, never both; at most 5 overrides, popup or email, up to
    four weeks ahead."""
    overrides = reminders.get("overrides") or []
    if reminders.get("useDefault"):
        if overrides:
            raise _bad_request(
                "Cannot specify both default reminders and overrides at the same time.",
                reason="cannotUseDefaultRemindersAndSpecifyOverride",
            )
        return None
    if len(overrides) > MAX_REMINDER_OVERRIDES:
        raise _bad_request("Too many reminders.", reason="tooManyReminders")
    shaped = []
    for override in overrides:
        minutes = override.get("minutes")
        if override.get("method") not in ("popup", "email") or not isinstance(minutes, int):
            raise _bad_request("Invalid reminder.", location="reminders")
        if not 0 <= minutes <= MAX_REMINDER_MINUTES:
            raise _bad_request("Invalid reminder minutes value.", location="reminders")
        shaped.append({"method": override["method"], "minutes": minutes})
    return shaped


def _values_from_body(
    body: dict[str, Any], *, calendar: Calendar, conference_version: int, partial: bool, existing: Event | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not partial or "start" in body or "end" in body:
        if not partial or ("start" in body and "end" in body):
            start, all_day, zone = _parse_time(body.get("start"), "start")
            end, _, _ = _parse_time(body.get("end"), "end")
            if end <= start:
                raise _bad_request("The specified time range is empty.", reason="timeRangeEmpty")
            values.update(start=start, end=end, all_day=all_day, time_zone=zone or calendar.time_zone)
        else:
            raise _bad_request("Both start and end must be given to move an event.", reason="required")
    for field, name in (("summary", "summary"), ("description", "description"), ("location", "location")):
        if field in body:
            values[name] = str(body[field] or "")
    if "transparency" in body:
        values["transparent"] = body["transparency"] == "transparent"
    if "visibility" in body:
        values["is_private"] = body["visibility"] in ("private", "confidential")
    if "status" in body and body["status"] in ("confirmed", "tentative"):
        values["status"] = body["status"]
    if "recurrence" in body:
        values["recurrence"] = [str(line) for line in body["recurrence"] or []]
    if "attendees" in body:
        attendees = []
        for attendee in body["attendees"] or []:
            email = str(attendee.get("email", "")).strip()
            if "@" not in email:
                raise _bad_request("Invalid attendee email.", location="attendees")
            response = attendee.get("responseStatus", "needsAction")
            attendees.append(
                {
                    "email": email,
                    "name": attendee.get("displayName", ""),
                    "response": response if response in RESPONSE_STATES else "needsAction",
                    "resource": bool(attendee.get("resource")),
                    "optional": bool(attendee.get("optional")),
                }
            )
        owner_email = calendar.owner.email.lower()
        for attendee in attendees:
            if attendee["email"].lower() == owner_email:
                attendee["response"] = "accepted"
        values["attendees"] = attendees
    if "reminders" in body:
        values["reminders"] = _reminders_from_body(body["reminders"] or {})
    conference = (body.get("conferenceData") or {}).get("createRequest")
    if conference_version >= 1 and conference:
        if (conference.get("conferenceSolutionKey") or {}).get("type") != "hangoutsMeet":
            raise _bad_request("Invalid conference type value.", location="conferenceData")
        request_id = str(conference.get("requestId", ""))
        if existing is not None and existing.conference.get("requestId") == request_id:
            values["conference"] = existing.conference  # Google ignores a create request it has seen
        else:
            values["conference"] = services.meet_conference(request_id)
    return values


def _write_guard(request: HttpRequest, method_id: str, calendar_id: str) -> tuple[Token, Calendar]:
    token = _authorized(request, method_id)
    return token, _own_calendar(token, calendar_id)


@endpoint(Provider.GOOGLE, "calendar.events.insert")
@require_http_methods(["POST"])
def events_insert(request: HttpRequest, calendar_id: str) -> HttpResponse:
    _, calendar = _write_guard(request, "calendar.events.insert", calendar_id)
    body = json_body(request, Provider.GOOGLE)
    version = int(request.GET.get("conferenceDataVersion") or 0)
    values = _values_from_body(body, calendar=calendar, conference_version=version, partial=False)
    event_id = body.get("id")
    if event_id is not None and not EVENT_ID.match(str(event_id)):
        raise _bad_request("Invalid resource id value.", location="id")
    with transaction.atomic():
        if event_id and Event.objects.filter(calendar=calendar, event_id=event_id).exists():
            raise ApiError(google_error(409, "duplicate", "The requested identifier already exists."))
        if body.get("iCalUID"):
            values["ical_uid"] = str(body["iCalUID"])
        event = services.event_create(calendar=calendar, values=values, event_id=event_id)
    return JsonResponse(event_json(event, owner=calendar.owner, detail=True, expanded=False))


@endpoint(Provider.GOOGLE, "calendar.events.patch")
@require_http_methods(["PATCH", "PUT"])
def events_patch(request: HttpRequest, calendar_id: str, event_id: str) -> HttpResponse:
    _, calendar = _write_guard(request, "calendar.events.patch", calendar_id)
    event = Event.objects.filter(calendar=calendar, event_id=event_id).select_related("calendar__owner").first()
    if event is None or event.is_cancelled:
        raise ApiError(
            google_error(
                404 if event is None else 410,
                "notFound" if event is None else "deleted",
                "Not Found" if event is None else "Resource has been deleted",
            )
        )
    body = json_body(request, Provider.GOOGLE)
    owner_email = calendar.owner.email.lower()
    if event.organizer_email.lower() != owner_email:
        # An attendee may only answer the invitation.
        answer = next(
            (
                a.get("responseStatus")
                for a in body.get("attendees") or []
                if str(a.get("email", "")).lower() == owner_email or a.get("self")
            ),
            None,
        )
        if answer not in RESPONSE_STATES or set(body) - {"attendees"}:
            raise ApiError(
                google_error(
                    403,
                    "forbiddenForNonOrganizer",
                    "Shared properties can only be changed by the organizer of the event.",
                )
            )
        event = services.event_respond(event=event, response=answer)
        return JsonResponse(event_json(event, owner=calendar.owner, detail=True, expanded=False))
    version = int(request.GET.get("conferenceDataVersion") or 0)
    values = _values_from_body(body, calendar=calendar, conference_version=version, partial=True, existing=event)
    if version < 1 and event.conference and "conferenceData" not in body:
        values["conference"] = {}  # Google drops conference data unless every write sends version 1
    event = services.event_update(event=event, values=values)
    return JsonResponse(event_json(event, owner=calendar.owner, detail=True, expanded=False))


@endpoint(Provider.GOOGLE, "calendar.events.delete")
@require_http_methods(["DELETE"])
def events_delete(request: HttpRequest, calendar_id: str, event_id: str) -> HttpResponse:
    _, calendar = _write_guard(request, "calendar.events.delete", calendar_id)
    event = Event.objects.filter(calendar=calendar, event_id=event_id).select_related("calendar__owner").first()
    if event is None:
        raise ApiError(google_error(404, "notFound", "Not Found"))
    if event.is_cancelled:
        raise ApiError(google_error(410, "deleted", "Resource has been deleted"))
    if event.organizer_email.lower() != calendar.owner.email.lower():
        services.event_respond(event=event, response="declined")
    services.event_cancel(event=event)
    return HttpResponse(status=204)


#
# events.watch and channels.stop
#


@endpoint(Provider.GOOGLE, "calendar.events.watch")
@require_http_methods(["POST"])
def events_watch(request: HttpRequest, calendar_id: str) -> HttpResponse:
    token = _authorized(request, "calendar.events.watch")
    calendar = _own_calendar(token, calendar_id)
    body = json_body(request, Provider.GOOGLE)
    channel_id, address = str(body.get("id", "")), str(body.get("address", ""))
    if body.get("type") not in ("web_hook", "webhook"):
        raise _bad_request("Invalid channel type.", reason="invalidParameter", location="type")
    if not channel_id or len(channel_id) > 64 or not re.match(r"^[A-Za-z0-9\-_+/=]+$", channel_id):
        raise _bad_request("Invalid channel id.", reason="invalidParameter", location="id")
    if not address.startswith(("http://", "https://")):
        raise _bad_request("Invalid address.", reason="invalidParameter", location="address")
    if WatchChannel.objects.filter(channel_id=channel_id).exists():
        raise _bad_request(f"Channel id {channel_id} not unique", reason="channelIdNotUnique")
    ttl = timedelta(days=7)
    if body.get("expiration"):
        requested = datetime.fromtimestamp(int(body["expiration"]) / 1000, tz=UTC) - timezone.now()
        ttl = min(ttl, max(requested, timedelta(minutes=1)))
    channel = WatchChannel.objects.create(
        channel_id=channel_id,
        resource_id=secrets.token_urlsafe(18),
        calendar=calendar,
        address=address,
        token=str(body.get("token", "")),
        expiration=timezone.now() + ttl,
    )
    transaction.on_commit(lambda: async_task("sandbox.tasks.deliver_google_push", channel.pk, "sync"))
    return JsonResponse(
        {
            "kind": "api#channel",
            "id": channel.channel_id,
            "resourceId": channel.resource_id,
            "resourceUri": resource_uri(request, calendar),
            "token": channel.token,
            "expiration": str(int(channel.expiration.timestamp() * 1000)),
        }
    )


def google_calendar_base(request: HttpRequest | None) -> str:
    if request is not None:
        return request.build_absolute_uri("/sandbox/google/calendar/v3/")
    return f"{settings.SANDBOX_URL.rstrip('/')}/google/calendar/v3/"


def resource_uri(request: HttpRequest | None, calendar: Calendar) -> str:
    return f"{google_calendar_base(request)}calendars/{calendar.calendar_id}/events?alt=json"


@endpoint(Provider.GOOGLE, "calendar.channels.stop")
@require_http_methods(["POST"])
def channels_stop(request: HttpRequest) -> HttpResponse:
    token = _authorized(request, "calendar.channels.stop")
    body = json_body(request, Provider.GOOGLE)
    channel = WatchChannel.objects.filter(
        channel_id=str(body.get("id", "")),
        resource_id=str(body.get("resourceId", "")),
        calendar__owner=token.person,
        stopped_at__isnull=True,
    ).first()
    if channel is None:
        raise ApiError(google_error(404, "notFound", f"Channel '{body.get('id', '')}' not found for project"))
    WatchChannel.objects.filter(pk=channel.pk).update(stopped_at=timezone.now())
    return HttpResponse(status=204)
