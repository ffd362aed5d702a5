"""`POST /v1/calendars/{calendar_id}/events` (upsert) and `DELETE /v1/calendars/{calendar_id}/events`."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time
from typing import Any

from django.http import Http404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, account_access
from bookings.services import EventInput, Invitee, managed_event_delete, managed_event_upsert
from calendars.api.views import Locked
from calendars.choices import ProfileStatus
from calendars.models import Calendar
from core.api_params import OUT_OF_RANGE, HeaderSafeCharField, TimeZoneField, in_supported_range, known_zone

MAX_ATTENDEES = 100


@extend_schema_field(OpenApiTypes.STR)
class EventTimeField(serializers.Field):
    """A date (all-day), a time with an offset, or `{"time": ..., "tzid": ...}` (a local time in that zone)."""

    default_error_messages = {
        # DRF formats these messages: braces are doubled.
        "invalid": 'must be a date (YYYY-MM-DD), a time with an offset, or {{"time": ..., "tzid": ...}}.',
        "zone": "“{value}” is not a time zone id.",
        "range": OUT_OF_RANGE,
    }

    def to_internal_value(self, data: Any) -> tuple[date | datetime, str | None]:
        tzid = None
        if isinstance(data, dict):
            tzid, data = data.get("tzid"), data.get("time")
            if not isinstance(tzid, str) or not known_zone(tzid):
                self.fail("zone", value=tzid)
        text = str(data or "").strip()
        try:
            day = parse_date(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is not None:
            if not in_supported_range(day):
                self.fail("range")
            return day, tzid
        try:
            moment = parse_datetime(text.replace("UTC", "Z"))
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if moment.tzinfo is None:
            if tzid is None:
                self.fail("invalid")
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(tzid))
        try:
            in_range = in_supported_range(moment.astimezone(UTC))
        except OverflowError:
            in_range = False
        if not in_range:
            self.fail("range")
        return moment, tzid


class InviteeInput(serializers.Serializer):
    email = serializers.EmailField()
    display_name = HeaderSafeCharField(max_length=200, required=False, allow_blank=True, default="")


class AttendeesInput(serializers.Serializer):
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out (here and below).
    invite = InviteeInput(many=True, required=False, max_length=MAX_ATTENDEES)  # type: ignore[call-arg]
    remove = InviteeInput(many=True, required=False, max_length=MAX_ATTENDEES)  # type: ignore[call-arg]


class LocationInput(serializers.Serializer):
    description = HeaderSafeCharField(max_length=1024, required=False, allow_blank=True, default="")
    lat = serializers.CharField(max_length=32, required=False)
    long = serializers.CharField(max_length=32, required=False)


class ConferencingInput(serializers.Serializer):
    profile_id = serializers.CharField(max_length=100)
    provider_description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    join_url = serializers.URLField(max_length=2000, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        profile = data["profile_id"]
        if profile == "explicit" and not data.get("join_url"):
            raise serializers.ValidationError({"join_url": 'is required with profile_id "explicit".'})
        if profile not in ("explicit", "integrated", "default", "none") and not profile.startswith("pro_"):
            raise serializers.ValidationError(
                {
                    "profile_id": 'must be a conferencing profile id (pro_…), "default", "integrated", "explicit" '
                    '(with a join_url) or "none".'
                }
            )
        return data


class InteractionInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["conferencing_assigned", "conferencing_failing"])


class SubscriptionInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["webhook"], required=False, default="webhook")
    uri = serializers.URLField(max_length=2000)  # http or https, as URLField accepts
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out.
    interactions = InteractionInput(many=True, min_length=1, max_length=10)  # type: ignore[call-arg]


class Reminder(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=0, max_value=40320)


# Cronofy's documented upsert fields this service does not implement. Each is refused by name with a
# 422 rather than dropped: an integrator that sent one would otherwise believe it took effect.
UNSUPPORTED_UPSERT_FIELDS = {
    "event_uid": "Editing events this application does not manage is not supported.",
    "color": "Event colours are not supported.",
    "extended_transparency": "extended_transparency is not supported; use transparency (opaque or transparent).",
    "attachments": "Attachments are not supported.",
    "recurrence": "Recurring events are not supported; upsert each occurrence as its own event.",
    "reminders_create_only": "reminders_create_only is not supported: reminders apply on every upsert.",
    "locale": "locale is not supported.",
    "event_classes": "event_classes is not supported.",
}


class EventUpsertInput(serializers.Serializer):
    event_id = HeaderSafeCharField(max_length=200)
    summary = HeaderSafeCharField(max_length=1024)
    description = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="")
    start = EventTimeField()
    end = EventTimeField()
    tzid = TimeZoneField(required=False)
    location = LocationInput(required=False)
    url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    transparency = serializers.ChoiceField(choices=["opaque", "transparent"], required=False, default="opaque")
    event_private = serializers.BooleanField(required=False, default=False)
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out.
    reminders = Reminder(many=True, required=False, max_length=5)  # type: ignore[call-arg]
    attendees = AttendeesInput(required=False)
    conferencing = ConferencingInput(required=False)
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out.
    subscriptions = SubscriptionInput(many=True, required=False, max_length=10)  # type: ignore[call-arg]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            refused = {
                name: [
                    ErrorDetail(
                        UNSUPPORTED_UPSERT_FIELDS.get(name, f"{name} is not a field of an event."),
                        code="unsupported" if name in UNSUPPORTED_UPSERT_FIELDS else "unknown",
                    )
                ]
                for name in data
                if name not in self.fields
            }
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        (start, start_zone), (end, end_zone) = data["start"], data["end"]
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise serializers.ValidationError({"end": "must be a date when start is a date, a time when it is a time."})
        tzid = start_zone or data.get("tzid") or end_zone or "Etc/UTC"
        all_day = not isinstance(start, datetime)
        if all_day:
            zone = zoneinfo.ZoneInfo(tzid)
            start = datetime.combine(start, time(), tzinfo=zone)
            end = datetime.combine(end, time(), tzinfo=zone)
        if end <= start:
            raise serializers.ValidationError({"end": "must be after start."})
        data["start"], data["end"], data["tzid"], data["all_day"] = start, end, tzid, all_day
        return data

    def event_input(self) -> EventInput:
        data = self.validated_data
        location = data.get("location") or {}
        attendees = data.get("attendees") or {}
        conferencing = None
        if data.get("conferencing") is not None:
            conferencing = {k: v for k, v in data["conferencing"].items() if v}
        subscriptions = None
        if data.get("subscriptions") is not None:
            subscriptions = [
                {
                    "type": item["type"],
                    "uri": item["uri"],
                    "interactions": [{"type": interaction["type"]} for interaction in item["interactions"]],
                }
                for item in data["subscriptions"]
            ]
        return EventInput(
            event_id=data["event_id"],
            summary=data["summary"],
            description=data["description"],
            start=data["start"],
            end=data["end"],
            all_day=data["all_day"],
            tzid=data["tzid"],
            location=location.get("description", ""),
            location_geo={key: location[key] for key in ("lat", "long") if key in location},
            url=data["url"],
            transparency=data["transparency"],
            event_private=data["event_private"],
            reminders=[dict(r) for r in data.get("reminders") or []],
            conferencing=conferencing,
            subscriptions=subscriptions,
            invite=[Invitee(email=i["email"], display_name=i["display_name"]) for i in attendees.get("invite") or []],
            remove=[r["email"] for r in attendees.get("remove") or []],
        )


class EventDeleteInput(serializers.Serializer):
    event_id = serializers.CharField(max_length=200)


def _calendar_for_events(request: Request, calendar_id: str) -> Calendar:
    """The account's calendar that takes events: 404 when not theirs, 422 when deleted or read-only,
    423 when its profile is disconnected or waiting to be relinked."""
    context = account_access(request)
    calendar = (
        Calendar.objects.select_related("profile__user", "profile__calendar_service")
        .filter(profile__user=context.user, public_id=calendar_id)
        .exclude(profile_id__in=context.grant.revoked_profile_ids)
        .first()
    )
    if calendar is None:
        raise Http404
    if calendar.is_deleted:
        raise serializers.ValidationError({"calendar_id": "The calendar has been deleted."})
    if calendar.is_readonly:
        raise serializers.ValidationError({"calendar_id": "The calendar is read-only."})
    if calendar.profile.status != ProfileStatus.CONNECTED:
        raise Locked("The calendar's profile is not connected: the account has to relink it.")
    return calendar


class CalendarEventsApi(AccountApiView):
    required_scopes = {"POST": api_scopes.CREATE_EVENT, "DELETE": api_scopes.DELETE_EVENT}

    @extend_schema(request=EventUpsertInput, responses={202: None}, summary="Create or update an event")
    def post(self, request: Request, calendar_id: str) -> Response:
        calendar = _calendar_for_events(request, calendar_id)
        data = EventUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        managed_event_upsert(
            application=account_access(request).application, calendar=calendar, data=data.event_input()
        )
        return Response(status=202)

    @extend_schema(request=EventDeleteInput, responses={202: None}, summary="Delete an event")
    def delete(self, request: Request, calendar_id: str) -> Response:
        calendar = _calendar_for_events(request, calendar_id)
        data = EventDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        managed_event_delete(
            application=account_access(request).application, calendar=calendar, event_id=data.validated_data["event_id"]
        )
        return Response(status=202)
