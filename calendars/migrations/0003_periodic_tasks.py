"""The periodic tasks the calendars app needs, as django-q2 schedules (created once, by name)."""

from django.db import migrations

PERIODIC = [
    # name, function, every N minutes
    ("Poll calendars without recent notifications", "calendars.tasks.calendars_poll", 5),
    ("Renew provider push subscriptions", "calendars.tasks.watches_renew", 60),
    ("Retry due push notifications to integrators", "calendars.tasks.channel_notifications_retry", 1),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in PERIODIC:
        Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def remove_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _, _ in PERIODIC]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("calendars", "0002_sync_busy_periods_availability_channels"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
