"""django-q2 tasks of the bookings app: load by id, call a service, safe to run twice."""

from __future__ import annotations

from bookings import invitations, replies, services
from core.schedules import PeriodicTask

PERIODIC_TASKS = [PeriodicTask("Retry due invitations", "bookings.tasks.invitations_retry", 1)]


def event_write(event_id: int, attempt: int = 1) -> None:
    services.managed_event_write(event_id=event_id, attempt=attempt)


def invitation_send(invitation_id: int) -> None:
    invitations.invitation_send(invitation_id=invitation_id)


def invitations_retry() -> None:
    """Every minute: invitations whose next attempt is due (and any a dead worker left behind)."""
    for invitation_id in invitations.invitations_due():
        invitations.invitation_send(invitation_id=invitation_id)


def reply_process(reply_id: int) -> None:
    replies.reply_process(reply_id=reply_id)
