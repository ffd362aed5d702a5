"""What the `/v1` reads of booked and synced time answer, in Cronofy's shapes: free/busy periods,
events, available periods and slots."""

from __future__ import annotations

from rest_framework import serializers

from core.api_outputs import CronofyTimeField, PagesOutput


class FreeBusyOutput(serializers.Serializer):
    calendar_id = serializers.CharField()
    start = CronofyTimeField()
    end = CronofyTimeField()
    free_busy_status = serializers.ChoiceField(choices=["busy", "tentative", "free", "unknown"])


class FreeBusyPageOutput(serializers.Serializer):
    pages = PagesOutput()
    free_busy = FreeBusyOutput(many=True)


class PersonOutput(serializers.Serializer):
    email = serializers.CharField()
    display_name = serializers.CharField(allow_blank=True)


class AttendeeOutput(PersonOutput):
    status = serializers.ChoiceField(choices=["needs_action", "accepted", "declined", "tentative", "unknown"])


class LocationOutput(serializers.Serializer):
    description = serializers.CharField(required=False)
    lat = serializers.CharField(required=False)
    long = serializers.CharField(required=False)


class EventOptionsOutput(serializers.Serializer):
    delete = serializers.BooleanField()
    # The wire name shadows BaseSerializer.update, harmlessly: the metaclass moves declared fields off the class.
    update = serializers.BooleanField()  # type: ignore[assignment]
    change_participation_status = serializers.BooleanField()


class ConferencingOutput(serializers.Serializer):
    provider_description = serializers.CharField()
    join_url = serializers.URLField()
    provider_name = serializers.CharField(required=False)


class EventOutput(serializers.Serializer):
    """An event of an account's calendar: one this system manages for the application (with its
    `event_id`), or, for Read-Write profiles with read_events, one of the person's own."""

    calendar_id = serializers.CharField()
    event_id = serializers.CharField(required=False, help_text="Only on events the application manages.")
    event_uid = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    start = CronofyTimeField()
    end = CronofyTimeField()
    deleted = serializers.BooleanField()
    created = serializers.CharField(required=False)
    updated = serializers.CharField()
    location = LocationOutput()
    participation_status = serializers.ChoiceField(
        choices=["needs_action", "accepted", "declined", "tentative", "unknown"]
    )
    attendees = AttendeeOutput(many=True)
    organizer = PersonOutput()
    transparency = serializers.ChoiceField(choices=["opaque", "transparent", "unknown"])
    status = serializers.ChoiceField(choices=["confirmed", "tentative", "cancelled"])
    categories = serializers.ListField(child=serializers.CharField())
    recurring = serializers.BooleanField()
    series_identifier = serializers.CharField(required=False)
    event_private = serializers.BooleanField()
    options = EventOptionsOutput()
    meeting_url = serializers.URLField(required=False)
    conferencing = ConferencingOutput(required=False)


class EventsPageOutput(serializers.Serializer):
    pages = PagesOutput()
    events = EventOutput(many=True)


class ParticipantOutput(serializers.Serializer):
    sub = serializers.CharField()


class AvailableSpanOutput(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()
    participants = ParticipantOutput(many=True)


class AvailabilityOutput(serializers.Serializer):
    """Either `available_periods` or, when `response_format` asks for slots, `available_slots`.

    Documentation only: `/v1/availability` is the hot path (benchmarks/availability.py), so the view
    writes these plain structures itself; tests/test_api_schema.py holds it to this shape."""

    available_periods = AvailableSpanOutput(many=True, required=False)
    available_slots = AvailableSpanOutput(many=True, required=False)
