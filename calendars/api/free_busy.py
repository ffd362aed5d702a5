"""`GET /v1/free_busy`: the account's busy periods, read from what sync keeps (never the provider)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from calendars.selectors import calendars_of_user, free_busy_rows
from cronofy_site.api import AccountApiView
from cronofy_site.api_params import (
    DateOrTimeField,
    TimeZoneField,
    as_instant,
    page_of,
    page_state,
    query_data,
    time_text,
)

DEFAULT_PAST = timedelta(days=42)
DEFAULT_FUTURE = timedelta(days=201)


class FreeBusyInput(serializers.Serializer):
    tzid = TimeZoneField()
    to = DateOrTimeField(required=False)
    include_managed = serializers.BooleanField(default=False)
    localized_times = serializers.BooleanField(default=False)
    calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = DateOrTimeField(required=False)  # a Python keyword, so not a class attribute
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        zone = zoneinfo.ZoneInfo(data["tzid"])
        today = timezone.now().astimezone(zone).date()
        data["start"] = as_instant(data.pop("from", today - DEFAULT_PAST), zone)
        data["end"] = as_instant(data.pop("to", today + DEFAULT_FUTURE), zone)
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"to": "must be after from."})
        return data


def free_busy_page(*, user_id: int, grant_id: int, params: dict[str, Any], page: int) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(params["tzid"])
    calendars = calendars_of_user(user_id=user_id, calendar_ids=params.get("calendar_ids"))
    rows = free_busy_rows(
        calendars=calendars, start=params["start"], end=params["end"], include_managed=params["include_managed"]
    )
    state = {
        "kind": "free_busy",
        "grant": grant_id,
        "params": {**params, "start": params["start"].isoformat(), "end": params["end"].isoformat()},
    }
    current, window = page_of(rows.count(), page, state=state)
    localized = params["localized_times"]
    return {
        "pages": current.as_cronofy("api-free-busy-page"),
        "free_busy": [
            {
                "calendar_id": calendar_id,
                "start": time_text(start, zone=zone, localized=localized, all_day_zone=_zone(all_day, calendar_zone)),
                "end": time_text(end, zone=zone, localized=localized, all_day_zone=_zone(all_day, calendar_zone)),
                "free_busy_status": status,
            }
            for calendar_id, start, end, all_day, status, calendar_zone in rows[window]
        ],
    }


def _zone(all_day: bool, name: str) -> zoneinfo.ZoneInfo | None:
    return zoneinfo.ZoneInfo(name) if all_day else None


class FreeBusyApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(parameters=[FreeBusyInput], responses=OpenApiTypes.OBJECT, summary="Free/busy periods")
    def get(self, request: Request) -> Response:
        data = FreeBusyInput(data=query_data(request.query_params, lists=["calendar_ids"]))
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        if params.get("calendar_ids"):
            known = set(
                calendars_of_user(user_id=request.user.pk, calendar_ids=params["calendar_ids"]).values_list(
                    "public_id", flat=True
                )
            )
            unknown = [calendar_id for calendar_id in params["calendar_ids"] if calendar_id not in known]
            if unknown:
                raise serializers.ValidationError({"calendar_ids": f"Unknown calendars: {', '.join(unknown)}."})
        return Response(free_busy_page(user_id=request.user.pk, grant_id=request.auth.grant.pk, params=params, page=1))


class FreeBusyPageApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="A further page of free/busy periods")
    def get(self, request: Request, token: str) -> Response:
        state = page_state(token)
        if state is None or state.get("kind") != "free_busy" or state.get("grant") != request.auth.grant.pk:
            raise Http404
        params = dict(state["params"])
        params["start"], params["end"] = datetime.fromisoformat(params["start"]), datetime.fromisoformat(params["end"])
        return Response(
            free_busy_page(user_id=request.user.pk, grant_id=request.auth.grant.pk, params=params, page=state["page"])
        )
