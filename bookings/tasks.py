"""django-q2 tasks of the bookings app: load by id, call a service, safe to run twice."""

from __future__ import annotations

from bookings import conferencing, invitation_delivery, replies, services
from core.schedules import PeriodicTask

PERIODIC_TASKS = [
    PeriodicTask("Retry due invitations", "bookings.tasks.invitations_retry", 1),
    PeriodicTask("Retry due event notifications", "bookings.tasks.event_notifications_retry", 1),
]


def event_write(event_id: int, attempt: int = 1) -> None:
    services.managed_event_write(event_id=event_id, attempt=attempt)


def invitations_send(invitation_ids: list[int]) -> None:
    invitation_delivery.invitations_send(invitation_ids=invitation_ids)


def invitation_send(invitation_id: int) -> None:
    """One invitation (tasks queued before invitations were sent in groups)."""
    invitation_delivery.invitations_send(invitation_ids=[invitation_id])


def invitations_retry() -> None:
    """Every minute: invitations whose next attempt is due (and any a dead worker left behind), in
    batches over one SMTP connection; workers running it at once share the backlog."""
    invitation_delivery.invitations_send()


def reply_process(reply_id: int) -> None:
    replies.reply_process(reply_id=reply_id)


def event_conference(event_id: int, attempt: int = 1) -> None:
    conferencing.managed_event_conference(event_id=event_id, attempt=attempt)


def event_notification_deliver(notification_id: int) -> None:
    conferencing.event_notification_deliver(notification_id=notification_id)


def event_notifications_retry() -> None:
    """Every minute: event subscriptions' notifications whose next attempt is due."""
    for notification_id in conferencing.event_notifications_due():
        conferencing.event_notification_deliver(notification_id=notification_id)
