"""`GET /v1/calendars` and `POST /v1/calendars`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.actors import Actor
from accounts.api import AccountApiView, account_access, account_user
from calendars.api.serializers import CalendarEnvelopeOutput, CalendarsOutput
from calendars.models import Calendar
from calendars.selectors import calendar_profiles_of_user
from calendars.services import calendar_create
from core.api_params import HeaderSafeCharField


class Locked(APIException):
    status_code = 423
    default_detail = "The profile does not allow creating calendars."


class CalendarsApi(AccountApiView):
    required_scopes = {"GET": api_scopes.LIST_CALENDARS, "POST": api_scopes.CREATE_CALENDAR}

    class CreateInput(serializers.Serializer):
        profile_id = serializers.CharField()
        name = HeaderSafeCharField(max_length=500)
        color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)

    @extend_schema(responses=CalendarsOutput, summary="List calendars")
    def get(self, request: Request) -> Response:
        calendars = (
            Calendar.objects.filter(profile__user=account_user(request))
            .exclude(profile__status="disconnected")
            .exclude(profile_id__in=account_access(request).grant.revoked_profile_ids)
            .select_related("profile")
            .order_by("profile__id", "-is_primary", "name")
        )
        return Response(CalendarsOutput({"calendars": calendars}).data)

    @extend_schema(request=CreateInput, responses=CalendarEnvelopeOutput, summary="Create a calendar")
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = (
            calendar_profiles_of_user(user_id=account_user(request).pk, grant=account_access(request).grant)
            .filter(public_id=data.validated_data["profile_id"])
            .first()
        )
        if profile is None:
            raise serializers.ValidationError({"profile_id": ["Unknown profile."]})
        if not profile.is_connected or (not profile.policy.writes_events_natively and profile.platform is not None):
            raise Locked()
        calendar = calendar_create(
            profile=profile,
            name=data.validated_data["name"],
            color=data.validated_data.get("color", ""),
            actor=Actor.of_application(account_access(request).application, on_behalf_of=account_user(request)),
        )
        return Response(CalendarEnvelopeOutput({"calendar": calendar}).data)
