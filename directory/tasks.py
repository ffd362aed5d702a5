"""django-q2 tasks of the directory app: load by id, call a service, safe to run twice."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ConnectionStatus, User
from core.outbox import schedule_retry
from core.schedules import PeriodicTask
from directory.models import DirectoryService
from directory.rounds import RoundBusy, directory_round

logger = logging.getLogger(__name__)

PERIODIC_TASKS = [PeriodicTask("Start due directory rounds", "directory.tasks.directory_rounds_due", 5)]


def directory_round_task(
    service_id: int,
    full: bool = False,
    dry_run: bool = False,
    requested_by_id: int | None = None,
    offboarding_allowed: int | None = None,
    attempt: int = 1,
) -> None:
    """One round of a directory. A provider outage fails the round without changing anything; it is tried
    again with growing pauses, then left to the next scheduled round."""
    service = DirectoryService.objects.filter(pk=service_id).first()
    if service is None or not service.is_live:
        return
    try:
        outcome = directory_round(
            service=service,
            full=full,
            dry_run=dry_run,
            requested_by=User.objects.filter(pk=requested_by_id).first() if requested_by_id else None,
            offboarding_allowed=offboarding_allowed,
            attempt=attempt,
        )
    except RoundBusy:
        return  # the running round covers this request
    if outcome.retryable and attempt < settings.DIRECTORY_ROUND_ATTEMPTS:
        delay = schedule_retry(
            "directory.tasks.directory_round_retry",
            service_id,
            full,
            dry_run,
            requested_by_id,
            offboarding_allowed,
            attempt=attempt,
            retry_after=outcome.retry_after,
        )
        logger.warning("Directory round of %s failed; trying again in %s.", service.public_id, delay)


def directory_round_retry(
    service_id: int,
    full: bool,
    dry_run: bool,
    requested_by_id: int | None,
    offboarding_allowed: int | None,
    attempt: int,
) -> None:
    directory_round_task(service_id, full, dry_run, requested_by_id, offboarding_allowed, attempt)


def directory_rounds_due() -> None:
    """Every few minutes: each active directory whose next round is due gets one. A directory nobody has
    run a first round of yet (after its preview) waits for an admin."""
    due = DirectoryService.objects.filter(status=ConnectionStatus.ACTIVE, next_round_at__lte=timezone.now())
    for service_id in due.values_list("pk", flat=True):
        async_task("directory.tasks.directory_round_task", service_id)
