"""The schedule runs due directories' rounds; an outage is retried later with backoff, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from directory.models import DirectoryRound, DirectoryService, RoundStatus
from directory.tasks import directory_round_task, directory_rounds_due
from sandbox.models import Fault, Provider

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_directory_nobody_started_waits_for_an_admin(directories):
    directory_rounds_due()
    assert not DirectoryRound.objects.exists()


def test_a_due_directory_gets_its_round(directories):
    DirectoryService.objects.filter(pk=directories.microsoft.pk).update(
        next_round_at=timezone.now() - timedelta(minutes=1)
    )
    directory_rounds_due()
    done = DirectoryRound.objects.get(service=directories.microsoft)
    assert done.status == RoundStatus.SUCCEEDED
    assert DirectoryService.objects.get(pk=directories.microsoft.pk).next_round_at > timezone.now()


def test_an_incremental_round_follows_the_first(directories):
    directory_round_task(directories.microsoft.pk)
    directory_round_task(directories.microsoft.pk)
    first, second = DirectoryRound.objects.filter(service=directories.microsoft).order_by("started_at")
    assert (first.full, second.full) == (True, False)
    assert second.people_read == 0  # nothing changed in the tenant


def test_an_outage_is_retried_later_with_backoff(directories):
    Fault.objects.create(
        provider=Provider.MICROSOFT, operation="graph.users.delta", kind=Fault.Kind.UNAVAILABLE, times=0, retry_after=0
    )
    directory_round_task(directories.microsoft.pk)
    assert DirectoryRound.objects.get(service=directories.microsoft).status == RoundStatus.FAILED
    retry = Schedule.objects.get(func="directory.tasks.directory_round_retry")
    assert retry.next_run > timezone.now()
    assert retry.args.endswith("2)")  # the next attempt
