"""The periodic tasks every app declares, kept in step with django-q2's schedules by one command.

Each app lists its periodic work as `PERIODIC_TASKS` in its `tasks.py`; `manage.py schedules_sync`
(run after every `migrate`) creates the missing schedules, corrects changed ones and removes the ones
no app declares any more. Nothing else creates or edits them, so running it twice changes nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django_q.models import Schedule


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    """Run `func` (a dotted path) every `minutes` minutes, under a name people read in the admin."""

    name: str
    func: str
    minutes: int


@dataclass
class SchedulesSyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def declared_periodic_tasks() -> list[PeriodicTask]:
    """Every installed project app's PERIODIC_TASKS, in app order (found the way admin.autodiscover
    finds admin modules, so lower layers never import higher ones)."""
    declared: list[PeriodicTask] = []
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks") is None:
            continue
        declared += getattr(importlib.import_module(f"{config.name}.tasks"), "PERIODIC_TASKS", [])
    names = [task.name for task in declared]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"Periodic tasks declared twice: {sorted(duplicates)}")
    return declared


def _owned() -> Q:
    """Schedules that run one of our apps' tasks."""
    owned = Q(pk__in=[])
    for config in apps.get_app_configs():
        owned |= Q(func__startswith=f"{config.name}.tasks.")
    return owned


@transaction.atomic(durable=True)
def schedules_sync() -> SchedulesSyncResult:
    """Make django-q2's interval schedules of our apps' tasks exactly the declared ones."""
    result = SchedulesSyncResult()
    declared = {task.name: task for task in declared_periodic_tasks()}
    for task in declared.values():
        schedule = Schedule.objects.select_for_update().filter(name=task.name).first()
        wanted = {"func": task.func, "schedule_type": Schedule.MINUTES, "minutes": task.minutes, "repeats": -1}
        if schedule is None:
            Schedule.objects.create(name=task.name, **wanted)
            result.created.append(task.name)
        elif any(getattr(schedule, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(schedule, key, value)
            schedule.save()
            result.updated.append(task.name)
        else:
            result.unchanged.append(task.name)
    # Repeating schedules of our tasks that nobody declares any more (one-off retries stay).
    stale = Schedule.objects.filter(_owned(), repeats=-1).exclude(name__in=declared)
    for schedule in stale.order_by("name"):
        result.removed.append(schedule.name or schedule.func)
        schedule.delete()
    return result
