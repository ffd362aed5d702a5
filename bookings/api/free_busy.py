"""`GET /v1/free_busy`: the account's busy periods, read from what sync keeps (never the provider)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, account_access
from bookings.api.outputs import FreeBusyPageOutput
from bookings.selectors import free_busy_rows
from calendars.api.serializers import check_own_calendars
from calendars.selectors import calendars_of_user
from core.api_params import WindowQuery, page_of, page_request, query_data, time_text

PAGE_KIND = "free_busy"


class FreeBusyInput(WindowQuery):
    include_managed = serializers.BooleanField(default=False)
    localized_times = serializers.BooleanField(default=False)
    calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)


def free_busy_page(*, request: Request, params: dict[str, Any], page: int) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(params["tzid"])
    context = account_access(request)
    calendars = calendars_of_user(user_id=context.user.pk, calendar_ids=params.get("calendar_ids"), grant=context.grant)
    rows = free_busy_rows(
        calendars=calendars, start=params["start"], end=params["end"], include_managed=params["include_managed"]
    )
    current, window = page_of(rows.count(), page, kind=PAGE_KIND, grant_id=context.grant.pk, params=params)
    localized = params["localized_times"]

    def shown(moment: Any, all_day: bool, calendar_zone: str) -> Any:
        day_zone = zoneinfo.ZoneInfo(calendar_zone) if all_day else None
        return time_text(moment, zone=zone, localized=localized, all_day_zone=day_zone)

    return {
        "pages": current.as_cronofy("api-free-busy-page"),
        "free_busy": [
            {
                "calendar_id": calendar_id,
                "start": shown(start, all_day, calendar_zone),
                "end": shown(end, all_day, calendar_zone),
                "free_busy_status": status,
            }
            for calendar_id, start, end, all_day, status, calendar_zone in rows[window]
        ],
    }


class FreeBusyApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(parameters=[FreeBusyInput], responses=FreeBusyPageOutput, summary="Free/busy periods")
    def get(self, request: Request) -> Response:
        data = FreeBusyInput(data=query_data(request.query_params, lists=["calendar_ids"]))
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        context = account_access(request)
        check_own_calendars(user_id=context.user.pk, calendar_ids=params.get("calendar_ids"), grant=context.grant)
        return Response(FreeBusyPageOutput(free_busy_page(request=request, params=params, page=1)).data)


class FreeBusyPageApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(responses=FreeBusyPageOutput, summary="A further page of free/busy periods")
    def get(self, request: Request, token: str) -> Response:
        params, page = page_request(token, kind=PAGE_KIND, grant_id=account_access(request).grant.pk)
        return Response(FreeBusyPageOutput(free_busy_page(request=request, params=params, page=page)).data)
