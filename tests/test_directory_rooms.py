"""Rooms come from the directory: a Microsoft place is invited as a resource by a Read-Write organizer
(and answers for itself), refused with the reason in the email modes, and listed to integrators by
`GET /v1/resources` in Cronofy's shape (through the official pycronofy SDK)."""

from __future__ import annotations

from datetime import timedelta

import pycronofy
import pytest
import requests

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import ManagedEvent
from calendars.services import calendar_service_change_mode
from calendars.tasks import profile_first_sync
from core.choices import AccessMode
from directory.models import DirectoryResource, DirectoryService
from directory.rounds import directory_round
from directory.tests.fixtures import account
from sandbox.models import Event as SandboxEvent
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)

THAMES = "thames@contoso.example"


@pytest.fixture
def erin(directories, world):
    """Erin, onboarded from Contoso's directory (which lists the Thames room) with the hosted calendar of
    Acme's No Access service for Contoso, and an integrator's token."""
    DirectoryService.objects.filter(pk=directories.microsoft.pk).update(offboarding_threshold=100)
    outcome = directory_round(service=DirectoryService.objects.get(pk=directories.microsoft.pk))
    assert DirectoryResource.objects.filter(email=THAMES, removed_at__isnull=True).exists(), outcome.round.errors
    user = account("erin@contoso.example")
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=user, scopes=["read_write"]).access_token
    return {"user": user, "token": token, "world": world}


def booking(live_server, erin, calendar, email=THAMES):
    start = erin["world"].monday + timedelta(days=2, hours=15)
    return requests.post(
        f"{live_server.url}/v1/calendars/{calendar.public_id}/events",
        json={
            "event_id": "board-1",
            "summary": "Board",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "attendees": {"invite": [{"email": email}]},
        },
        headers={"Authorization": f"Bearer {erin['token']}"},
        timeout=30,
    )


def test_a_read_write_microsoft_organizer_books_a_directory_room(live_server, erin, world, acme_calendars, bob):
    # Acme's Contoso calendars are No Access, a ceiling on Erin's own connections too: she connects
    # Read-Write once Acme allows it.
    calendar_service_change_mode(service=acme_calendars["contoso"], access_mode=AccessMode.READ_WRITE, actor=bob)
    profile = connected_profile(world, erin["user"], "erin", mode="read_write")
    profile_first_sync(profile.pk)
    response = booking(live_server, erin, profile.calendars.get(is_primary=True))
    assert response.status_code == 202, response.content
    attendee = ManagedEvent.objects.get().attendees.get()
    assert attendee.is_room
    written = SandboxEvent.objects.get(calendar=world.calendars["erin"], summary="Board")
    room = next(a for a in written.attendees if a["email"] == THAMES)
    assert room["resource"] is True
    assert room["response"] == "accepted"  # the room answered for itself


def test_an_email_mode_organizer_is_told_rooms_cannot_be_booked(live_server, erin, world):
    hosted = erin["user"].calendar_profiles.get(provider_name="cronofy").calendars.get()
    response = booking(live_server, erin, hosted)
    assert response.status_code == 422
    assert "Rooms cannot be booked by email invitation" in response.json()["errors"]["attendees"][0]["description"]
    assert THAMES in response.json()["errors"]["attendees"][0]["description"]


def test_integrators_list_the_organizations_rooms_in_cronofys_shape(live_server, erin):
    client = pycronofy.Client(access_token=erin["token"])
    client.request_handler.base_url = live_server.url
    resources = client.resources()
    assert {"email": THAMES, "name": "Thames (6)"} in resources


def test_resources_need_a_grant_that_creates_events(live_server, erin):
    application, _ = application_create(name="Reader", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=erin["user"], scopes=["read_account"]).access_token
    response = requests.get(f"{live_server.url}/v1/resources", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 403


def test_nobody_outside_the_organization_sees_its_rooms(live_server, erin, charlie):
    application, _ = application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=charlie, scopes=["read_write"]).access_token
    response = requests.get(f"{live_server.url}/v1/resources", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.json() == {"resources": []}
