"""django-q2 tasks of the calendars app: load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging

from calendars.models import CalendarProfile
from calendars.providers import calendar_client_for_profile
from calendars.providers.base import ProviderAuthError, ProviderPermissionError
from calendars.services import calendar_profile_mark_relink_required, calendar_profile_save_calendars

logger = logging.getLogger(__name__)


def profile_first_sync(profile_id: int) -> None:
    """A newly connected profile: list its calendars (busy-period sync builds on this)."""
    profile = CalendarProfile.objects.filter(pk=profile_id).select_related("calendar_service").first()
    if profile is None or not profile.is_connected or profile.platform is None:
        return
    try:
        calendars = calendar_client_for_profile(profile).list_calendars()
    except (ProviderAuthError, ProviderPermissionError) as error:
        # A revoked grant, or one without the scope to list calendars (a person may untick scopes at
        # Google): only the person can fix it, by connecting again.
        calendar_profile_mark_relink_required(profile=profile, error=str(error))
        return
    calendar_profile_save_calendars(profile=profile, calendars=calendars)


def service_provision(service_id: int) -> None:
    """An organization's service was authorized: its people get profiles through it."""
    from calendars.models import CalendarService
    from calendars.services import calendar_service_provision

    service = CalendarService.objects.filter(pk=service_id).first()
    if service is not None:
        calendar_service_provision(service=service)
