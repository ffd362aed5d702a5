"""`GET /v1/events`: managed events for every mode, external events only from Read-Write profiles with
`read_events`, paging, filters, and a query count that does not grow with the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import ManagedEvent, ManagedEventAttendee
from calendars.models import BusyPeriod, Calendar, ExternalEventDetail
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

DAY = datetime(2027, 3, 22, tzinfo=UTC)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def world():
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example", "Alice")
    read_write = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name=alice.email,
        provider_account_id="g",
        credentials={"kind": "google_user"},
    )
    free_busy = calendar_profile_connect(
        user=alice,
        provider_name="ms_graph_free_busy",
        profile_name="alice@ms.example",
        provider_account_id="m",
        credentials={"kind": "microsoft_delegated"},
    )
    rw_calendar = Calendar.objects.create(profile=read_write, provider_calendar_id="alice@acme.example", name="RW")
    fb_calendar = Calendar.objects.create(profile=free_busy, provider_calendar_id="AAMk", name="FB")
    review = BusyPeriod.objects.create(
        calendar=rw_calendar,
        provider_event_id="r1",
        start=DAY + timedelta(hours=14),
        end=DAY + timedelta(hours=15),
        status="busy",
        updated_at=timezone.now(),
    )
    ExternalEventDetail.objects.create(
        busy_period=review,
        summary="Design review",
        location="Everest",
        organizer_email="bob@acme.example",
        attendees=[{"email": "alice@acme.example", "display_name": "Alice", "status": "accepted"}],
    )
    BusyPeriod.objects.create(
        calendar=fb_calendar,
        provider_event_id="f1",
        start=DAY + timedelta(hours=10),
        end=DAY + timedelta(hours=11),
        status="busy",
        updated_at=timezone.now(),
    )
    managed = ManagedEvent.objects.create(
        calendar=fb_calendar,
        application=application,
        event_id="interview-1",
        summary="Interview",
        start=DAY + timedelta(hours=9),
        end=DAY + timedelta(hours=10),
    )
    ManagedEventAttendee.objects.create(event=managed, email="cand@example.com", display_name="Candidate")
    return {"application": application, "alice": alice, "rw": rw_calendar, "fb": fb_calendar, "managed": managed}


def read(world, scopes: list[str], **params):
    token = tokens_issue_for(application=world["application"], user=world["alice"], scopes=scopes).access_token
    query = {"tzid": "Etc/UTC", "from": "2027-03-22", "to": "2027-03-23", **params}
    return Client().get("/v1/events", query, headers={"Authorization": f"Bearer {token}"})


def summaries(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [event["summary"] for event in response.json()["events"]]


def test_external_events_come_only_from_read_write_profiles(world):
    response = read(world, ["read_events"])
    assert summaries(response) == ["Design review"]
    [event] = response.json()["events"]
    assert event["calendar_id"] == world["rw"].public_id
    assert event["event_uid"].startswith("evt_external_")
    assert (event["start"], event["end"]) == (z(DAY + timedelta(hours=14)), z(DAY + timedelta(hours=15)))
    assert event["location"] == {"description": "Everest"}
    assert event["participation_status"] == "accepted"
    assert event["organizer"]["email"] == "bob@acme.example"


def test_managed_events_are_included_or_alone_when_asked(world):
    assert summaries(read(world, ["read_events"], include_managed="true")) == ["Interview", "Design review"]
    response = read(world, ["read_events"], only_managed="true")
    assert summaries(response) == ["Interview"]
    [event] = response.json()["events"]
    assert event["event_id"] == "interview-1"
    assert event["attendees"] == [{"email": "cand@example.com", "display_name": "Candidate", "status": "needs_action"}]


def test_managed_events_say_what_is_true_of_them(world):
    """Not constants: the event's privacy, the owner's own answer and the meeting link it was given."""
    managed = world["managed"]
    [event] = read(world, ["read_events"], only_managed="true").json()["events"]
    assert (event["event_private"], event["participation_status"]) == (False, "accepted")  # the organizer's own
    assert "meeting_url" not in event and "conferencing" not in event

    managed.event_private = True
    managed.join_url, managed.conferencing_description = "https://zoom.example/j/42", "Zoom"
    managed.save()
    # The organizer invited themself (another address of their own) and declined by email.
    ManagedEventAttendee.objects.create(event=managed, email="Alice@ms.example", status="declined")
    [event] = read(world, ["read_events"], only_managed="true").json()["events"]
    assert event["event_private"] is True
    assert event["participation_status"] == "declined"
    assert event["meeting_url"] == "https://zoom.example/j/42"
    assert event["conferencing"] == {"provider_description": "Zoom", "join_url": "https://zoom.example/j/42"}


def test_another_application_does_not_see_this_ones_managed_events(world):
    other, _ = application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=other, user=world["alice"], scopes=["read_events"]).access_token
    query = {"tzid": "Etc/UTC", "from": "2027-03-22", "to": "2027-03-23", "include_managed": "true"}
    body = Client().get("/v1/events", query, headers={"Authorization": f"Bearer {token}"}).json()
    assert [event["summary"] for event in body["events"]] == ["Design review"]


def test_an_application_without_read_events_reads_only_what_it_manages(world):
    assert read(world, ["free_busy_write"]).status_code == 403
    assert summaries(read(world, ["free_busy_write"], only_managed="true")) == ["Interview"]


def test_deleted_and_last_modified(world):
    ManagedEvent.objects.filter(pk=world["managed"].pk).update(deleted_at=timezone.now())
    assert summaries(read(world, ["read_events"], only_managed="true")) == []
    deleted = read(world, ["read_events"], only_managed="true", include_deleted="true").json()["events"]
    assert [(e["summary"], e["deleted"], e["status"]) for e in deleted] == [("Interview", True, "cancelled")]
    later = z(timezone.now() + timedelta(minutes=5))
    assert summaries(read(world, ["read_events"], include_managed="true", last_modified=later)) == []


def test_calendar_filter_and_bad_input(world):
    assert summaries(read(world, ["read_events"], **{"calendar_ids[]": [world["fb"].public_id]})) == []
    refused = read(world, ["read_events"], **{"calendar_ids[]": ["cal_someone_else"]})
    assert refused.status_code == 422
    assert "cal_someone_else" in refused.json()["errors"]["calendar_ids"][0]["description"]
    assert "tzid" in read(world, ["read_events"], tzid="").json()["errors"]
    assert "to" in read(world, ["read_events"], to="2027-03-21").json()["errors"]


def test_pages_follow_each_other_and_cost_the_same_queries(world):
    for number in range(120):
        ManagedEvent.objects.create(
            calendar=world["fb"],
            application=world["application"],
            event_id=f"bulk-{number}",
            summary=f"Bulk {number:03d}",
            start=DAY + timedelta(hours=12, minutes=number),
            end=DAY + timedelta(hours=13, minutes=number),
        )
    token = tokens_issue_for(application=world["application"], user=world["alice"], scopes=["read_events"]).access_token
    headers = {"Authorization": f"Bearer {token}"}
    client = Client()
    with CaptureQueriesContext(connection) as first_page:
        body = client.get(
            "/v1/events",
            {"tzid": "Etc/UTC", "from": "2027-03-22", "to": "2027-03-23", "only_managed": "true"},
            headers=headers,
        ).json()
    assert body["pages"]["current"] == 1 and body["pages"]["total"] == 3
    found = [e["event_id"] for e in body["events"]]
    while "next_page" in body["pages"]:
        with CaptureQueriesContext(connection) as later_page:
            body = client.get(body["pages"]["next_page"].removeprefix("http://testserver"), headers=headers).json()
        found += [e["event_id"] for e in body["events"]]
    assert len(found) == 121 and len(set(found)) == 121
    assert len(later_page) == len(first_page)
    other = tokens_issue_for(
        application=application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])[0],
        user=world["alice"],
        scopes=["read_events"],
    ).access_token
    assert (
        client.get(
            body["pages"].get("next_page", "/v1/events/pages/x"), headers={"Authorization": f"Bearer {other}"}
        ).status_code
        == 404
    )
