"""`POST/DELETE /v1/calendars/{calendar_id}/events` by access mode: Read-Write events are written into
the organizer's sandbox calendar by the provider (Meet or Teams, rooms); Free/Busy and No Access
events become invitation emails and never touch a provider write method."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from django.core import mail
from django.db import connection
from icalendar import Calendar as ICalendar

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import Invitation, ManagedEvent, WriteState
from bookings.services import EventInput, Invitee, managed_event_upsert
from calendars.clients import calendar_client_for_profile
from calendars.services import calendar_profile_connect
from calendars.tasks import profile_first_sync
from conftest import make_user
from sandbox.models import Event as SandboxEvent
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)

ROOM = "c_room1@resource.calendar.google.com"


def z(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def app(world):
    return application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])


def organizer(world, app, person: str, email: str, mode: str):
    user = make_user(email, person.title())
    if mode == "no_access":
        profile = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=email)
    else:
        profile = connected_profile(world, user, person, mode=mode)
        profile_first_sync(profile.pk)
    token = tokens_issue_for(application=app[0], user=user, scopes=["read_write", "free_busy_write"]).access_token
    return {"user": user, "profile": profile, "calendar": profile.calendars.get(is_primary=True), "token": token}


def upsert(live_server, who, **body):
    return requests.post(
        f"{live_server.url}/v1/calendars/{who['calendar'].public_id}/events",
        json=body,
        headers={"Authorization": f"Bearer {who['token']}"},
        timeout=30,
    )


def delete(live_server, who, event_id: str):
    return requests.delete(
        f"{live_server.url}/v1/calendars/{who['calendar'].public_id}/events",
        json={"event_id": event_id},
        headers={"Authorization": f"Bearer {who['token']}"},
        timeout=30,
    )


def meeting(world, **extra):
    start = world.monday + timedelta(days=2, hours=13)
    return {
        "event_id": "interview-42",
        "summary": "Interview",
        "description": "Second round",
        "start": z(start),
        "end": z(start + timedelta(hours=1)),
        "tzid": "Europe/London",
        **extra,
    }


#
# Read-Write: native writes
#


def test_read_write_google_writes_into_the_calendar_with_meet_and_a_room(live_server, world, app):
    alice = organizer(world, app, "alice", "alice@acme.example", "read_write")
    body = meeting(
        world,
        attendees={"invite": [{"email": "bob@acme.example", "display_name": "Bob"}, {"email": ROOM}]},
        conferencing={"profile_id": "integrated"},
    )
    assert upsert(live_server, alice, **body).status_code == 202

    event = ManagedEvent.objects.get()
    assert (event.delivery_mode, event.write_state) == ("native", WriteState.WRITTEN)
    written = SandboxEvent.objects.get(calendar=world.calendars["alice"], event_id=event.provider_event_id)
    assert written.summary == "Interview"
    assert written.organizer_email == "alice@acme.example"
    assert {a["email"] for a in written.attendees} >= {"bob@acme.example", ROOM}
    room = next(a for a in written.attendees if a["email"] == ROOM)
    assert room["response"] == "accepted"  # the room answered for itself
    assert event.join_url.startswith("https://meet.google.com/")
    assert SandboxEvent.objects.filter(calendar=world.calendars["bob"], ical_uid=written.ical_uid).exists()
    assert not Invitation.objects.exists() and not mail.outbox  # the provider invites, not us

    moved = meeting(
        world, start=z(world.monday + timedelta(days=3, hours=9)), end=z(world.monday + timedelta(days=3, hours=10))
    )
    assert upsert(live_server, alice, **moved).status_code == 202
    written.refresh_from_db()
    assert written.start == world.monday + timedelta(days=3, hours=9)
    assert SandboxEvent.objects.filter(calendar=world.calendars["alice"], summary="Interview").count() == 1
    assert ManagedEvent.objects.get().sequence == 1

    without_bob = {**moved, "attendees": {"remove": [{"email": "bob@acme.example"}]}}
    assert upsert(live_server, alice, **without_bob).status_code == 202
    written.refresh_from_db()
    assert "bob@acme.example" not in {a["email"] for a in written.attendees}
    assert SandboxEvent.objects.get(calendar=world.calendars["bob"], ical_uid=written.ical_uid).status == (
        SandboxEvent.Status.CANCELLED
    )  # the provider told Bob

    assert delete(live_server, alice, "interview-42").status_code == 202
    written.refresh_from_db()
    assert written.status == SandboxEvent.Status.CANCELLED


def test_read_write_microsoft_gets_a_teams_link(live_server, world, app):
    erin = organizer(world, app, "erin", "erin@contoso.example", "read_write")
    body = meeting(
        world, attendees={"invite": [{"email": "max@contoso.example"}]}, conferencing={"profile_id": "default"}
    )
    assert upsert(live_server, erin, **body).status_code == 202
    event = ManagedEvent.objects.get()
    assert event.write_state == WriteState.WRITTEN
    assert "teams.microsoft.com" in event.join_url
    written = SandboxEvent.objects.get(calendar=world.calendars["erin"], summary="Interview")
    assert [a["email"] for a in written.attendees] == ["max@contoso.example"]


def test_read_write_reminders_reach_google_as_overrides(live_server, world, app):
    """Read back through Google's own client library from the sandbox's Calendar API: the event has
    the integrator's reminders instead of the calendar's defaults, and the defaults again without them."""
    alice = organizer(world, app, "alice", "alice@acme.example", "read_write")
    body = meeting(world, reminders=[{"minutes": 10}, {"minutes": 1440}])
    assert upsert(live_server, alice, **body).status_code == 202
    event = ManagedEvent.objects.get()
    client = calendar_client_for_profile(alice["profile"])
    calendar_id = alice["calendar"].provider_calendar_id

    def reminders() -> dict:
        item = client._execute(lambda: client._api.events.get(calendarId=calendar_id, eventId=event.provider_event_id))
        return item["reminders"]

    assert reminders() == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 10}, {"method": "popup", "minutes": 1440}],
    }
    assert upsert(live_server, alice, **meeting(world)).status_code == 202
    assert reminders() == {"useDefault": True}


def test_read_write_reminders_reach_outlook_as_its_one_reminder(live_server, world, app):
    """Outlook keeps one reminder per event: the first the integrator listed, read back from Graph."""
    erin = organizer(world, app, "erin", "erin@contoso.example", "read_write")
    assert upsert(live_server, erin, **meeting(world, reminders=[{"minutes": 30}, {"minutes": 5}])).status_code == 202
    event = ManagedEvent.objects.get()
    client = calendar_client_for_profile(erin["profile"])
    item = client._call("GET", f"{client._user_path}/events/{quote(event.provider_event_id)}")
    assert (item["isReminderOn"], item["reminderMinutesBeforeStart"]) == (True, 30)


#
# Free/Busy and No Access: invitations, never a provider write
#


@pytest.mark.parametrize(
    ("person", "email", "mode"),
    [
        ("alice", "alice@acme.example", "free_busy"),
        ("erin", "erin@contoso.example", "free_busy"),
        ("nina", "nina@legal.acme.example", "no_access"),
    ],
)
def test_email_modes_send_invitations_and_write_nothing_at_the_provider(live_server, world, app, person, email, mode):
    who = organizer(world, app, person, email, mode)
    before = SandboxEvent.objects.count()
    body = meeting(
        world,
        attendees={"invite": [{"email": "candidate@example.com", "display_name": "Casey"}]},
        conferencing={"profile_id": "explicit", "join_url": "https://zoom.example/j/123"},
    )
    assert upsert(live_server, who, **body).status_code == 202
    assert SandboxEvent.objects.count() == before  # nothing written at the provider
    event = ManagedEvent.objects.get()
    assert (event.delivery_mode, event.write_state, event.join_url) == ("email", "", "https://zoom.example/j/123")
    assert sorted(i.recipient for i in Invitation.objects.all()) == sorted([email, "candidate@example.com"])
    assert all(i.sent_at for i in Invitation.objects.all())
    assert sorted(m.to[0] for m in mail.outbox) == sorted([email, "candidate@example.com"])
    parsed = ICalendar.from_ical(Invitation.objects.get(recipient="candidate@example.com").ics)
    assert parsed["METHOD"] == "REQUEST"
    assert "https://zoom.example/j/123" in str(parsed.walk("VEVENT")[0]["DESCRIPTION"])


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        (
            {"conferencing": {"profile_id": "integrated"}},
            "conferencing",
            "cannot create Google Meet or Microsoft Teams",
        ),
        ({"attendees": {"invite": [{"email": ROOM}]}}, "attendees", "Rooms cannot be booked by email invitation"),
    ],
)
def test_email_modes_refuse_native_conferencing_and_rooms_saying_why(live_server, world, app, extra, field, words):
    alice = organizer(world, app, "alice", "alice@acme.example", "free_busy")
    response = upsert(live_server, alice, **meeting(world, **extra))
    assert response.status_code == 422
    assert words in response.json()["errors"][field][0]["description"]
    assert not ManagedEvent.objects.exists() and not Invitation.objects.exists()


#
# The API's own rules
#


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": ""}, "summary"),
        ({"end": "2020-01-01T00:00:00Z"}, "end"),
        ({"start": "2027-01-01"}, "end"),
        ({"start": {"time": "2027-01-01T10:00:00", "tzid": "Mars/Base"}}, "start"),
        ({"start": "next tuesday"}, "start"),
        ({"conferencing": {"profile_id": "explicit"}}, "conferencing.join_url"),
        ({"attendees": {"invite": [{"email": "not-an-address"}]}}, "attendees.invite.0.email"),
    ],
)
def test_bad_events_get_cronofys_422(live_server, world, app, change, field):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    body = {**meeting(world), **change}
    if "summary" in change and not change["summary"]:
        body["summary"] = ""
    response = upsert(live_server, nina, **body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"], response.json()
    assert not ManagedEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("color", "#49BED8", "errors.unsupported"),
        ("attachments", [{"attachment_id": "att_1"}], "errors.unsupported"),
        ("recurrence", {"rules": [{"frequency": "weekly"}]}, "errors.unsupported"),
        ("extended_transparency", "tentative", "errors.unsupported"),
        ("reminders_create_only", True, "errors.unsupported"),
        ("sumary", "Interview", "errors.unknown"),  # a typo is not quietly dropped either
    ],
)
def test_fields_this_service_does_not_implement_are_refused_by_name(live_server, world, app, field, value, key):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    response = upsert(live_server, nina, **meeting(world), **{field: value})
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"][field]
    assert error["key"] == key
    assert "not supported" in error["description"] or f"{field} is not a field" in error["description"]
    assert not ManagedEvent.objects.exists() and not Invitation.objects.exists()


def test_the_fields_it_implements_are_all_accepted_together(live_server, world, app):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    body = meeting(
        world,
        location={"description": "Room 4", "lat": "51.5", "long": "-0.12"},
        url="https://example.com/booking/1",
        transparency="transparent",
        event_private=True,
        reminders=[{"minutes": 10}],
        attendees={"invite": [{"email": "casey@example.com"}]},
        conferencing={"profile_id": "explicit", "join_url": "https://zoom.example/j/1"},
        subscriptions=[
            {"type": "webhook", "uri": "https://example.com/hook", "interactions": [{"type": "conferencing_assigned"}]}
        ],
    )
    assert upsert(live_server, nina, **body).status_code == 202
    event = ManagedEvent.objects.get()
    assert (event.transparency, event.event_private, event.reminders) == ("transparent", True, [{"minutes": 10}])
    assert event.subscriptions[0]["uri"] == "https://example.com/hook"


def test_scopes_calendars_and_locked_profiles(live_server, world, app):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    reader_app, _ = application_create(name="Reader", redirect_uris=[INTEGRATOR_REDIRECT])
    reader = tokens_issue_for(application=reader_app, user=nina["user"], scopes=["read_only"]).access_token
    forbidden = requests.post(
        f"{live_server.url}/v1/calendars/{nina['calendar'].public_id}/events",
        json=meeting(world),
        headers={"Authorization": f"Bearer {reader}"},
        timeout=30,
    )
    assert forbidden.status_code == 403
    other = organizer(world, app, "ivan", "ivan@initech.example", "no_access")
    assert upsert(live_server, {**other, "calendar": nina["calendar"]}, **meeting(world)).status_code == 404
    nina["profile"].__class__.objects.filter(pk=nina["profile"].pk).update(status="relink_required")
    assert upsert(live_server, nina, **meeting(world)).status_code == 423


def test_the_same_upsert_twice_announces_once(live_server, world, app):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    body = meeting(world, attendees={"invite": [{"email": "casey@example.com"}]})
    assert upsert(live_server, nina, **body).status_code == 202
    assert upsert(live_server, nina, **body).status_code == 202
    assert ManagedEvent.objects.get().version == 1
    assert Invitation.objects.count() == 2


def test_concurrent_upserts_make_one_event_and_one_set_of_invitations(live_server, world, app):
    nina = organizer(world, app, "nina", "nina@legal.acme.example", "no_access")
    data = EventInput(
        event_id="race",
        summary="Race",
        start=world.monday + timedelta(hours=9),
        end=world.monday + timedelta(hours=10),
        invite=[Invitee(email="casey@example.com")],
    )
    barrier = threading.Barrier(4)
    failures = []

    def worker() -> None:
        try:
            barrier.wait()
            managed_event_upsert(application=app[0], calendar=nina["calendar"], data=data)
        except Exception as error:  # noqa: BLE001  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert ManagedEvent.objects.count() == 1
    assert sorted(Invitation.objects.values_list("recipient", flat=True)) == [
        "casey@example.com",
        "nina@legal.acme.example",
    ]
