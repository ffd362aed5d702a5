"""Changing an access mode is one switch, completed at once: reconnecting lower replaces the profile
(one per provider account, never counted twice), an organization's mode change is previewed and then
carried out. After any downgrade no table holds an event detail of the person (scanned as the privacy
test does), the old grant is revoked at the provider, integrators' tokens cannot read events, their
channels are told, and the history says so. End to end with the sandbox on the live server."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import requests
from django.urls import reverse

from accounts.models import AuditEvent, Grant
from accounts.oauth import application_create, tokens_issue_for
from calendars.choices import ProfileStatus
from calendars.models import CalendarProfile, ExternalEventDetail
from calendars.notifications import channel_create
from calendars.services import calendar_service_change_mode
from calendars.sync import profile_sync
from conftest import make_user
from connect.tests.test_individual_connect import connect, exchange
from core.choices import AccessMode
from sandbox.models import Event, Token
from sandbox.tokens import token_hash
from tests.e2e import (
    INTEGRATOR_REDIRECT,
    acme_workspace,
    connected_profile,
    delegate_acme_workspace,
    sandbox_authorize_query,
)
from tests.test_privacy import secrets_of, tables_holding

pytestmark = pytest.mark.django_db(transaction=True)

G = "https://www.googleapis.com/auth/"


@pytest.fixture
def integrator(world):
    return application_create(
        name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )


def alices_secrets() -> set[str]:
    words = secrets_of(Event.objects.filter(calendar__owner__email="alice@acme.example"))
    assert {"Design review", "Everest"} <= words
    return words


def events(live_server, token: str) -> requests.Response:
    return requests.get(
        f"{live_server.url}/v1/events",
        params={"tzid": "Etc/UTC"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )


def free_busy(live_server, token: str) -> list[dict]:
    response = requests.get(
        f"{live_server.url}/v1/free_busy",
        params={"tzid": "Etc/UTC"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    return response.json()["free_busy"]


def notification_types(receiver) -> list[str]:
    return [body["notification"]["type"] for body in receiver.json_bodies()]


#
# A person reconnects the same account in another mode
#


def test_reconnecting_lower_replaces_the_profile_and_takes_the_old_modes_access_away(
    live_server, integrator, world, receiver
):
    application, secret = integrator
    alice = make_user("alice@acme.example", "Alice")
    _, callback = connect(live_server, application, alice.email, provider="google", mode=AccessMode.READ_WRITE)
    token = exchange(live_server, application, secret, callback["code"]).json()["access_token"]
    read_write = CalendarProfile.objects.get(user=alice)
    profile_sync(profile=read_write, full=True)  # now that the application holds read_events
    old_refresh = read_write.credentials["refresh_token"]
    assert ExternalEventDetail.objects.filter(busy_period__calendar__profile=read_write).exists()
    assert "Design review" in {event["summary"] for event in events(live_server, token).json()["events"]}
    channel_create(grant=Grant.objects.get(user=alice), callback_url=receiver.url, calendar_ids=[], only_managed=False)
    receiver.requests.clear()

    browser, _ = connect(live_server, application, alice.email, provider="google", mode=AccessMode.FREE_BUSY)

    assert G + "calendar" not in sandbox_authorize_query(browser)["scope"][0].split()
    [profile] = CalendarProfile.objects.filter(user=alice).exclude(status=ProfileStatus.DISCONNECTED)
    assert profile.public_id == read_write.public_id  # replaced in place: one profile per account
    assert profile.provider_name == "google_free_busy"
    for word in sorted(alices_secrets()):
        assert tables_holding(word) == [], word
    assert Token.objects.get(value_hash=token_hash(old_refresh)).revoked_at is not None
    assert events(live_server, token).status_code == 403  # the same token, at once
    assert "change" in notification_types(receiver)
    periods = [(p["start"], p["end"]) for p in free_busy(live_server, token)]
    assert periods and len(periods) == len(set(periods))  # nothing counted twice
    assert AuditEvent.objects.filter(
        action="profile_mode_changed", changes__access_mode=["read_write", "free_busy"]
    ).exists()


def test_reconnecting_higher_asks_the_provider_for_the_new_modes_scopes(live_server, integrator, world):
    application, _ = integrator
    alice = make_user("alice@acme.example", "Alice")
    connect(live_server, application, alice.email, provider="google", mode=AccessMode.FREE_BUSY)
    free_busy_refresh = CalendarProfile.objects.get(user=alice).credentials["refresh_token"]

    browser, _ = connect(live_server, application, alice.email, provider="google", mode=AccessMode.READ_WRITE)

    assert G + "calendar" in sandbox_authorize_query(browser)["scope"][0].split()
    [profile] = CalendarProfile.objects.filter(user=alice)
    assert (profile.provider_name, profile.status) == ("google", ProfileStatus.CONNECTED)
    assert Token.objects.get(value_hash=token_hash(free_busy_refresh)).revoked_at is None  # only downgrades revoke


#
# An organization's service changes mode
#


@pytest.fixture
def acme_read_write(world, acme, bob, google_service_account):
    """Acme's Google Workspace in Read-Write, delegated and provisioned; Alice synced with details for an
    application granted read_events, and a future event booked natively in her calendar."""
    alice = make_user("alice@acme.example", "Alice")
    service = acme_workspace(acme, bob, AccessMode.READ_WRITE)
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=alice, scopes=["read_write"]).access_token
    delegate_acme_workspace(world, service, google_service_account, test_subject=alice.email, actor=bob)
    profile = CalendarProfile.objects.get(user=alice)
    assert ExternalEventDetail.objects.filter(busy_period__calendar__profile=profile).exists()
    return {"service": service, "alice": alice, "profile": profile, "token": token, "application": application}


def book_natively(live_server, setup, world) -> None:
    start = world.monday + timedelta(days=3, hours=14)
    response = requests.post(
        f"{live_server.url}/v1/calendars/{setup['profile'].calendars.get(is_primary=True).public_id}/events",
        json={
            "event_id": "interview-1",
            "summary": "Interview",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tzid": "Europe/London",
        },
        headers={"Authorization": f"Bearer {setup['token']}"},
        timeout=30,
    )
    assert response.status_code in (200, 202), response.text


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_console_previews_what_a_mode_change_does_before_anything_changes(
    live_server, acme_read_write, client_for, bob, world
):
    book_natively(live_server, acme_read_write, world)
    service = acme_read_write["service"]
    url = reverse("admin:calendars_calendarservice_access_mode", args=[service.pk])

    preview = page_text(client_for(bob).post(url, {"access_mode": AccessMode.FREE_BUSY}))

    assert "What changing Read-Write to Free/Busy does" in preview
    assert "2 people connected through this service: alice@acme.example, bob@acme.example" in preview
    assert (
        "Scheduler (1 person): can no longer see the events in your calendars; create new calendars; "
        "accept or decline invitations for you." in preview
    )
    assert "1 future event booked here moves from native writes to email invitations" in preview
    details = ExternalEventDetail.objects.filter(busy_period__calendar__profile=acme_read_write["profile"]).count()
    assert f"{details} event details (titles, descriptions, locations, attendees)" in preview
    service.refresh_from_db()
    assert service.access_mode == AccessMode.READ_WRITE  # a preview changes nothing
    assert ExternalEventDetail.objects.count() == details


def test_a_confirmed_downgrade_completes_at_once(live_server, acme_read_write, client_for, bob, receiver):
    service, alice, token = acme_read_write["service"], acme_read_write["alice"], acme_read_write["token"]
    channel_create(grant=Grant.objects.get(user=alice), callback_url=receiver.url, calendar_ids=[], only_managed=False)
    receiver.requests.clear()
    assert events(live_server, token).status_code == 200

    response = client_for(bob).post(
        reverse("admin:calendars_calendarservice_access_mode", args=[service.pk]),
        {"access_mode": AccessMode.FREE_BUSY, "confirm": "on"},
    )

    assert response.status_code == 302
    for word in sorted(alices_secrets()):
        assert tables_holding(word) == [], word
    assert not ExternalEventDetail.objects.exists()
    assert events(live_server, token).status_code == 403
    assert "change" in notification_types(receiver)
    history = AuditEvent.objects.get(target_id=str(service.pk), action="access_mode_changed")
    assert history.actor == bob
    assert history.changes["access_mode"] == ["read_write", "free_busy"]
    assert history.changes["impact"]["people"] == 2  # Alice and Bob
    assert "see the events in your calendars" in history.changes["impact"]["applications"][0]["loses"]
    assert json.dumps(history.changes).count("Design review") == 0


def test_peoples_own_connections_above_the_new_mode_come_down_with_it(live_server, world, acme, bob):
    alice = make_user("alice@acme.example", "Alice")
    own = connected_profile(world, alice, "alice", mode=AccessMode.READ_WRITE)
    refresh = own.credentials["refresh_token"]
    service = acme_workspace(acme, bob, AccessMode.READ_WRITE)
    own.refresh_from_db()
    assert own.access_mode == AccessMode.READ_WRITE  # under the ceiling: untouched

    calendar_service_change_mode(service=service, access_mode=AccessMode.NO_ACCESS, actor=bob)

    own.refresh_from_db()
    assert (own.provider_name, own.status, own.credentials) == ("cronofy", ProfileStatus.CONNECTED, None)
    assert own.calendars.get(is_deleted=False).is_hosted
    assert Token.objects.get(value_hash=token_hash(refresh)).revoked_at is not None
