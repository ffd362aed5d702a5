"""django-q2 tasks of the calendars app: load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_q.tasks import async_task

from calendars import notifications, sync, watches
from calendars.models import Calendar, CalendarProfile, CalendarService
from calendars.providers.base import ProviderError
from calendars.revocations import provider_grant_revocations_due, provider_grant_revoke
from calendars.services import calendar_profile_record_provider_failure, calendar_service_provision
from core.outbox import schedule_retry
from core.schedules import PeriodicTask

logger = logging.getLogger(__name__)

FIRST_SYNC_ATTEMPTS = 6

PERIODIC_TASKS = [
    PeriodicTask("Poll calendars without recent notifications", "calendars.tasks.calendars_poll", 5),
    PeriodicTask("Renew provider push subscriptions", "calendars.tasks.watches_renew", 60),
    PeriodicTask("Retry due push notifications to integrators", "calendars.tasks.channel_notifications_retry", 1),
    PeriodicTask("Retry due revocations of provider grants", "calendars.tasks.provider_grant_revocations_retry", 5),
]


SYNC_ATTEMPTS = 4


def _provider_failed(
    profile: CalendarProfile, error: ProviderError, task: str, *args: object, attempt: int, attempts: int
) -> None:
    """A provider failure during a sync task: recorded on the profile (and its organization's service)
    for the console; tried again with growing pauses (or after the provider's Retry-After) while a
    retry can help and attempts remain. Never raised out of the task."""
    retry_at = None
    if error.retryable and attempt < attempts:
        delay = schedule_retry(task, *args, attempt=attempt, retry_after=error.retry_after)
        retry_at = timezone.now() + delay
    calendar_profile_record_provider_failure(profile=profile, error=error, retry_at=retry_at)
    logger.warning("Sync of profile %s failed (attempt %s): %s", profile.public_id, attempt, error)


def profile_first_sync(profile_id: int, attempt: int = 1) -> None:
    """A newly connected profile's first sync; a provider that is down is tried again later, with
    growing pauses, rather than holding a worker."""
    profile = CalendarProfile.objects.filter(pk=profile_id).select_related("calendar_service").first()
    if profile is None:
        return
    try:
        sync.profile_initial_sync(profile=profile)
    except ProviderError as error:
        _provider_failed(
            profile,
            error,
            "calendars.tasks.profile_first_sync",
            profile_id,
            attempt=attempt,
            attempts=FIRST_SYNC_ATTEMPTS,
        )


def profiles_first_sync(profile_ids: list[int]) -> None:
    """The first syncs of profiles provisioned together (an authorized service, a directory page)."""
    for profile_id in profile_ids:
        try:
            profile_first_sync(profile_id)
        except ProviderError as error:
            logger.warning("First sync of profile %s failed: %s", profile_id, error)


def calendar_sync(calendar_id: int, attempt: int = 1) -> None:
    """A push notification or the poller asked for this calendar; an incremental round (or a full one
    when the window is a day old or the cursor expired)."""
    calendar = Calendar.objects.filter(pk=calendar_id).select_related("profile__calendar_service").first()
    if calendar is None:
        return
    try:
        sync.profile_sync(profile=calendar.profile, calendars=[calendar])
    except ProviderError as error:
        _provider_failed(
            calendar.profile,
            error,
            "calendars.tasks.calendar_sync",
            calendar_id,
            attempt=attempt,
            attempts=SYNC_ATTEMPTS,
        )


def profile_sync(profile_id: int, full: bool = False, attempt: int = 1) -> None:
    profile = CalendarProfile.objects.filter(pk=profile_id).select_related("calendar_service").first()
    if profile is None:
        return
    try:
        sync.profile_sync(profile=profile, full=full)
    except ProviderError as error:
        _provider_failed(
            profile, error, "calendars.tasks.profile_sync", profile_id, full, attempt=attempt, attempts=SYNC_ATTEMPTS
        )


def calendars_poll() -> None:
    """Every few minutes: calendars no notification has brought up to date for a while."""
    for calendar_id in sync.calendars_mark_sync_pending(
        calendars=Calendar.objects.filter(pk__in=sync.calendars_due_for_polling())
    ):
        async_task("calendars.tasks.calendar_sync", calendar_id)


def watches_renew() -> None:
    """Hourly: push subscriptions close to expiry are renewed or replaced, missing ones created."""
    for profile in CalendarProfile.objects.filter(pk__in=sync.profiles_with_watches_due()).select_related(
        "calendar_service"
    ):
        watches.profile_watches_ensure_quietly(profile=profile)


def service_provision(service_id: int) -> None:
    """An organization's service was authorized: its people get profiles through it."""
    service = CalendarService.objects.filter(pk=service_id).first()
    if service is not None:
        calendar_service_provision(service=service)


def channel_notification_deliver(notification_id: int) -> None:
    notifications.channel_notification_deliver(notification_id=notification_id)


def channel_notifications_retry() -> None:
    """Every minute: notifications whose next attempt is due (and any a dead worker left behind)."""
    for notification_id in notifications.channel_notifications_due():
        notifications.channel_notification_deliver(notification_id=notification_id)


def provider_grant_revoke_task(revocation_id: int) -> None:
    provider_grant_revoke(revocation_id=revocation_id)


def provider_grant_revocations_retry() -> None:
    """Every few minutes: revocations a provider outage (or a dead worker) left for later."""
    for revocation_id in provider_grant_revocations_due():
        provider_grant_revoke(revocation_id=revocation_id)
