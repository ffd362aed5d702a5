import base64
import secrets

from django.db import migrations, models

import bookings.models


def give_every_attendee_a_reply_token(apps, schema_editor):
    Attendee = apps.get_model("bookings", "ManagedEventAttendee")
    for attendee in Attendee.objects.filter(reply_token__isnull=True).only("pk"):
        attendee.reply_token = base64.b32encode(secrets.token_bytes(20)).decode().lower()
        attendee.save(update_fields=["reply_token"])


class Migration(migrations.Migration):

    dependencies = [
        ("bookings", "0009_managed_events_keyed_by_application"),
    ]

    operations = [
        migrations.AddField(
            model_name="managedeventattendee",
            name="reply_token",
            field=models.CharField(editable=False, max_length=40, null=True),
        ),
        migrations.RunPython(give_every_attendee_a_reply_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="managedeventattendee",
            name="reply_token",
            field=models.CharField(
                default=bookings.models.new_reply_token, editable=False, max_length=40, unique=True
            ),
        ),
        migrations.AddField(
            model_name="inboundreply",
            name="client_address",
            field=models.GenericIPAddressField(
                blank=True, help_text="The SMTP client that delivered it (the SMTP receiver only).", null=True
            ),
        ),
        migrations.AddField(
            model_name="inboundreply",
            name="authentication",
            field=models.CharField(
                blank=True,
                help_text="How the sender was authenticated (DKIM, a trusted relay), or why not.",
                max_length=200,
            ),
        ),
    ]
