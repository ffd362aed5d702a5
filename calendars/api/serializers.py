"""Cronofy's shapes for profiles and calendars (shared by /v1/userinfo, /v1/profiles and /v1/calendars)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from accounts.models import Grant
from calendars.models import Calendar, CalendarProfile
from calendars.selectors import calendars_of_user


class _CalendarFields(serializers.Serializer):
    calendar_id = serializers.CharField(source="public_id")
    calendar_name = serializers.CharField(source="name")
    calendar_readonly = serializers.BooleanField(source="is_readonly")
    calendar_deleted = serializers.BooleanField(source="is_deleted")
    calendar_primary = serializers.BooleanField(source="is_primary")
    calendar_integrated_conferencing_available = serializers.BooleanField(source="integrated_conferencing_available")
    calendar_attachments_available = serializers.SerializerMethodField()
    permission_level = serializers.SerializerMethodField()

    def get_calendar_attachments_available(self, calendar: Calendar) -> bool:
        return False

    @extend_schema_field(serializers.ChoiceField(choices=["unrestricted", "sandbox"]))
    def get_permission_level(self, calendar: Calendar) -> str:
        return "unrestricted"


class CalendarOutput(_CalendarFields):
    """A calendar as `/v1/calendars` lists it."""

    provider_name = serializers.CharField(source="profile.provider_name")
    profile_id = serializers.CharField(source="profile.public_id")
    profile_name = serializers.CharField(source="profile.profile_name")


class ProfileCalendarOutput(_CalendarFields):
    """A calendar inside its profile (`profile_calendars` of `/v1/userinfo`)."""


class RelinkUrlField(serializers.URLField):
    """`profile_relink_url`: present only while the profile needs its owner to sign in to the provider
    again."""

    def get_attribute(self, profile: CalendarProfile) -> str:
        if profile.is_connected or profile.platform is None:
            raise SkipField()
        return settings.SITE_URL + reverse("profile-relink", args=[profile.public_id])


class ProfileOutput(serializers.Serializer):
    """A calendar profile as `/v1/profiles` lists it."""

    provider_name = serializers.CharField()
    provider_service = serializers.CharField()
    profile_id = serializers.CharField(source="public_id")
    profile_name = serializers.CharField()
    profile_connected = serializers.BooleanField(source="is_connected")
    profile_initial_sync_required = serializers.SerializerMethodField()
    profile_relink_url = RelinkUrlField(required=False)

    def get_profile_initial_sync_required(self, profile: CalendarProfile) -> bool:
        return profile.last_synced_at is None and profile.platform is not None


class ProfileWithCalendarsOutput(ProfileOutput):
    """A profile with its calendars (`cronofy.data.profiles` of `/v1/userinfo`)."""

    profile_calendars = ProfileCalendarOutput(source="calendars.all", many=True)


class CalendarsOutput(serializers.Serializer):
    calendars = CalendarOutput(many=True)


class CalendarEnvelopeOutput(serializers.Serializer):
    calendar = CalendarOutput()


class ProfilesOutput(serializers.Serializer):
    profiles = ProfileOutput(many=True)


def check_own_calendars(
    *, user_id: int, calendar_ids: list[str] | None, field: str = "calendar_ids", grant: Grant | None = None
) -> None:
    """422 naming any of these calendars that is not one of the account's live calendars (that the
    grant still reaches)."""
    if not calendar_ids:
        return
    calendars = calendars_of_user(user_id=user_id, calendar_ids=calendar_ids, grant=grant)
    known = set(calendars.values_list("public_id", flat=True))
    unknown = [calendar_id for calendar_id in calendar_ids if calendar_id not in known]
    if unknown:
        raise serializers.ValidationError({field: f"Unknown calendars: {', '.join(unknown)}."})
