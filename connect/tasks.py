"""django-q2 tasks of the connect app: load by id, call a service, safe to run twice."""

from __future__ import annotations

from django_q.tasks import async_task

from connect.enterprise import (
    service_account_authorization_deliver,
    service_account_authorization_resolve,
    service_account_callbacks_due,
)
from core.schedules import PeriodicTask

PERIODIC_TASKS = [
    PeriodicTask(
        "Retry due Enterprise Connect callbacks to integrators", "connect.tasks.service_account_callbacks_retry", 1
    ),
]


def service_account_authorization_resolve_task(authorization_id: int) -> None:
    service_account_authorization_resolve(authorization_id=authorization_id)


def service_account_callback_deliver(authorization_id: int) -> None:
    service_account_authorization_deliver(authorization_id=authorization_id)


def service_account_callbacks_retry() -> None:
    for authorization_id in service_account_callbacks_due():
        async_task("connect.tasks.service_account_callback_deliver", authorization_id)
