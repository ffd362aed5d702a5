"""The conferencing block of `GET /v1/events` for managed events, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookings.models import ConferencingState, ManagedEvent
from bookings.services import EventInput, managed_event_upsert
from calendars.services import calendar_profile_connect
from conferencing.providers.base import ConferencingUser
from conferencing.services import (
    conferencing_service_authorize,
    conferencing_service_connect,
    conferencing_service_link_accounts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoom(acme, bob, alice):
    """Acme's Zoom, live, with Alice linked (as a test meeting and a listing would leave it)."""
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    conferencing_service_authorize(
        service=service, credentials={"kind": "zoom_server_to_server"}, granted_scopes=[], actor=bob, known_good=True
    )
    conferencing_service_link_accounts(
        service=service, accounts=[ConferencingUser(user_id="zoomAlice", email="alice@acme.example")]
    )
    return service


def test_events_read_back_their_conferencing_in_a_fixed_number_of_queries(api_client_for, alice, zoom, integrator):
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name="alice@acme.example")
    calendar = profile.calendars.get()
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    def book(index: int) -> None:
        managed_event_upsert(
            application=integrator.application,
            calendar=calendar,
            data=EventInput(
                event_id=f"e{index}",
                summary="Call",
                start=start + timedelta(hours=index),
                end=start + timedelta(hours=index, minutes=30),
                conferencing={"profile_id": "default"},
            ),
        )
        # What the worker leaves once Zoom made the meeting.
        ManagedEvent.objects.filter(event_id=f"e{index}").update(
            join_url=f"https://zoom.example/j/{index}", conferencing_state=ConferencingState.ASSIGNED
        )

    client = api_client_for(alice)
    query = {"only_managed": "true", "tzid": "Etc/UTC", "from": start.date().isoformat()}
    book(0)
    with CaptureQueriesContext(connection) as one:
        first = client.get("/v1/events", query).json()["events"]
    for index in range(1, 6):
        book(index)
    with CaptureQueriesContext(connection) as six:
        events = client.get("/v1/events", query).json()["events"]
    assert len(six) == len(one)
    assert first[0]["conferencing"] == {
        "provider_description": "Zoom",
        "join_url": "https://zoom.example/j/0",
        "provider_name": "zoom",
    }
    assert len(events) == 6
