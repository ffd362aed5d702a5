"""People's managed availability in the IT-admin console: scoped to the admin's organizations, and
edited in plain words ("monday 09:00-17:00")."""

import pytest
from django.urls import reverse

from calendars.managed_availability import availability_rule_upsert
from calendars.models import AvailabilityRule

pytestmark = pytest.mark.django_db

HOURS = [{"day": "monday", "start_time": "09:00", "end_time": "17:00"}]


def test_an_admin_sees_and_edits_their_peoples_hours_only(client_for, alice, bob, charlie):
    hers = availability_rule_upsert(
        user=alice, rule_id="work", tzid="Europe/London", calendar_ids=[], weekly_periods=HOURS
    )
    theirs = availability_rule_upsert(
        user=charlie, rule_id="work", tzid="Etc/UTC", calendar_ids=[], weekly_periods=HOURS
    )
    listing = client_for(bob).get(reverse("admin:calendars_availabilityrule_changelist")).content.decode()
    assert "mon 09:00-17:00" in listing and "alice@acme.example" in listing
    assert "charlie@globex.example" not in listing
    assert client_for(bob).get(reverse("admin:calendars_availabilityrule_change", args=[theirs.pk])).status_code == 404

    response = client_for(bob).post(
        reverse("admin:calendars_availabilityrule_change", args=[hers.pk]),
        {
            "user": alice.pk,
            "rule_id": "work",
            "tzid": "Europe/London",
            "calendar_ids": "[]",
            "weekly_hours": "monday 08:00-12:00\nmonday 13:00-17:30\nfriday 09:00-12:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    hers.refresh_from_db()
    assert hers.weekly_periods == [
        {"day": "monday", "start_time": "08:00", "end_time": "12:00"},
        {"day": "monday", "start_time": "13:00", "end_time": "17:30"},
        {"day": "friday", "start_time": "09:00", "end_time": "12:00"},
    ]


def test_unreadable_hours_are_explained(client_for, alice, bob):
    response = client_for(bob).post(
        reverse("admin:calendars_availabilityrule_add"),
        {
            "user": alice.pk,
            "rule_id": "work",
            "tzid": "Mars/Base",
            "calendar_ids": "[]",
            "weekly_hours": "mondays nine to five",
        },
    )
    text = response.content.decode()
    assert "is not a time zone id" in text
    assert "Line 1 should read like" in text
    assert not AvailabilityRule.objects.exists()


def test_an_admin_cannot_give_hours_to_someone_outside(client_for, bob, charlie):
    response = client_for(bob).post(
        reverse("admin:calendars_availabilityrule_add"),
        {
            "user": charlie.pk,
            "rule_id": "x",
            "tzid": "Etc/UTC",
            "calendar_ids": "[]",
            "weekly_hours": "monday 09:00-10:00",
        },
    )
    assert "Select a valid choice" in response.content.decode()
    assert not AvailabilityRule.objects.exists()
