"""django-q2 tasks of the conferencing app: load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging

from accounts.models import ConnectionStatus
from calendars.providers.base import ProviderError
from conferencing import services
from conferencing.models import ConferencingService
from core.outbox import schedule_retry
from core.schedules import PeriodicTask

logger = logging.getLogger(__name__)

LINK_ATTEMPTS = 6
# People come and go at the providers without telling anyone: linked again every hour.
PERIODIC_TASKS = [PeriodicTask("Link people to conferencing services", "conferencing.tasks.services_link_people", 60)]


def service_link_people(service_id: int, attempt: int = 1) -> None:
    """Link the service's people; a provider that is down is tried again later with growing pauses."""
    try:
        services.conferencing_service_link_people(service_id=service_id)
    except ProviderError as error:
        if not error.retryable or attempt >= LINK_ATTEMPTS:
            logger.warning("Linking people of conferencing service %s failed: %s", service_id, error)
            return
        schedule_retry(
            "conferencing.tasks.service_link_people", service_id, attempt=attempt, retry_after=error.retry_after
        )


def person_link(user_id: int) -> None:
    try:
        services.conferencing_person_link(user_id=user_id)
    except ProviderError as error:
        # The periodic round links them later.
        logger.warning("Linking person %s to conferencing services failed: %s", user_id, error)


def services_link_people() -> None:
    """Periodically: people come and go at the providers without telling anyone."""
    for service_id in ConferencingService.objects.filter(status=ConnectionStatus.ACTIVE).values_list("pk", flat=True):
        service_link_people(service_id)


def meeting_delete(meeting_id: int, attempt: int = 1) -> None:
    """An event was deleted or its conferencing changed: its meeting goes, retried while the provider fails."""
    try:
        services.conferencing_meeting_delete(meeting_id=meeting_id)
    except ProviderError as error:
        if not error.retryable or attempt >= LINK_ATTEMPTS:
            logger.warning("Deleting conferencing meeting %s failed: %s", meeting_id, error)
            return
        schedule_retry("conferencing.tasks.meeting_delete", meeting_id, attempt=attempt, retry_after=error.retry_after)
