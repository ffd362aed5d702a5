"""Managed Availability: `/v1/availability_rules` and `/v1/available_periods`."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import api_scopes
from accounts.api import AccountApiView, account_access, account_user
from calendars.api.serializers import check_own_calendars
from calendars.managed_availability import (
    DAYS,
    MAX_WEEKLY_PERIODS,
    availability_rule_delete,
    availability_rule_upsert,
    available_period_upsert,
    available_periods_delete,
    parse_clock,
)
from calendars.models import AvailabilityRule, AvailablePeriod
from core.api_outputs import CronofyTimeField, PagesOutput
from core.api_params import (
    DateOrTimeField,
    TimeSpan,
    TimeZoneField,
    as_instant,
    page_of,
    page_request,
    query_data,
    time_text,
)

IDENTIFIER = r"^[A-Za-z0-9_\-.:@]{1,200}$"


class WeeklyPeriod(serializers.Serializer):
    day = serializers.ChoiceField(choices=DAYS)
    start_time = serializers.CharField()
    end_time = serializers.CharField()

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        clocks = {}
        for name in ("start_time", "end_time"):
            try:
                clocks[name] = parse_clock(data[name])
            except ValueError:
                raise serializers.ValidationError({name: "must be a time of day, HH:MM (00:00 to 24:00)."}) from None
        if clocks["end_time"] <= clocks["start_time"]:
            raise serializers.ValidationError({"end_time": "must be after start_time."})
        return data


class RuleInput(serializers.Serializer):
    availability_rule_id = serializers.RegexField(IDENTIFIER)
    tzid = TimeZoneField()
    calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)
    # DRF hands max_length on to the ListSerializer many=True builds; the stubs do not list it.
    weekly_periods = WeeklyPeriod(many=True, max_length=MAX_WEEKLY_PERIODS)  # type: ignore[call-arg]


class WeeklyPeriodOutput(serializers.Serializer):
    day = serializers.ChoiceField(choices=DAYS)
    start_time = serializers.CharField(help_text="HH:MM in the rule's time zone.")
    end_time = serializers.CharField(help_text="HH:MM in the rule's time zone.")


class RuleOutput(serializers.Serializer):
    availability_rule_id = serializers.CharField()
    tzid = serializers.CharField()
    calendar_ids = serializers.ListField(child=serializers.CharField(), required=False)
    weekly_periods = WeeklyPeriodOutput(many=True)


class RuleEnvelopeOutput(serializers.Serializer):
    availability_rule = RuleOutput()


class RulesOutput(serializers.Serializer):
    availability_rules = RuleOutput(many=True)


class AvailablePeriodOutput(serializers.Serializer):
    available_period_id = serializers.CharField()
    start = CronofyTimeField()
    end = CronofyTimeField()


class AvailablePeriodsPageOutput(serializers.Serializer):
    pages = PagesOutput()
    available_periods = AvailablePeriodOutput(many=True)


def rule_output(rule: AvailabilityRule) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "availability_rule_id": rule.rule_id,
        "tzid": rule.tzid,
        "weekly_periods": rule.weekly_periods,
    }
    if rule.calendar_ids:
        shaped["calendar_ids"] = rule.calendar_ids
    return shaped


class AvailabilityRulesApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(request=RuleInput, responses=RuleEnvelopeOutput, summary="Create or replace an availability rule")
    def post(self, request: Request) -> Response:
        data = RuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        check_own_calendars(
            user_id=account_user(request).pk,
            calendar_ids=values.get("calendar_ids"),
            grant=account_access(request).grant,
        )
        rule = availability_rule_upsert(
            user=account_user(request),
            rule_id=values["availability_rule_id"],
            tzid=values["tzid"],
            calendar_ids=values.get("calendar_ids") or [],
            weekly_periods=values["weekly_periods"],
        )
        return Response(RuleEnvelopeOutput({"availability_rule": rule_output(rule)}).data)

    @extend_schema(responses=RulesOutput, summary="List the availability rules", operation_id="availability_rules_list")
    def get(self, request: Request) -> Response:
        rules = AvailabilityRule.objects.filter(user=account_user(request)).order_by("rule_id")
        return Response(RulesOutput({"availability_rules": [rule_output(rule) for rule in rules]}).data)


class AvailabilityRuleApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(responses=RuleEnvelopeOutput, summary="One availability rule")
    def get(self, request: Request, rule_id: str) -> Response:
        rule = AvailabilityRule.objects.filter(user=account_user(request), rule_id=rule_id).first()
        if rule is None:
            raise Http404
        return Response(RuleEnvelopeOutput({"availability_rule": rule_output(rule)}).data)

    @extend_schema(responses={202: None}, summary="Delete an availability rule")
    def delete(self, request: Request, rule_id: str) -> Response:
        if not availability_rule_delete(user=account_user(request), rule_id=rule_id):
            raise Http404
        return Response(status=202)


class PeriodInput(TimeSpan):
    available_period_id = serializers.RegexField(IDENTIFIER)


class PeriodDeleteInput(serializers.Serializer):
    available_period_id = serializers.RegexField(IDENTIFIER, required=False)
    delete_all = serializers.BooleanField(default=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("available_period_id") and not data["delete_all"]:
            raise serializers.ValidationError({"available_period_id": "required, unless delete_all is true."})
        return data


class PeriodsQuery(serializers.Serializer):
    tzid = TimeZoneField(default="Etc/UTC")
    to = DateOrTimeField(required=False)
    localized_times = serializers.BooleanField(default=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = DateOrTimeField(required=False)
        return fields


def periods_page(*, request: Request, params: dict[str, Any], page: int) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(params["tzid"])
    periods = AvailablePeriod.objects.filter(user=account_user(request)).order_by("start", "pk")
    if params.get("from"):
        periods = periods.filter(end__gt=params["from"])
    if params.get("to"):
        periods = periods.filter(start__lt=params["to"])
    current, window = page_of(
        periods.count(), page, kind="available_periods", grant_id=account_access(request).grant.pk, params=params
    )
    localized = params["localized_times"]
    return {
        "pages": current.as_cronofy("api-available-periods-page"),
        "available_periods": [
            {
                "available_period_id": period.period_id,
                "start": time_text(period.start, zone=zone, localized=localized),
                "end": time_text(period.end, zone=zone, localized=localized),
            }
            for period in periods[window]
        ],
    }


class AvailablePeriodsApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(request=PeriodInput, responses={202: None}, summary="Create or replace an available period")
    def post(self, request: Request) -> Response:
        data = PeriodInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        available_period_upsert(
            user=account_user(request),
            period_id=values["available_period_id"],
            start=values["start"],
            end=values["end"],
        )
        return Response(status=202)

    @extend_schema(parameters=[PeriodsQuery], responses=AvailablePeriodsPageOutput, summary="List available periods")
    def get(self, request: Request) -> Response:
        data = PeriodsQuery(data=query_data(request.query_params))
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        zone = zoneinfo.ZoneInfo(params["tzid"])
        for key in ("from", "to"):
            if params.get(key) is not None:
                params[key] = as_instant(params[key], zone)
        return Response(AvailablePeriodsPageOutput(periods_page(request=request, params=params, page=1)).data)

    @extend_schema(request=PeriodDeleteInput, responses={202: None}, summary="Delete one or every available period")
    def delete(self, request: Request) -> Response:
        data = PeriodDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        period_id = None if data.validated_data["delete_all"] else data.validated_data["available_period_id"]
        available_periods_delete(user=account_user(request), period_id=period_id)
        return Response(status=202)


class AvailablePeriodsPageApi(AccountApiView):
    required_scope = api_scopes.READ_FREE_BUSY

    @extend_schema(responses=AvailablePeriodsPageOutput, summary="A further page of available periods")
    def get(self, request: Request, token: str) -> Response:
        params, page = page_request(token, kind="available_periods", grant_id=account_access(request).grant.pk)
        return Response(AvailablePeriodsPageOutput(periods_page(request=request, params=params, page=page)).data)
