"""Directory rounds against the sandbox's Google Workspace, through google-api-python-client."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from calendars.models import CalendarProfile
from directory.models import DirectoryResource, RoundStatus
from directory.rounds import directory_round
from directory.tests.fixtures import account

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_first_round_onboards_every_active_person_of_the_domains(directories, acme):
    outcome = directory_round(service=directories.google)
    assert outcome.round.status == RoundStatus.SUCCEEDED, outcome.round.errors
    alice = account("alice@acme.example")
    assert alice is not None and alice.is_active
    assert Membership.objects.filter(user=alice, organization=acme).exists()
    profile = CalendarProfile.objects.get(user=alice)
    assert profile.provider_name == "cronofy"
    assert account("ivan@initech.example") is None
    assert DirectoryResource.objects.filter(
        service=directories.google, email="c_room1@resource.calendar.google.com"
    ).exists()
    assert directories.google.__class__.objects.get(pk=directories.google.pk).provider_domains == ["acme.example"]
