"""Once created the app's periodic schedules. They are owned by `manage.py schedules_sync` now
(core/schedules.py, from each app's PERIODIC_TASKS); kept so the history of migrations stays whole."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0002_delivery_and_invitations"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
