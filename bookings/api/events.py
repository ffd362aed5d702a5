"""`GET /v1/events`: the events an integrator may read. Events it manages through this system, on
every kind of profile; external events only from Read-Write profiles whose details were kept, which
happens only with `read_events`. Free/Busy and No Access profiles have no external events to show."""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, F, QuerySet, Value
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, account_access
from accounts.models import Grant
from bookings.api.outputs import EventsPageOutput
from bookings.models import ManagedEvent
from bookings.shapes import managed_event_as_cronofy
from calendars.api.serializers import check_own_calendars
from calendars.models import BusyPeriod
from calendars.selectors import calendars_of_user
from core.api_params import (
    DateOrTimeField,
    WindowQuery,
    as_instant,
    page_of,
    page_request,
    query_data,
    time_text,
    utc_text,
)
from core.choices import AccessMode

PAGE_KIND = "events"


class EventsInput(WindowQuery):
    default_past = timedelta(days=16)

    last_modified = DateOrTimeField(required=False)
    include_managed = serializers.BooleanField(default=False)
    only_managed = serializers.BooleanField(default=False)
    include_deleted = serializers.BooleanField(default=False)
    localized_times = serializers.BooleanField(default=False)
    calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data = super().validate(data)
        if data.get("last_modified") is not None:
            data["last_modified"] = as_instant(data["last_modified"], zoneinfo.ZoneInfo(data["tzid"]))
        return data


def external_event_uid(calendar_id: str, provider_event_id: str) -> str:
    digest = hashlib.sha256(f"{calendar_id}\n{provider_event_id}".encode()).hexdigest()[:32]
    return f"evt_external_{digest}"


def _rows(*, user_id: int, grant: Grant, params: dict[str, Any], with_external: bool) -> QuerySet:
    application_id = grant.application_id
    calendars = calendars_of_user(user_id=user_id, calendar_ids=params.get("calendar_ids"), grant=grant)
    start, end = params["start"], params["end"]
    # An application reads back the events it manages, not another application's.
    managed = ManagedEvent.objects.filter(
        application_id=application_id, calendar__in=calendars, start__lt=end, end__gt=start
    )
    if not params["include_deleted"]:
        managed = managed.filter(deleted_at__isnull=True)
    if params.get("last_modified"):
        managed = managed.filter(updated_at__gte=params["last_modified"])
    # No ordering inside a compound query: the union is ordered as a whole.
    managed_rows = (
        managed.order_by()
        .annotate(ev_kind=Value("managed", output_field=CharField()), ev_start=F("start"))
        .values_list("ev_kind", "pk", "ev_start")
    )
    if not with_external:
        return managed_rows.order_by("ev_start", "pk")
    external = BusyPeriod.objects.filter(
        calendar__in=calendars.filter(profile__access_mode=AccessMode.READ_WRITE),
        detail__isnull=False,
        start__lt=end,
        end__gt=start,
    )
    if params.get("last_modified"):
        external = external.filter(updated_at__gte=params["last_modified"])
    external_rows = (
        external.order_by()
        .annotate(ev_kind=Value("external", output_field=CharField()), ev_start=F("start"))
        .values_list("ev_kind", "pk", "ev_start")
    )
    if params["only_managed"]:
        return managed_rows.order_by("ev_start", "pk")
    if not params["include_managed"]:
        return external_rows.order_by("ev_start", "pk")
    return managed_rows.union(external_rows, all=True).order_by("ev_start", "pk")


def events_page(*, request: Request, params: dict[str, Any], page: int) -> dict[str, Any]:
    context = account_access(request)
    with_external = context.allows(api_scopes.READ_EVENTS)
    rows = _rows(user_id=context.user.pk, grant=context.grant, params=params, with_external=with_external)
    current, window = page_of(rows.count(), page, kind=PAGE_KIND, grant_id=context.grant.pk, params=params)
    picked = list(rows[window])
    managed = {
        event.pk: event
        for event in ManagedEvent.objects.filter(pk__in=[pk for kind, pk, _ in picked if kind == "managed"])
        .select_related("calendar__profile__user", "conferencing_profile")
        .prefetch_related("attendees")
    }
    external = {
        row.pk: row
        for row in BusyPeriod.objects.filter(
            pk__in=[pk for kind, pk, _ in picked if kind == "external"]
        ).select_related("calendar__profile", "detail")
    }
    zone = zoneinfo.ZoneInfo(params["tzid"])
    shaped = []
    for kind, pk, _ in picked:
        if kind == "managed":
            shaped.append(managed_event_as_cronofy(managed[pk], zone=zone, localized=params["localized_times"]))
        else:
            shaped.append(_external_event(external[pk], zone=zone, localized=params["localized_times"]))
    return {"pages": current.as_cronofy("api-events-page"), "events": shaped}


def _times(
    start: datetime, end: datetime, *, all_day: bool, zone: zoneinfo.ZoneInfo, day_zone: str, localized: bool
) -> tuple[str | dict[str, str], str | dict[str, str]]:
    all_day_zone = zoneinfo.ZoneInfo(day_zone) if all_day else None
    return (
        time_text(start, zone=zone, localized=localized, all_day_zone=all_day_zone),
        time_text(end, zone=zone, localized=localized, all_day_zone=all_day_zone),
    )


def _external_event(row: BusyPeriod, *, zone: zoneinfo.ZoneInfo, localized: bool) -> dict[str, Any]:
    detail = row.detail
    start, end = _times(
        row.start, row.end, all_day=row.all_day, zone=zone, day_zone=row.calendar.time_zone, localized=localized
    )
    own = next(
        (a for a in detail.attendees if a.get("email", "").lower() == row.calendar.profile.profile_name.lower()), None
    )
    shaped: dict[str, Any] = {
        "calendar_id": row.calendar.public_id,
        "event_uid": external_event_uid(row.calendar.public_id, row.provider_event_id),
        "summary": detail.summary,
        "description": detail.description,
        "start": start,
        "end": end,
        "deleted": False,
        "updated": utc_text(row.updated_at),
        "location": {"description": detail.location} if detail.location else {},
        "participation_status": own.get("status", "needs_action") if own else "accepted",
        "attendees": [
            {"email": a["email"], "display_name": a.get("display_name", ""), "status": a.get("status", "needs_action")}
            for a in detail.attendees
        ],
        "organizer": {"email": detail.organizer_email, "display_name": ""},
        "transparency": "transparent" if row.status == "free" else "opaque",
        "status": "tentative" if row.status == "tentative" else "confirmed",
        "categories": [],
        "recurring": bool(row.series_id),
        "event_private": False,
        "options": {"delete": False, "update": False, "change_participation_status": False},
    }
    if row.series_id:
        shaped["series_identifier"] = external_event_uid(row.calendar.public_id, row.series_id)
    if detail.join_url:
        shaped["meeting_url"] = detail.join_url
    return shaped


def _params_allowed(request: Request, params: dict[str, Any]) -> None:
    """Reading external events needs read_events, and a calendar whose mode lets them be read; an
    application may always read back the events it manages, with create_event or read_events granted
    (in a mode that withholds read_events, a request that includes managed events gets only those)."""
    context = account_access(request)
    if context.allows(api_scopes.READ_EVENTS):
        return
    wants_managed = params["only_managed"] or params["include_managed"]
    if wants_managed and api_scopes.READ_EVENTS in context.scopes:
        return
    if params["only_managed"] and context.allows(api_scopes.CREATE_EVENT):
        return
    raise exceptions.PermissionDenied("The access token does not grant read_events.")


class EventsApi(AccountApiView):
    @extend_schema(parameters=[EventsInput], responses=EventsPageOutput, summary="Read events")
    def get(self, request: Request) -> Response:
        data = EventsInput(data=query_data(request.query_params, lists=["calendar_ids"]))
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        _params_allowed(request, params)
        context = account_access(request)
        check_own_calendars(user_id=context.user.pk, calendar_ids=params.get("calendar_ids"), grant=context.grant)
        return Response(EventsPageOutput(events_page(request=request, params=params, page=1)).data)


class EventsPageApi(AccountApiView):
    @extend_schema(responses=EventsPageOutput, summary="A further page of events")
    def get(self, request: Request, token: str) -> Response:
        params, page = page_request(token, kind=PAGE_KIND, grant_id=account_access(request).grant.pk)
        _params_allowed(request, params)
        return Response(EventsPageOutput(events_page(request=request, params=params, page=page)).data)
