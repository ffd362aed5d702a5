"""One mechanism for work that leaves the system (invitation emails, integrators' webhooks) and for
tasks that wait on a provider: rows claimed with a lease, sent without a lock held, recorded; failures
tried again with growing pauses.

An outbox row is an `OutboxRow`: `attempts`, `next_attempt_at`, `failed_at`, `last_error` and a field
saying it is done (its `DONE_FIELD`). Claiming moves `next_attempt_at` a lease ahead in a short transaction, so no other
worker takes the row meanwhile and no database lock waits on the network; a worker that dies leaves
the lease to run out and the periodic sweep takes the row again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Generic, TypeVar

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def schedule_retry(func: str, *args: object, attempt: int, retry_after: float | None = None) -> timedelta:
    """Run the task `func(*args, attempt + 1)` again after the backoff for `attempt`, or after the
    provider's Retry-After when that is longer; returns the pause."""
    delay = max(timedelta(seconds=retry_after or 0), backoff(attempt))
    schedule(func, *args, attempt + 1, schedule_type=Schedule.ONCE, next_run=timezone.now() + delay)
    return delay


class OutboxRow(models.Model):
    """What every outbox row carries (invitations, channel and event notifications, grant revocations),
    and how one attempt's outcome is written. Each kind adds its payload and names its own "done"
    timestamp in `DONE_FIELD` (sent_at, delivered_at, revoked_at)."""

    DONE_FIELD: ClassVar[str]

    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Gave up after the last attempt.")
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True

    def record_attempt(self, *, error: str, max_attempts: int) -> bool:
        """Save how the attempt went: done, or the next attempt booked after the backoff, or given up
        after `max_attempts` (returns True)."""
        now = timezone.now()
        gave_up = False
        if not error:
            setattr(self, self.DONE_FIELD, now)
            self.last_error = ""
        elif self.attempts >= max_attempts:
            self.failed_at, self.last_error, gave_up = now, error[:2000], True
        else:
            self.next_attempt_at, self.last_error = now + backoff(self.attempts), error[:2000]
        self.save(update_fields=[self.DONE_FIELD, "failed_at", "next_attempt_at", "last_error"])
        return gave_up


RowT = TypeVar("RowT", bound=OutboxRow)


@dataclass(frozen=True)
class Outbox(Generic[RowT]):
    """One kind of outbox row, claimed with a lease of `lease` for each attempt (generic in the row's
    model, so that callers get their own rows back)."""

    model: type[RowT]
    lease: timedelta

    def _pending(self) -> models.QuerySet[RowT]:
        return self.model._default_manager.filter(
            **{f"{self.model.DONE_FIELD}__isnull": True}, failed_at__isnull=True, next_attempt_at__lte=timezone.now()
        )

    def claim(self, pk: int) -> RowT | None:
        """Take a due row for one attempt; None when it is done, given up, not due, or taken."""
        with transaction.atomic():
            row = self._pending().select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:
                return None
            row.attempts += 1
            row.next_attempt_at = timezone.now() + self.lease
            row.save(update_fields=["attempts", "next_attempt_at"])
        return row

    def record(self, row: RowT, *, error: str, max_attempts: int) -> bool:
        """Save how the attempt went: done, or the next attempt booked, or given up (returns True)."""
        return row.record_attempt(error=error, max_attempts=max_attempts)

    def claim_batch(self, *, limit: int, pks: list[int] | None = None) -> list[int]:
        """Take up to `limit` due rows (of `pks` when given) for one attempt each, in two statements;
        rows another worker holds are skipped (SKIP LOCKED on PostgreSQL), so several workers
        sweeping at once share the work instead of queueing behind each other's locks."""
        with transaction.atomic():
            pending = self._pending() if pks is None else self._pending().filter(pk__in=pks)
            taken = list(
                pending.order_by("next_attempt_at", "pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:limit]
            )
            if taken:
                self.model._default_manager.filter(pk__in=taken).update(
                    attempts=F("attempts") + 1, next_attempt_at=timezone.now() + self.lease
                )
        return taken

    def record_batch(self, rows: list[RowT], *, errors: dict[int, str], max_attempts: int) -> list[RowT]:
        """Save how a batch of claimed rows went: those without an error in one statement, the failed
        ones one by one (rare); returns the rows given up on."""
        done = [row.pk for row in rows if row.pk not in errors]
        if done:
            now = timezone.now()
            self.model._default_manager.filter(pk__in=done).update(**{self.model.DONE_FIELD: now}, last_error="")
            for row in rows:
                if row.pk not in errors:
                    setattr(row, self.model.DONE_FIELD, now)
                    row.last_error = ""
        failed = [row for row in rows if row.pk in errors]
        return [row for row in failed if self.record(row, error=errors[row.pk], max_attempts=max_attempts)]

    def due(self, *, limit: int = 500) -> list[int]:
        return list(self._pending().order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
