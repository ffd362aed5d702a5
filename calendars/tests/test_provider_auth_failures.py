"""Finding 9: a token endpoint that refuses (429 with Retry-After, 5xx, invalid_grant) is a provider
failure like any other. Injected through the sandbox's fault controls, through the real MSAL and
google-auth: nothing escapes the task; the failure is recorded on the profile (and the organization's
service) and shown in the console; throttling and outages are tried again later, honouring
Retry-After; a refused grant marks the profile for relinking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django_q.models import Schedule

from calendars import tasks
from calendars.models import CalendarProfile
from conftest import make_user
from sandbox.models import Fault, Provider
from tests.e2e import connected_profile

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = {Provider.MICROSOFT: ("erin", "erin@contoso.example"), Provider.GOOGLE: ("alice", "alice@acme.example")}


@pytest.fixture
def expired_profile(world, settings):
    """A person's own grant whose access token has expired: the next sync must go to the token endpoint."""
    settings.PROVIDER_MAX_ATTEMPTS = 1  # the task's own retry is what is under test

    def make(provider: str) -> CalendarProfile:
        person, email = PEOPLE[provider]
        profile = connected_profile(world, make_user(email), person, mode="free_busy")
        credentials = {**profile.credentials, "expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
        CalendarProfile.objects.filter(pk=profile.pk).update(credentials=credentials)
        return profile

    return make


def retries_of(task: str) -> list[Schedule]:
    return list(Schedule.objects.filter(func=task))


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        (Provider.MICROSOFT, Fault.Kind.RATE_LIMITED),
        (Provider.MICROSOFT, Fault.Kind.SERVER_ERROR),
        (Provider.MICROSOFT, Fault.Kind.UNAVAILABLE),
        # google-auth itself tries a failing token endpoint three times with pauses: one of each kind.
        (Provider.GOOGLE, Fault.Kind.RATE_LIMITED),
        (Provider.GOOGLE, Fault.Kind.SERVER_ERROR),
    ],
)
def test_a_throttled_or_failing_token_endpoint_is_recorded_and_retried_later(expired_profile, provider, kind):
    profile = expired_profile(provider)
    Fault.objects.create(provider=provider, operation="token", kind=kind, times=0, retry_after=120)
    tasks.profile_first_sync(profile.pk)  # raises nothing
    profile.refresh_from_db()
    assert profile.status == "connected"
    assert "token endpoint" in profile.last_error.lower() or "token" in profile.last_error.lower()
    assert "Trying again after" in profile.last_error
    [retry] = retries_of("calendars.tasks.profile_first_sync")
    assert retry.args == f"({profile.pk}, 2)"
    if provider == Provider.MICROSOFT and kind != Fault.Kind.SERVER_ERROR:
        # Microsoft's Retry-After is honoured: not before two minutes.
        assert retry.next_run >= datetime.now(UTC) + timedelta(seconds=110)


@pytest.mark.parametrize("provider", [Provider.MICROSOFT, Provider.GOOGLE])
def test_a_refused_refresh_token_asks_for_a_relink(expired_profile, provider):
    profile = expired_profile(provider)
    Fault.objects.create(provider=provider, operation="token", kind=Fault.Kind.INVALID_GRANT, times=0)
    tasks.profile_first_sync(profile.pk)
    profile.refresh_from_db()
    assert profile.status == "relink_required"
    assert "invalid_grant" in profile.last_error or "refused" in profile.last_error.lower()
    assert not retries_of("calendars.tasks.profile_first_sync")


def test_a_sync_after_the_outage_clears_the_error(expired_profile):
    profile = expired_profile(Provider.MICROSOFT)
    fault = Fault.objects.create(
        provider=Provider.MICROSOFT, operation="token", kind=Fault.Kind.RATE_LIMITED, times=0, retry_after=1
    )
    tasks.profile_first_sync(profile.pk)
    Fault.objects.filter(pk=fault.pk).update(active=False)
    tasks.profile_first_sync(profile.pk, 2)
    profile.refresh_from_db()
    assert profile.last_error == ""
    assert profile.last_synced_at is not None


def test_the_console_shows_the_failure(expired_profile, root, client_for):
    profile = expired_profile(Provider.MICROSOFT)
    Fault.objects.create(provider=Provider.MICROSOFT, operation="token", kind=Fault.Kind.RATE_LIMITED, times=0)
    tasks.profile_first_sync(profile.pk)
    client = client_for(root)
    page = client.get(reverse("admin:calendars_calendarprofile_change", args=[profile.pk])).content.decode()
    assert "temporarily_unavailable" in page
    listing = client.get(reverse("admin:calendars_calendarprofile_changelist")).content.decode()
    assert "Needs attention" in listing
