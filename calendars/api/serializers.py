"""Cronofy's shapes for profiles and calendars (shared by /v1/userinfo, /v1/profiles and /v1/calendars)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from accounts.models import Grant
from calendars.models import Calendar, CalendarProfile
from calendars.selectors import calendars_of_user


class CalendarOutput(serializers.Serializer):
    def to_representation(self, calendar: Calendar) -> dict[str, Any]:
        profile = calendar.profile
        return {
            "provider_name": profile.provider_name,
            "profile_id": profile.public_id,
            "profile_name": profile.profile_name,
            "calendar_id": calendar.public_id,
            "calendar_name": calendar.name,
            "calendar_readonly": calendar.is_readonly,
            "calendar_deleted": calendar.is_deleted,
            "calendar_primary": calendar.is_primary,
            "calendar_integrated_conferencing_available": calendar.integrated_conferencing_available,
            "calendar_attachments_available": False,
            "permission_level": "unrestricted",
        }


class ProfileOutput(serializers.Serializer):
    def to_representation(self, profile: CalendarProfile) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "provider_name": profile.provider_name,
            "provider_service": profile.provider_service,
            "profile_id": profile.public_id,
            "profile_name": profile.profile_name,
            "profile_connected": profile.is_connected,
            "profile_initial_sync_required": profile.last_synced_at is None and profile.platform is not None,
        }
        if not profile.is_connected and profile.platform is not None:
            shaped["profile_relink_url"] = settings.SITE_URL + reverse("profile-relink", args=[profile.public_id])
        if self.context.get("with_calendars"):
            shaped["profile_calendars"] = [
                {
                    key: value
                    for key, value in CalendarOutput(calendar).data.items()
                    if key not in ("provider_name", "profile_id", "profile_name")
                }
                for calendar in profile.calendars.all()
            ]
        return shaped


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
