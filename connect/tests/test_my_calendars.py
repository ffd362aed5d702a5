"""A person's own page: their calendars and modes, the applications with access (revocable), their
working hours, available periods and time zone through the same services as the API, a week view, and
changes of mode within what their organization allows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Grant
from accounts.oauth import application_create, tokens_issue_for
from bookings.services import EventInput, managed_event_upsert
from calendars.choices import CalendarProvider, ProfileStatus
from calendars.models import AvailabilityRule, AvailablePeriod, CalendarProfile
from calendars.services import calendar_profile_connect, calendar_service_connect
from conftest import make_user, vouched
from core.choices import AccessMode
from sandbox.models import Token
from sandbox.tokens import token_hash
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db

URL = "/my/calendars/"
TODAY = datetime.now(UTC).date()
NEXT_MONDAY = TODAY - timedelta(days=TODAY.weekday()) + timedelta(weeks=1)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def at(hours: int, minutes: int = 0, *, day: int = 0) -> datetime:
    return datetime.combine(NEXT_MONDAY + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=hours, minutes=minutes
    )


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hours(tzid: str = "Etc/UTC", **days: tuple[str, str]) -> dict[str, str]:
    data = {"action": "working_hours", "tzid": tzid}
    for day, (start, end) in days.items():
        data[f"{day}_start"], data[f"{day}_end"] = start, end
    return data


@pytest.fixture
def hosted(alice):
    return calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)


@pytest.fixture
def app():
    return application_create(
        name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )


def test_it_asks_a_stranger_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_member_who_cannot_open_the_console_has_a_page_of_their_own(client_for, alice, hosted):
    page = text(client_for(alice).get(URL))
    assert "My calendars" in page
    assert "alice@acme.example" in page
    assert "No Access" in page
    assert "Kept here (no calendar provider)" in page
    assert "An application you allow cannot see or change your calendar at all" in page


def test_it_says_what_each_application_can_do_in_the_persons_mode(client_for, alice, hosted, app):
    tokens_issue_for(application=app[0], user=alice, scopes=["read_only"])
    page = text(client_for(alice).get(URL))
    assert "Scheduler" in page
    assert "See when you are available, from the hours you set here and the events it books" in page
    assert "Asked for, but not possible in your calendars' access mode: See the events in your calendars" in page


def test_revoking_an_application_ends_its_tokens_at_once(client_for, alice, hosted, app):
    token = tokens_issue_for(application=app[0], user=alice, scopes=["read_only"]).access_token
    headers = {"Authorization": f"Bearer {token}"}
    assert Client().get("/v1/account", headers=headers).status_code == 200
    grant = Grant.objects.get(user=alice)
    response = client_for(alice).post(URL, {"action": "revoke", "grant": grant.pk})
    assert response.status_code == 302
    assert Client().get("/v1/account", headers=headers).status_code == 401
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert AuditEvent.objects.get(action="application_revoked").actor == alice


def test_nobody_revokes_another_persons_application_here(client_for, alice, bob, hosted, app):
    tokens_issue_for(application=app[0], user=bob, scopes=["read_only"])
    response = client_for(alice).post(URL, {"action": "revoke", "grant": Grant.objects.get(user=bob).pk})
    assert response.status_code == 302  # the page answered; it found nothing of Alice's to revoke
    assert Grant.objects.get(user=bob).revoked_at is None


def test_working_hours_become_an_availability_rule_in_the_persons_time_zone(client_for, alice, hosted):
    response = client_for(alice).post(URL, hours("Europe/London", monday=("09:00", "17:00"), friday=("09:30", "12:00")))
    assert response.status_code == 302
    rule = AvailabilityRule.objects.get(user=alice)
    assert (rule.rule_id, rule.tzid) == ("working_hours", "Europe/London")
    assert rule.weekly_periods == [
        {"day": "monday", "start_time": "09:00", "end_time": "17:00"},
        {"day": "friday", "start_time": "09:30", "end_time": "12:00"},
    ]
    alice.refresh_from_db()
    assert alice.default_tzid == "Europe/London"
    page = client_for(alice).get(URL).content.decode()
    assert 'value="09:30"' in page  # the form shows what is saved


def test_working_hours_that_end_before_they_start_are_refused_readably(client_for, alice, hosted):
    response = client_for(alice).post(URL, hours(monday=("17:00", "09:00")))
    assert response.status_code == 400
    assert "Monday: give a start and a later end (HH:MM)." in text(response)
    assert not AvailabilityRule.objects.exists()


def test_an_unknown_time_zone_is_refused(client_for, alice, hosted):
    response = client_for(alice).post(URL, hours("Mars/Olympus", monday=("09:00", "17:00")))
    assert response.status_code == 400
    assert not AvailabilityRule.objects.exists()


def test_clearing_every_day_removes_the_working_hours(client_for, alice, hosted):
    client = client_for(alice)
    client.post(URL, hours(monday=("09:00", "17:00")))
    assert AvailabilityRule.objects.filter(user=alice).exists()
    assert client.post(URL, hours()).status_code == 302
    assert not AvailabilityRule.objects.exists()


def test_available_periods_are_added_in_the_persons_time_zone_and_removed(client_for, alice, hosted):
    client = client_for(alice)
    client.post(URL, hours("America/New_York"))
    client.post(
        URL,
        {"action": "add_period", "start": f"{NEXT_MONDAY}T09:00", "end": f"{NEXT_MONDAY}T11:00"},
    )
    period = AvailablePeriod.objects.get(user=alice)
    assert period.start.astimezone(UTC).hour in (13, 14)  # 09:00 in New York
    assert period.end - period.start == timedelta(hours=2)
    client.post(URL, {"action": "delete_period", "period_id": period.period_id})
    assert not AvailablePeriod.objects.exists()


def test_an_available_period_that_ends_before_it_starts_is_refused(client_for, alice, hosted):
    response = client_for(alice).post(
        URL, {"action": "add_period", "start": f"{NEXT_MONDAY}T11:00", "end": f"{NEXT_MONDAY}T09:00"}
    )
    assert "The period must end after it starts." in text(response)
    assert not AvailablePeriod.objects.exists()


def test_the_week_shows_busy_and_available_time(client_for, alice, hosted, app):
    client = client_for(alice)
    client.post(URL, hours(monday=("10:00", "12:00")))
    managed_event_upsert(
        application=app[0],
        calendar=hosted.calendars.get(),
        data=EventInput(event_id="e1", summary="Interview", start=at(10, 30), end=at(11), tzid="Etc/UTC"),
    )
    page = text(client.get(URL, {"week": NEXT_MONDAY.isoformat()}))
    monday = re.search(r"Available 10:00 to 12:00\. Busy 10:30 to 11:00\.", page)
    assert monday is not None, page
    assert "Available never. Busy never." in page  # Tuesday has no working hours


def test_v1_availability_honours_the_hours_set_on_the_page(client_for, alice, hosted, app):
    application, secret = app
    tokens_issue_for(application=application, user=alice, scopes=["free_busy"])
    client_for(alice).post(URL, hours(**{day: ("10:00", "12:00") for day in WEEKDAYS}))
    response = Client().post(
        "/v1/availability",
        {
            "participants": [{"members": [{"sub": alice.public_id}], "required": "all"}],
            "required_duration": {"minutes": 30},
            "query_periods": [
                {"start": at(0).strftime("%Y-%m-%dT%H:%M:%SZ"), "end": at(0, day=5).strftime("%Y-%m-%dT%H:%M:%SZ")}
            ],
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content
    found = [(p["start"], p["end"]) for p in response.json()["available_periods"]]
    assert found == [(z(at(10, day=day)), z(at(12, day=day))) for day in range(5)]


def test_an_organizations_connection_offers_no_change_of_mode(client_for, alice, acme_services):
    calendar_profile_connect(
        user=alice, provider_name="cronofy", profile_name=alice.email, calendar_service=acme_services["no_access"]
    )
    page = text(client_for(alice).get(URL))
    assert "Connected by Acme, which chooses its access mode." in page
    assert "Change to" not in page


def test_the_page_never_offers_a_mode_above_the_organizations(client_for, alice, acme, bob):
    calendar_profile_connect(
        user=alice,
        provider_name="google_free_busy",
        profile_name=alice.email,
        provider_account_id="g-alice",
        credentials={"kind": "microsoft_delegated", "refresh_token": "r"},
    )
    vouched(
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.FREE_BUSY,
            domains=["acme.example"],
            connected_by=bob,
        )
    )
    page = text(client_for(alice).get(URL))
    assert "Acme allows only free/busy access to your calendar." in page
    assert "Change to No Access" in page
    assert "Change to Read-Write" not in page


def test_raising_a_personal_connection_goes_through_the_providers_consent(client_for, alice):
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google_free_busy",
        profile_name=alice.email,
        provider_account_id="g-alice",
        credentials={"kind": "microsoft_delegated", "refresh_token": "r"},
    )
    page = client_for(alice).get(URL).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)">(?:(?!</form>).)*value="read_write"', page, flags=re.S)
    assert form is not None and form.group(1) == reverse("profile-relink", args=[profile.public_id])
    refused = client_for(alice).post(
        URL, {"action": "change_mode", "profile": profile.public_id, "access_mode": AccessMode.READ_WRITE}
    )
    assert refused.status_code == 302
    profile.refresh_from_db()
    assert profile.access_mode == AccessMode.FREE_BUSY  # never raised without the provider


@pytest.mark.django_db(transaction=True)
def test_lowering_a_personal_connection_to_no_access_revokes_it_at_once(live_server, world, client_for):
    alice = make_user("alice@acme.example", "Alice")
    profile = connected_profile(world, alice, "alice", mode=AccessMode.READ_WRITE)
    refresh = profile.credentials["refresh_token"]
    response = client_for(alice).post(
        URL, {"action": "change_mode", "profile": profile.public_id, "access_mode": AccessMode.NO_ACCESS}
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.provider_name, profile.status, profile.credentials) == ("cronofy", ProfileStatus.CONNECTED, None)
    assert profile.calendars.get(is_deleted=False).is_hosted
    assert Token.objects.get(value_hash=token_hash(refresh)).revoked_at is not None
    assert CalendarProfile.objects.filter(user=alice).count() == 1
