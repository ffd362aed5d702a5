"""`manage.py schedules_sync` owns django-q2's periodic schedules: it makes them exactly what the apps
declare, and running it again changes nothing."""

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from core.schedules import declared_periodic_tasks, schedules_sync

pytestmark = pytest.mark.django_db


def sync_json() -> dict[str, list[str]]:
    out = io.StringIO()
    call_command("schedules_sync", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_every_declared_task_is_a_real_function_with_a_positive_interval():
    tasks = declared_periodic_tasks()
    assert {task.func for task in tasks} >= {"calendars.tasks.calendars_poll", "bookings.tasks.invitations_retry"}
    for task in tasks:
        module, _, name = task.func.rpartition(".")
        assert callable(getattr(__import__(module, fromlist=[name]), name)), task.func
        assert task.minutes > 0


def test_it_creates_the_declared_schedules_once():
    Schedule.objects.all().delete()
    first = sync_json()
    assert sorted(first["created"]) == sorted(task.name for task in declared_periodic_tasks())
    second = sync_json()
    assert second["created"] == second["updated"] == second["removed"] == []
    assert Schedule.objects.count() == len(declared_periodic_tasks())


def test_it_corrects_an_edited_schedule_and_removes_one_nobody_declares():
    schedules_sync()
    task = declared_periodic_tasks()[0]
    Schedule.objects.filter(name=task.name).update(minutes=task.minutes + 7)
    Schedule.objects.create(name="Old sweep", func="calendars.tasks.gone", schedule_type=Schedule.MINUTES, minutes=3)
    result = schedules_sync()
    assert result.updated == [task.name]
    assert result.removed == ["Old sweep"]
    assert Schedule.objects.get(name=task.name).minutes == task.minutes


def test_it_leaves_one_off_retries_and_foreign_schedules_alone():
    schedules_sync()
    retry = Schedule.objects.create(
        func="calendars.tasks.profile_first_sync", schedule_type=Schedule.ONCE, next_run=timezone.now(), repeats=1
    )
    foreign = Schedule.objects.create(name="Someone else's", func="thirdparty.jobs.run", schedule_type="I", minutes=9)
    assert schedules_sync().removed == []
    assert Schedule.objects.filter(pk__in=[retry.pk, foreign.pk]).count() == 2
