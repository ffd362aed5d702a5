"""django-q2 tasks of the calendars app: load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule

from calendars.models import CalendarProfile, CalendarService
from calendars.providers import calendar_client_for_profile
from calendars.providers.base import ProviderAuthError, ProviderError, ProviderPermissionError
from calendars.services import (
    calendar_profile_mark_relink_required,
    calendar_profile_save_calendars,
    calendar_service_provision,
)

logger = logging.getLogger(__name__)

FIRST_SYNC_ATTEMPTS = 6


def profile_first_sync(profile_id: int, attempt: int = 1) -> None:
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
    except ProviderError as error:
        if not error.retryable or attempt >= FIRST_SYNC_ATTEMPTS:
            raise
        # The provider is down or throttling: try again later rather than hold a worker.
        delay = max(error.retry_after or 0, 30 * 2 ** (attempt - 1))
        logger.warning("First sync of profile %s deferred %ss (attempt %s).", profile.public_id, delay, attempt)
        schedule(
            "calendars.tasks.profile_first_sync",
            profile_id,
            attempt + 1,
            schedule_type=Schedule.ONCE,
            next_run=timezone.now() + timedelta(seconds=delay),
        )
        return
    calendar_profile_save_calendars(profile=profile, calendars=calendars)


def service_provision(service_id: int) -> None:
    """An organization's service was authorized: its people get profiles through it."""
    service = CalendarService.objects.filter(pk=service_id).first()
    if service is not None:
        calendar_service_provision(service=service)
