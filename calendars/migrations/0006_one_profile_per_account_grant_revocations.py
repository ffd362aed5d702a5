import core.encryption
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

PLATFORM = {
    "google": "google",
    "google_free_busy": "google",
    "office365": "microsoft",
    "exchange": "microsoft",
    "ms_graph_free_busy": "microsoft",
}


def keep_the_newest_profile_per_account(apps, schema_editor):
    """Before one live profile per provider account is enforced: where an account was connected in
    several modes, the most recently updated profile stays and the others are disconnected, their
    synced data deleted (what a reconnect does from now on)."""
    CalendarProfile = apps.get_model("calendars", "CalendarProfile")
    BusyPeriod = apps.get_model("calendars", "BusyPeriod")
    seen = set()
    live = CalendarProfile.objects.exclude(status="disconnected").exclude(provider_account_id="")
    for profile in live.order_by("-updated_at", "-id"):
        key = (PLATFORM.get(profile.provider_name, ""), profile.provider_account_id)
        if key not in seen:
            seen.add(key)
            continue
        BusyPeriod.objects.filter(calendar__profile=profile).delete()
        CalendarProfile.objects.filter(pk=profile.pk).update(
            status="disconnected", credentials=None, disconnected_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_application_signing_secret"),
        ("calendars", "0005_domain_proofs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProviderGrantRevocation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "platform",
                    models.CharField(
                        choices=[("google", "Google Workspace"), ("microsoft", "Microsoft 365")], max_length=16
                    ),
                ),
                ("credentials", core.encryption.EncryptedJSONField(blank=True, null=True)),
                ("reason", models.CharField(max_length=40)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(blank=True, help_text="Gave up after the last attempt.", null=True)),
                ("last_error", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="calendarprofile",
            name="profile_live_once_per_provider_account",
        ),
        migrations.RunPython(keep_the_newest_profile_per_account, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="calendarprofile",
            constraint=models.UniqueConstraint(
                models.Case(
                    models.When(provider_name__in=["google", "google_free_busy"], then=models.Value("google")),
                    models.When(
                        provider_name__in=["exchange", "ms_graph_free_busy", "office365"],
                        then=models.Value("microsoft"),
                    ),
                    default=models.Value(""),
                    output_field=models.CharField(),
                ),
                models.F("provider_account_id"),
                condition=models.Q(
                    models.Q(("status", "disconnected"), _negated=True),
                    models.Q(("provider_account_id", ""), _negated=True),
                ),
                name="profile_live_once_per_provider_account",
                violation_error_message="This provider account is already connected.",
            ),
        ),
        migrations.AddField(
            model_name="providergrantrevocation",
            name="profile",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="grant_revocations",
                to="calendars.calendarprofile",
            ),
        ),
        migrations.AddIndex(
            model_name="providergrantrevocation",
            index=models.Index(fields=["revoked_at", "failed_at", "next_attempt_at"], name="revocation_due"),
        ),
    ]
