"""Events with conferencing, end to end through the `/v1` API, the worker and the sandbox's providers:
the meeting is made before the event is announced, follows the event when it moves, goes when it is
deleted, survives provider outages without duplicates, and its join details reach invitations (DESCRIPTION,
LOCATION, RFC 7986 CONFERENCE), native events, `GET /v1/events` and the event's subscriptions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests
import vobject
from django.core import mail
from icalendar import Calendar as ICalendar

from accounts.models import Role
from accounts.oauth import application_create, tokens_issue_for
from accounts.services import membership_set
from bookings.models import ConferencingState, EventNotification, Invitation, ManagedEvent
from bookings.tasks import event_conference
from calendars.services import calendar_profile_connect
from calendars.tasks import profile_first_sync
from conferencing.models import ConferencingMeeting, ConferencingProfile
from conftest import make_user
from sandbox.models import Event as SandboxEvent
from sandbox.models import Fault, Meeting, Provider
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)


def z(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def app(world):
    return application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])


def organizer(world, app, acme, person: str, email: str, mode: str) -> dict:
    """A member of Acme with a calendar in this mode, and a token of the integrator for them."""
    user = make_user(email, person.title())
    membership_set(organization=acme, user=user, role=Role.MEMBER, actor=None)
    if mode == "no_access":
        profile = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=email)
    else:
        profile = connected_profile(world, user, person, mode=mode)
        profile_first_sync(profile.pk)
    token = tokens_issue_for(application=app[0], user=user, scopes=["read_write", "free_busy_write"]).access_token
    return {"user": user, "profile": profile, "calendar": profile.calendars.get(is_primary=True), "token": token}


def upsert(live_server, who: dict, **body) -> requests.Response:
    return requests.post(
        f"{live_server.url}/v1/calendars/{who['calendar'].public_id}/events",
        json=body,
        headers={"Authorization": f"Bearer {who['token']}"},
        timeout=30,
    )


def delete(live_server, who: dict, event_id: str) -> requests.Response:
    return requests.delete(
        f"{live_server.url}/v1/calendars/{who['calendar'].public_id}/events",
        json={"event_id": event_id},
        headers={"Authorization": f"Bearer {who['token']}"},
        timeout=30,
    )


def meeting(world, **extra) -> dict:
    start = world.monday + timedelta(days=2, hours=13)
    return {
        "event_id": "interview-42",
        "summary": "Interview",
        "description": "Second round",
        "start": z(start),
        "end": z(start + timedelta(hours=1)),
        "tzid": "Europe/London",
        "attendees": {"invite": [{"email": "candidate@example.com", "display_name": "Casey"}]},
        **extra,
    }


def invitation_to(recipient: str, *, sequence: int | None = None) -> tuple[ICalendar, object, Invitation]:
    rows = Invitation.objects.filter(recipient=recipient, method="REQUEST").order_by("-sequence", "-pk")
    if sequence is not None:
        rows = rows.filter(sequence=sequence)
    row = rows.first()
    return ICalendar.from_ical(row.ics), vobject.readOne(row.ics), row


def sent_body(recipient: str) -> str:
    message = [m for m in mail.outbox if m.to == [recipient]][-1]
    return message.body


#
# Email modes: the meeting's link in every invitation
#


def test_free_busy_organizer_gets_the_organizations_zoom_meeting_in_the_invitations(
    live_server, world, app, acme, connect
):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202

    event = ManagedEvent.objects.get()
    zoom = Meeting.objects.get(provider="zoom", state="active")
    assert (zoom.host_email, zoom.topic, zoom.start) == ("alice@acme.example", "Interview", event.start)
    assert event.conferencing_state == ConferencingState.ASSIGNED
    assert event.join_url.startswith(f"{live_server.url}/sandbox/zoom/j/{zoom.meeting_id}")
    first, second, row = invitation_to("candidate@example.com")
    vevent = first.walk("VEVENT")[0]
    assert event.join_url in str(vevent["DESCRIPTION"]) and "Join the Zoom meeting" in str(vevent["DESCRIPTION"])
    assert str(vevent["LOCATION"]) == event.join_url
    assert str(vevent["CONFERENCE"]) == event.join_url and vevent["CONFERENCE"].params["FEATURE"] == "VIDEO"
    assert second.vevent.conference.value == event.join_url
    assert event.join_url in second.vevent.description.value
    assert event.join_url in sent_body("candidate@example.com")
    assert Invitation.objects.filter(method="REQUEST").count() == 2  # one announcement, with the link

    moved = meeting(
        world, start=z(world.monday + timedelta(days=3, hours=9)), end=z(world.monday + timedelta(days=3, hours=10))
    )
    assert upsert(live_server, alice, **moved).status_code == 202  # conferencing not mentioned: kept
    zoom.refresh_from_db()
    assert zoom.start == world.monday + timedelta(days=3, hours=9)
    assert Meeting.objects.filter(provider="zoom", state="active").count() == 1
    first, _, row = invitation_to("candidate@example.com")
    assert row.sequence == 1 and event.join_url in str(first.walk("VEVENT")[0]["DESCRIPTION"])

    assert delete(live_server, alice, "interview-42").status_code == 202
    zoom.refresh_from_db()
    assert zoom.state == Meeting.State.DELETED
    assert ConferencingMeeting.objects.get().state == "deleted"


def test_no_access_organizer_uses_their_webex_profile_by_id(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "no_access")
    connect("webex")
    profile = ConferencingProfile.objects.get(user=alice["user"], provider="webex")
    response = upsert(live_server, alice, **meeting(world, conferencing={"profile_id": profile.public_id}))
    assert response.status_code == 202, response.text
    webex = Meeting.objects.get(provider="webex", state="active")
    assert webex.host_email == "alice@acme.example"
    first, second, _ = invitation_to("candidate@example.com")
    assert "Join the Webex meeting" in str(first.walk("VEVENT")[0]["DESCRIPTION"])
    assert second.vevent.conference.value == ManagedEvent.objects.get().join_url


def test_no_access_organizer_gets_a_meet_link_through_the_workspaces_delegation(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "no_access")
    connect("google_meet")
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    event = ManagedEvent.objects.get()
    assert f"{live_server.url}/sandbox/google/meet/" in event.join_url
    assert requests.get(event.join_url, timeout=10).status_code == 200
    assert delete(live_server, alice, "interview-42").status_code == 202
    assert "can't join" in requests.get(event.join_url, timeout=10).text  # the space is closed


def test_switching_to_explicit_deletes_the_meeting_and_sends_the_new_link(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    explicit = {"profile_id": "explicit", "provider_description": "Jitsi", "join_url": "https://meet.jit.si/x"}
    assert upsert(live_server, alice, **meeting(world, conferencing=explicit)).status_code == 202
    assert Meeting.objects.get(provider="zoom", topic="Interview").state == Meeting.State.DELETED
    first, _, row = invitation_to("candidate@example.com")
    assert row.sequence == 1 and str(first.walk("VEVENT")[0]["CONFERENCE"]) == "https://meet.jit.si/x"
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "none"})).status_code == 202
    event = ManagedEvent.objects.get()
    assert event.join_url == "" and "CONFERENCE" not in invitation_to("candidate@example.com")[0].walk("VEVENT")[0]


#
# Read-Write: the link in the native event
#


def test_read_write_organizer_with_a_teams_service_gets_the_link_in_the_written_event(
    live_server, world, app, acme, connect
):
    erin = organizer(world, app, acme, "erin", "erin@contoso.example", "read_write")
    connect("ms_teams", test_user="erin@contoso.example")
    assert upsert(live_server, erin, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    event = ManagedEvent.objects.get()
    teams = Meeting.objects.get(provider="microsoft", state="active")
    assert teams.host_email == "erin@contoso.example" and teams.external_id == event.event_uid
    written = SandboxEvent.objects.get(calendar=world.calendars["erin"], summary="Interview")
    assert written.location == event.join_url and event.join_url in written.description
    assert not Invitation.objects.exists()  # the provider invites


#
# Failures: retried without duplicates, reported, the event never lost
#


@pytest.fixture
def hooks(receiver):
    return [
        {
            "type": "webhook",
            "uri": receiver.url,
            "interactions": [{"type": "conferencing_assigned"}, {"type": "conferencing_failing"}],
        }
    ]


def test_an_outage_announces_the_event_without_the_link_then_sends_it_when_zoom_recovers(
    live_server, world, app, acme, connect, receiver, hooks, settings
):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    Fault.objects.create(provider=Provider.ZOOM, operation="meetings.create", kind=Fault.Kind.UNAVAILABLE, times=2)
    body = meeting(world, conferencing={"profile_id": "default"}, subscriptions=hooks)
    assert upsert(live_server, alice, **body).status_code == 202

    event = ManagedEvent.objects.get()
    assert event.conferencing_state == ConferencingState.FAILING and "503" in event.conferencing_error
    _, _, first = invitation_to("candidate@example.com")
    assert first.sequence == 0 and "CONFERENCE" not in first.ics  # the time is held for everyone
    failing = EventNotification.objects.get(kind="conferencing_failing")
    assert failing.delivered_at is not None

    event_conference(event.pk, 2)  # the scheduled retry: Zoom still down
    assert not Meeting.objects.filter(provider="zoom", topic="Interview").exists()
    assert EventNotification.objects.filter(kind="conferencing_failing").count() == 1  # told once
    event_conference(event.pk, 3)  # Zoom is back
    event_conference(event.pk, 4)  # and a duplicate run changes nothing
    assert Meeting.objects.filter(provider="zoom", topic="Interview").count() == 1
    event.refresh_from_db()
    assert event.conferencing_state == ConferencingState.ASSIGNED
    ics, _, update = invitation_to("candidate@example.com")
    assert update.sequence == 1 and str(ics.walk("VEVENT")[0]["CONFERENCE"]) == event.join_url
    assigned = [json.loads(r.body) for r in receiver.notifications() if b"conferencing_assigned" in r.body]
    assert len(assigned) == 1
    assert assigned[0]["event"]["conferencing"]["join_url"] == event.join_url
    raw = next(r for r in receiver.notifications() if b"conferencing_assigned" in r.body)
    expected = base64.b64encode(hmac.new(app[1].encode(), raw.body, hashlib.sha256).digest()).decode()
    assert raw.headers["Cronofy-HMAC-SHA256"] == expected


def test_a_lost_create_answer_is_found_again_instead_of_making_a_second_meeting(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    Fault.objects.create(provider=Provider.ZOOM, operation="meetings.create", kind=Fault.Kind.SERVER_ERROR, times=0)
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    event = ManagedEvent.objects.get()
    Fault.objects.update(active=False)
    # The worker died after Zoom made the meeting, before it heard back: the attempt is left marked.
    from conferencing.providers import conferencing_client
    from conferencing.providers.zoom import reference_line

    profile = event.conferencing_profile
    client = conferencing_client("zoom", profile.service.credentials)
    host = client.find_users([profile.profile_name])[profile.profile_name]
    from conferencing.providers.base import MeetingSpec

    made = client.create_meeting(
        host, MeetingSpec(key=event.event_uid, title="Interview", start=event.start, end=event.end)
    )
    assert reference_line(event.event_uid) in Meeting.objects.get(meeting_id=made.meeting_id).agenda
    ConferencingMeeting.objects.update(outcome_unknown=True)
    event_conference(event.pk, 2)
    assert Meeting.objects.filter(provider="zoom", topic="Interview").count() == 1
    event.refresh_from_db()
    assert made.meeting_id in event.join_url


def test_a_missing_teams_policy_is_reported_not_retried_and_the_event_still_goes_out(
    live_server, world, app, acme, connect, receiver, hooks
):
    max_ = organizer(world, app, acme, "max", "max@contoso.example", "read_write")
    connect("ms_teams", test_user="erin@contoso.example")
    assert (
        upsert(
            live_server, max_, **meeting(world, conferencing={"profile_id": "default"}, subscriptions=hooks)
        ).status_code
        == 202
    )
    event = ManagedEvent.objects.get()
    assert event.conferencing_state == ConferencingState.FAILED
    assert "application access policy" in event.conferencing_error
    assert SandboxEvent.objects.filter(calendar=world.calendars["max"], summary="Interview").exists()
    assert [json.loads(r.body)["notification"]["type"] for r in receiver.notifications()] == ["conferencing_failing"]


#
# The API's rules and what it reads back
#


def test_someone_without_a_conferencing_account_gets_a_clear_422_on_profile_id(live_server, world, app, acme, connect):
    connect("zoom")
    nina = organizer(world, app, acme, "nina", "nina@legal.acme.example", "no_access")  # not a Zoom user
    response = upsert(live_server, nina, **meeting(world, conferencing={"profile_id": "default"}))
    assert response.status_code == 422
    described = response.json()["errors"]["conferencing.profile_id"][0]["description"]
    assert "nina@legal.acme.example has no account at a conferencing service" in described
    assert not ManagedEvent.objects.exists()


def test_another_persons_conferencing_profile_is_refused(live_server, world, app, acme, connect, bob):
    connect("zoom")
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    bobs = ConferencingProfile.objects.get(user=bob)
    response = upsert(live_server, alice, **meeting(world, conferencing={"profile_id": bobs.public_id}))
    assert response.status_code == 422
    assert (
        "is not a conferencing profile of alice@acme.example"
        in (response.json()["errors"]["conferencing.profile_id"][0]["description"])
    )


def test_read_events_returns_the_conferencing_block(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    response = requests.get(
        f"{live_server.url}/v1/events",
        params={
            "only_managed": "true",
            "tzid": "Etc/UTC",
            "from": z(world.monday)[:10],
            "to": z(world.monday + timedelta(days=7))[:10],
        },
        headers={"Authorization": f"Bearer {alice['token']}"},
        timeout=30,
    )
    shaped = response.json()["events"][0]
    join = ManagedEvent.objects.get().join_url
    assert shaped["conferencing"] == {"provider_description": "Zoom", "join_url": join, "provider_name": "zoom"}
    assert shaped["meeting_url"] == join


def test_the_official_sdk_reads_conferencing_profiles_and_books_with_one(live_server, world, app, acme, connect):
    import pycronofy

    alice = organizer(world, app, acme, "alice", "alice@acme.example", "no_access")
    connect("zoom")
    sdk = pycronofy.Client(access_token=alice["token"])
    sdk.request_handler.base_url = live_server.url
    profiles = sdk.userinfo()["cronofy.data"]["conferencing_profiles"]
    assert [(p["provider_name"], p["profile_name"], p["profile_connected"]) for p in profiles] == [
        ("zoom", "alice@acme.example", True)
    ]
    start = world.monday + timedelta(days=2, hours=10)
    sdk.upsert_event(
        alice["calendar"].public_id,
        {
            "event_id": "sdk-1",
            "summary": "Booked with the SDK",
            "start": z(start),
            "end": z(start + timedelta(hours=1)),
            "conferencing": {"profile_id": profiles[0]["profile_id"]},
        },
    )
    assert Meeting.objects.get(provider="zoom", state="active").topic == "Booked with the SDK"
    assert next(iter(sdk.read_events(only_managed=True, from_date=z(world.monday)[:10])))["conferencing"]["join_url"]


#
# A person linking their own Zoom or Webex (conferencing service authorizations)
#


def authorization_url(live_server, who: dict, **body) -> requests.Response:
    return requests.post(
        f"{live_server.url}/v1/conferencing_service_authorizations",
        json=body,
        headers={"Authorization": f"Bearer {who['token']}"},
        timeout=30,
    )


def test_a_person_links_their_own_zoom_and_comes_back_with_the_profile_id(
    live_server, world, app, acme, conferencing_world, settings
):
    import pycronofy

    from tests.e2e import Browser, callback_params

    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    sdk = pycronofy.Client(access_token=alice["token"])
    sdk.request_handler.base_url = live_server.url
    url = sdk.get_conferencing_services_auth_link(INTEGRATOR_REDIRECT, provider_name="zoom")
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", url), "alice@acme.example")
    assert "Sign in to Zoom" in page.text
    page = browser.submit(page, {"account": "alice@acme.example"})
    assert "meeting:write" in page.text and "user:read" in page.text
    back = callback_params(browser.submit(page, {"account": "alice@acme.example", "decision": "allow"}))
    profile = ConferencingProfile.objects.get(public_id=back["last_linked_profile_id"])
    assert (profile.user, profile.provider, profile.service, profile.is_connected) == (
        alice["user"],
        "zoom",
        None,
        True,
    )
    assert profile.credentials["refresh_token"]
    [listed] = sdk.userinfo()["cronofy.data"]["conferencing_profiles"]
    assert listed["profile_id"] == profile.public_id

    response = upsert(live_server, alice, **meeting(world, conferencing={"profile_id": profile.public_id}))
    assert response.status_code == 202
    zoom = Meeting.objects.get(provider="zoom", topic="Interview")
    assert (zoom.host_email, zoom.created_by) == ("alice@acme.example", settings.ZOOM_CLIENT_ID)


def test_a_person_chooses_webex_or_declines(live_server, world, app, acme, conferencing_world):
    from tests.e2e import Browser, callback_params

    alice = organizer(world, app, acme, "alice", "alice@acme.example", "no_access")
    url = authorization_url(live_server, alice, redirect_uri=INTEGRATOR_REDIRECT).json()["authorization_request"]["url"]
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", url), "alice@acme.example")
    assert "Zoom" in page.text and "Webex" in page.text
    page = browser.submit(page, {"provider": "webex"})
    page = browser.submit(page, {"account": "alice@acme.example"})
    back = callback_params(browser.submit(page, {"account": "alice@acme.example", "decision": "allow"}))
    assert ConferencingProfile.objects.get(public_id=back["last_linked_profile_id"]).provider == "webex"

    url = authorization_url(live_server, alice, redirect_uri=INTEGRATOR_REDIRECT).json()["authorization_request"]["url"]
    page = browser.go("GET", url)
    assert callback_params(browser.submit(page, {"action": "decline"})) == {"error": "access_denied"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redirect_uri": "https://elsewhere.example/callback"}, "redirect_uri"),
        ({"redirect_uri": INTEGRATOR_REDIRECT, "provider_name": "ms_teams"}, "provider_name"),
        ({"redirect_uri": INTEGRATOR_REDIRECT, "provider_name": "skype"}, "provider_name"),
    ],
)
def test_bad_conferencing_authorization_requests_get_a_422(live_server, world, app, acme, body, field):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "no_access")
    response = authorization_url(live_server, alice, **body)
    assert response.status_code == 422 and field in response.json()["errors"]


def test_a_create_under_way_in_another_worker_is_not_repeated(live_server, world, app, acme, connect):
    from django.utils import timezone

    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    Fault.objects.create(provider=Provider.ZOOM, operation="meetings.create", kind=Fault.Kind.SERVER_ERROR, times=0)
    assert upsert(live_server, alice, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    Fault.objects.update(active=False)
    event = ManagedEvent.objects.get()
    ConferencingMeeting.objects.update(attempt_started_at=timezone.now())  # another worker holds the create
    event_conference(event.pk, 2)
    assert not Meeting.objects.filter(provider="zoom", topic="Interview").exists()
    event.refresh_from_db()
    assert event.conferencing_state == ConferencingState.FAILING  # unchanged: it comes back later
    ConferencingMeeting.objects.update(attempt_started_at=timezone.now() - timedelta(minutes=10))  # the holder died
    event_conference(event.pk, 3)
    assert Meeting.objects.filter(provider="zoom", topic="Interview").count() == 1


#
# Every provider, the same way
#

# (provider, organizer, organizer's address, mode, the sandbox's provider, the create operation)
PROVIDERS = [
    ("zoom", "alice", "alice@acme.example", "free_busy", "zoom", "meetings.create"),
    ("webex", "alice", "alice@acme.example", "no_access", "webex", "meetings.create"),
    ("ms_teams", "erin", "erin@contoso.example", "free_busy", "microsoft", "graph.onlineMeetings.createOrGet"),
    ("google_meet", "alice", "alice@acme.example", "no_access", "google", "meet.spaces.create"),
]


@pytest.mark.parametrize(("provider", "person", "email", "mode", "sandbox_provider", "operation"), PROVIDERS)
def test_each_providers_meeting_follows_the_event(
    live_server, world, app, acme, connect, provider, person, email, mode, sandbox_provider, operation
):
    who = organizer(world, app, acme, person, email, mode)
    connect(provider, test_user=email)
    before = {m.pk for m in Meeting.objects.all()}
    assert upsert(live_server, who, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    [made] = Meeting.objects.exclude(pk__in=before)
    event = ManagedEvent.objects.get()
    assert made.host_email == email and event.conferencing_state == ConferencingState.ASSIGNED
    assert vobject.readOne(invitation_to("candidate@example.com")[2].ics).vevent.conference.value == event.join_url

    later = world.monday + timedelta(days=4, hours=15)
    moved = meeting(world, start=z(later), end=z(later + timedelta(hours=1)))
    assert upsert(live_server, who, **moved).status_code == 202
    made.refresh_from_db()
    assert Meeting.objects.exclude(pk__in=before).count() == 1  # moved, not made again
    assert made.start in (None, later)  # a Meet space has no time
    event.refresh_from_db()
    assert event.join_url and invitation_to("candidate@example.com")[2].sequence == 1

    assert delete(live_server, who, "interview-42").status_code == 202
    made.refresh_from_db()
    assert made.state == Meeting.State.DELETED or made.access_type == "RESTRICTED"


@pytest.mark.parametrize(("provider", "person", "email", "mode", "sandbox_provider", "operation"), PROVIDERS)
def test_each_providers_outage_is_retried_and_the_link_follows(
    live_server, world, app, acme, connect, settings, provider, person, email, mode, sandbox_provider, operation
):
    settings.PROVIDER_MAX_ATTEMPTS = 1
    who = organizer(world, app, acme, person, email, mode)
    connect(provider, test_user=email)
    before = {m.pk for m in Meeting.objects.all()}
    Fault.objects.create(provider=sandbox_provider, operation=operation, kind=Fault.Kind.UNAVAILABLE, times=1)
    assert upsert(live_server, who, **meeting(world, conferencing={"profile_id": "default"})).status_code == 202
    event = ManagedEvent.objects.get()
    assert event.conferencing_state == ConferencingState.FAILING
    assert invitation_to("candidate@example.com")[2].sequence == 0  # announced without the link
    event_conference(event.pk, 2)
    event_conference(event.pk, 3)
    assert Meeting.objects.exclude(pk__in=before).count() == 1
    event.refresh_from_db()
    assert event.conferencing_state == ConferencingState.ASSIGNED
    _, second, update = invitation_to("candidate@example.com")
    assert update.sequence == 1 and second.vevent.conference.value == event.join_url


def test_no_meeting_is_made_for_an_event_in_the_past(live_server, world, app, acme, connect):
    alice = organizer(world, app, acme, "alice", "alice@acme.example", "free_busy")
    connect("zoom")
    past = world.monday - timedelta(days=14)
    body = meeting(world, start=z(past), end=z(past + timedelta(hours=1)), conferencing={"profile_id": "default"})
    assert upsert(live_server, alice, **body).status_code == 202
    event = ManagedEvent.objects.get()
    assert (event.conferencing_state, event.join_url) == (ConferencingState.NONE, "")
    assert not Meeting.objects.filter(provider="zoom", topic="Interview").exists()
    assert Invitation.objects.filter(recipient="candidate@example.com").exists()  # announced at once
