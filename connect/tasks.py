"""django-q2 tasks of the connect app: load by id, call a service, safe to run twice."""

from __future__ import annotations

from django_q.tasks import async_task

from connect import enterprise
from core.schedules import PeriodicTask

PERIODIC_TASKS = [
    PeriodicTask(
        "Retry due Enterprise Connect callbacks to integrators", "connect.tasks.service_account_callbacks_retry", 1
    ),
]


def service_account_authorization_resolve(authorization_id: int) -> None:
    enterprise.service_account_authorization_resolve(authorization_id=authorization_id)


def service_account_callback_deliver(authorization_id: int) -> None:
    enterprise.service_account_authorization_deliver(authorization_id=authorization_id)


def service_account_callbacks_retry() -> None:
    """Callbacks due again, and requests whose resolution was lost (a worker that died) resolved now."""
    for authorization_id in enterprise.service_account_authorizations_stalled():
        async_task("connect.tasks.service_account_authorization_resolve", authorization_id)
    for authorization_id in enterprise.service_account_callbacks_due():
        async_task("connect.tasks.service_account_callback_deliver", authorization_id)
