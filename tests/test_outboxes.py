"""Every outbox is one kind of `OutboxRow`: the same fields, the same way of recording an attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from calendars.models import ProviderGrantRevocation
from core.outbox import Outbox, OutboxRow, backoff


def test_every_model_that_waits_for_its_next_attempt_is_an_outbox_row():
    waiting = [model for model in apps.get_models() if any(f.name == "next_attempt_at" for f in model._meta.fields)]
    assert waiting, "no outbox found at all"
    assert [model.__name__ for model in waiting if not issubclass(model, OutboxRow)] == []
    for model in waiting:
        assert model._meta.get_field(model.DONE_FIELD).null


REVOCATIONS = Outbox(ProviderGrantRevocation, lease=timedelta(minutes=2))


@pytest.fixture
def row(db) -> ProviderGrantRevocation:
    return ProviderGrantRevocation.objects.create(
        platform="google", reason="test", next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_due_row_is_claimed_once_until_its_lease_runs_out(row):
    claimed = REVOCATIONS.claim(row.pk)
    assert claimed is not None
    assert claimed.attempts == 1
    assert REVOCATIONS.claim(row.pk) is None
    assert REVOCATIONS.due() == []


def test_a_failed_attempt_books_the_next_one_after_the_backoff(row):
    claimed = REVOCATIONS.claim(row.pk)
    before = timezone.now()
    assert REVOCATIONS.record(claimed, error="503 from the provider", max_attempts=3) is False
    row.refresh_from_db()
    assert row.last_error == "503 from the provider"
    assert row.next_attempt_at >= before + backoff(1)
    assert row.revoked_at is None
    assert row.failed_at is None


def test_the_last_failed_attempt_gives_up(row):
    claimed = REVOCATIONS.claim(row.pk)
    assert REVOCATIONS.record(claimed, error="still down", max_attempts=1) is True
    row.refresh_from_db()
    assert row.failed_at is not None
    assert row.revoked_at is None


def test_a_successful_attempt_marks_the_row_done_in_its_own_field(row):
    claimed = REVOCATIONS.claim(row.pk)
    assert REVOCATIONS.record(claimed, error="", max_attempts=3) is False
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert row.last_error == ""
