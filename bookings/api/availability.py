"""`POST /v1/availability`: when the participants can meet, from what sync and managed availability
keep here (never the providers), with the application's credentials."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import ApplicationApiView, calling_account, calling_application
from bookings.api.outputs import AvailabilityOutput
from bookings.availability_inputs import (
    MemberRequest,
    UnknownCalendars,
    UnknownParticipants,
    availability_members,
    seconds,
)
from calendars.availability import Available, Group, Query, available_periods, available_slots, slots_available
from core.api_params import TimeField, TimeSpan, epoch_text

MAX_WINDOW = timedelta(days=35)
MAX_QUERY_PERIODS = 50
MAX_MEMBERS = 50
MAX_GROUPS = 10
START_INTERVALS = (5, 10, 15, 20, 30, 60)
MAX_RESULTS = 512
DEFAULT_MAX_RESULTS = 256


class Minutes(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60)


class BufferSide(serializers.Serializer):
    """`minutes` is the free time wanted; `minimum` and `maximum` bound it (the larger of `minutes`
    and `minimum` is required, and must not exceed `maximum`)."""

    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False)
    minimum = Minutes(required=False)
    maximum = Minutes(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        required = max(data.get("minutes", 0), data.get("minimum", {}).get("minutes", 0))
        maximum = data.get("maximum", {}).get("minutes")
        if maximum is not None and required > maximum:
            raise serializers.ValidationError({"maximum": "must not be less than minutes or minimum."})
        return {"seconds": required * 60}


class Buffer(serializers.Serializer):
    before = BufferSide(required=False)
    after = BufferSide(required=False)


class Slot(serializers.Serializer):
    start = TimeField()


class MemberInput(serializers.Serializer):
    sub = serializers.CharField(max_length=40)
    calendar_ids = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=50)
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out.
    available_periods = TimeSpan(many=True, required=False, max_length=MAX_QUERY_PERIODS)  # type: ignore[call-arg]
    managed_availability = serializers.BooleanField(required=False, allow_null=True, default=None)
    availability_rule_ids = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=50
    )


class GroupInput(serializers.Serializer):
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out.
    members = MemberInput(many=True, allow_empty=False, max_length=MAX_MEMBERS)  # type: ignore[call-arg]
    # The wire name shadows Field.required, harmlessly: the serializer metaclass moves declared fields off
    # the class. A JSON field's default may be any JSON value; the stubs accept only a mapping.
    required = serializers.JSONField(required=False, default="all")  # type: ignore[assignment, arg-type]

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        required, size = data["required"], len(data["members"])
        if required == "all":
            data["required"] = size
        elif isinstance(required, int) and not isinstance(required, bool) and 1 <= required <= size:
            data["required"] = required
        else:
            raise serializers.ValidationError({"required": f'must be "all" or a number from 1 to {size}.'})
        return data


class AvailabilityInput(serializers.Serializer):
    # many=True hands max_length/min_length to ListSerializer; the stubs leave them out (here and below).
    participants = GroupInput(many=True, allow_empty=False, max_length=MAX_GROUPS)  # type: ignore[call-arg]
    required_duration = Minutes()
    query_periods = TimeSpan(many=True, required=False, max_length=MAX_QUERY_PERIODS)  # type: ignore[call-arg]
    # available_periods: the older name of query_periods.
    available_periods = TimeSpan(many=True, required=False, max_length=MAX_QUERY_PERIODS)  # type: ignore[call-arg]
    query_slots = Slot(many=True, required=False, max_length=MAX_QUERY_PERIODS)  # type: ignore[call-arg]
    start_interval = Minutes(required=False)
    buffer = Buffer(required=False)
    response_format = serializers.ChoiceField(
        choices=["periods", "slots", "overlapping_slots"], required=False, default="periods"
    )
    max_results = serializers.IntegerField(min_value=1, max_value=MAX_RESULTS, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        duration = data["required_duration"]["minutes"]
        if duration < 1:
            raise serializers.ValidationError({"required_duration": "must be at least one minute."})
        periods = data.get("query_periods") or data.get("available_periods") or []
        slots = data.get("query_slots")
        if bool(periods) == bool(slots):
            raise serializers.ValidationError({"query_periods": "give query_periods, or query_slots, not both."})
        if slots:
            periods = [{"start": s["start"], "end": s["start"] + timedelta(minutes=duration)} for s in slots]
        earliest, latest = min(p["start"] for p in periods), max(p["end"] for p in periods)
        if latest - earliest > MAX_WINDOW:
            raise serializers.ValidationError({"query_periods": "must all fall within 35 days of each other."})
        interval = data.get("start_interval", {}).get("minutes")
        if interval is not None and interval not in START_INTERVALS:
            choices = ", ".join(str(i) for i in START_INTERVALS)
            raise serializers.ValidationError({"start_interval": f"minutes must be one of {choices}."})
        members = sum(len(group["members"]) for group in data["participants"])
        if members > MAX_MEMBERS:
            raise serializers.ValidationError({"participants": f"at most {MAX_MEMBERS} members in all."})
        data["periods"] = periods
        return data


def _member_requests(groups: list[dict[str, Any]]) -> list[MemberRequest]:
    found = {}
    for group in groups:
        for member in group["members"]:
            found[member["sub"]] = MemberRequest(
                sub=member["sub"],
                calendar_ids=tuple(member.get("calendar_ids") or ()),
                available_periods=(
                    tuple((p["start"], p["end"]) for p in member["available_periods"])
                    if member.get("available_periods") is not None
                    else None
                ),
                managed_availability=member.get("managed_availability"),
                availability_rule_ids=(
                    tuple(member["availability_rule_ids"]) if member.get("availability_rule_ids") is not None else None
                ),
            )
    return list(found.values())


def _shaped(found: list[Available]) -> list[dict[str, Any]]:
    """Cronofy's shape. Hundreds of periods share a few dozen moments and participant lists, so each
    moment is formatted once and each participant list built once (the JSON renderer does not mind
    shared objects)."""
    texts: dict[int, str] = {}
    participants: dict[tuple[str, ...], list[dict[str, str]]] = {}

    def text(moment: int) -> str:
        found_text = texts.get(moment)
        if found_text is None:
            found_text = texts[moment] = epoch_text(moment)
        return found_text

    shaped = []
    for item in found:
        listed = participants.get(item.participants)
        if listed is None:
            listed = participants[item.participants] = [{"sub": sub} for sub in item.participants]
        shaped.append({"start": text(item.start), "end": text(item.end), "participants": listed})
    return shaped


class AvailabilityApi(ApplicationApiView):
    @extend_schema(request=AvailabilityInput, responses=AvailabilityOutput, summary="Find available times")
    def post(self, request: Request) -> Response:
        data = AvailabilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = calling_account(request)
        if account is not None:
            # An account's token speaks for that account only.
            others = {m["sub"] for g in values["participants"] for m in g["members"]} - {account.public_id}
            if others:
                raise exceptions.PermissionDenied(
                    "An account's access token asks about that account only; other participants need the "
                    "application's client secret."
                )
        periods = values["periods"]
        buffer = values.get("buffer") or {}
        before = buffer.get("before", {}).get("seconds", 0)
        after = buffer.get("after", {}).get("seconds", 0)
        start = min(p["start"] for p in periods) - timedelta(seconds=after)
        end = max(p["end"] for p in periods) + timedelta(seconds=before)
        try:
            members = availability_members(
                application=calling_application(request),
                requests=_member_requests(values["participants"]),
                start=start,
                end=end,
            )
        except UnknownParticipants as error:
            raise serializers.ValidationError(
                {"participants": f"Unknown, or not authorized for this application: {', '.join(error.subs)}."}
            ) from None
        except UnknownCalendars as error:
            raise serializers.ValidationError(
                {"participants": f"Calendars that are not {error.sub}'s: {', '.join(error.calendar_ids)}."}
            ) from None
        duration = values["required_duration"]["minutes"] * 60
        interval = values.get("start_interval", {}).get("minutes")
        query = Query(
            periods=[(seconds(p["start"]), seconds(p["end"])) for p in periods],
            groups=[
                Group(members=[members[m["sub"]] for m in group["members"]], required=group["required"])
                for group in values["participants"]
            ],
            duration=duration,
            buffer_before=before,
            buffer_after=after,
            start_interval=interval * 60 if interval else None,
            max_results=values.get("max_results", DEFAULT_MAX_RESULTS),
        )
        response_format = values["response_format"]
        if values.get("query_slots"):
            found = slots_available(query, [seconds(s["start"]) for s in values["query_slots"]])
            return Response({"available_slots": _shaped(found)})
        if response_format == "periods":
            return Response({"available_periods": _shaped(available_periods(query))})
        found = available_slots(query, overlapping=response_format == "overlapping_slots")
        return Response({"available_slots": _shaped(found)})
