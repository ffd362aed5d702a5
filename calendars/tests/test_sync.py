"""Sync end to end: busy periods follow the sandbox calendars through push notifications and
incremental rounds, recover from expired cursors and missed notifications, and a withdrawn grant is
noticed and reported. What an integrator reads is `GET /v1/free_busy`. Real HTTP throughout (this
system and the sandbox on the live server), real client libraries."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import BusyPeriod, Calendar, CalendarProfile, ProviderWatch
from calendars.notifications import channel_create, signature
from calendars.services import calendar_profile_disconnect
from calendars.sync import FULL_SYNC_EVERY, SYNC_FUTURE, SYNC_PAST, WINDOW_SLACK, profile_sync, sync_window
from calendars.tasks import calendars_poll, profile_first_sync
from conftest import make_user
from sandbox import services as sandbox
from sandbox.models import Event, Fault, Provider, Subscription, Token, WatchChannel
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECTS = {"google": ("alice", "alice@acme.example"), "microsoft": ("erin", "erin@contoso.example")}


@pytest.fixture
def integrator(world):
    return application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])


@pytest.fixture(params=["google", "microsoft"])
def synced(request, world, integrator):
    """A Free/Busy profile on each provider after its first sync, and an integrator token for it."""
    person, email = SUBJECTS[request.param]
    user = make_user(email, person.title())
    profile = connected_profile(world, user, person, mode="free_busy")
    profile_first_sync(profile.pk)
    application, secret = integrator
    token = tokens_issue_for(application=application, user=user, scopes=["free_busy"]).access_token
    return {
        "provider": request.param,
        "person": person,
        "user": user,
        "profile": profile,
        "calendar": profile.calendars.get(),
        "sandbox_calendar": world.calendars[person],
        "token": token,
        "application": application,
        "secret": secret,
    }


def free_busy(live_server, token: str, **params: object) -> list[dict]:
    """Every page of /v1/free_busy, as an integrator reads it."""
    response = requests.get(
        f"{live_server.url}/v1/free_busy",
        params={"tzid": "Etc/UTC", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    found = list(body["free_busy"])
    while "next_page" in body["pages"]:
        body = requests.get(body["pages"]["next_page"], headers={"Authorization": f"Bearer {token}"}, timeout=20).json()
        found += body["free_busy"]
    return found


def at(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def has(found: list[dict], start, end, status: str = "busy") -> bool:
    return any(p["start"] == at(start) and p["end"] == at(end) and p["free_busy_status"] == status for p in found)


def test_the_first_sync_keeps_every_occurrence_and_how_busy_it_is(live_server, world):
    alice = make_user("alice@acme.example", "Alice")
    profile = connected_profile(world, alice, "alice")
    profile_first_sync(profile.pk)
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=alice, scopes=["read_free_busy"]).access_token
    monday = world.monday
    found = free_busy(live_server, token)
    standups = [p for p in found if p["start"].endswith("T09:30:00Z")]
    assert len(standups) == 5  # the daily series, expanded
    assert has(found, monday + timedelta(hours=14), monday + timedelta(hours=15))
    assert has(found, monday + timedelta(hours=16), monday + timedelta(hours=17), "free")  # transparent
    assert has(found, monday + timedelta(days=1, hours=11), monday + timedelta(days=1, hours=12), "free")  # declined
    calendar = profile.calendars.get()
    assert {p["calendar_id"] for p in found} == {calendar.public_id}
    assert ProviderWatch.objects.filter(profile=profile, calendar=calendar, stopped_at__isnull=True).count() == 1


def test_changes_at_the_provider_arrive_through_push_notifications(live_server, world, synced):
    monday, mine = world.monday, synced["sandbox_calendar"]
    token = synced["token"]
    event = sandbox.event_create(
        calendar=mine,
        values={"summary": "Dentist", "start": monday + timedelta(hours=7), "end": monday + timedelta(hours=8)},
    )
    assert has(free_busy(live_server, token), monday + timedelta(hours=7), monday + timedelta(hours=8))

    sandbox.event_update(
        event=event, values={"start": monday + timedelta(hours=18), "end": monday + timedelta(hours=19)}
    )
    found = free_busy(live_server, token)
    assert has(found, monday + timedelta(hours=18), monday + timedelta(hours=19))
    assert not has(found, monday + timedelta(hours=7), monday + timedelta(hours=8))

    sandbox.event_update(
        event=Event.objects.get(pk=event.pk), values={"transparent": True, "show_as": Event.ShowAs.FREE}
    )
    assert has(free_busy(live_server, token), monday + timedelta(hours=18), monday + timedelta(hours=19), "free")

    sandbox.event_cancel(event=Event.objects.get(pk=event.pk))
    found = free_busy(live_server, token)
    assert not [p for p in found if p["start"] == at(monday + timedelta(hours=18))]


def test_declining_an_invitation_frees_the_time(live_server, world, synced):
    monday, person = world.monday, synced["person"]
    organizer = "bob" if synced["provider"] == "google" else "max"
    invitation = sandbox.event_create(
        calendar=world.calendars[organizer],
        values={
            "summary": "Planning",
            "start": monday + timedelta(days=2, hours=10),
            "end": monday + timedelta(days=2, hours=11),
            "attendees": [{"email": world.people[person].email, "response": "needsAction"}],
        },
    )
    start, end = monday + timedelta(days=2, hours=10), monday + timedelta(days=2, hours=11)
    unanswered = free_busy(live_server, synced["token"])
    assert has(unanswered, start, end, "tentative") or has(unanswered, start, end, "busy")
    copy = Event.objects.get(calendar=synced["sandbox_calendar"], ical_uid=invitation.ical_uid)
    sandbox.event_respond(event=copy, response="declined")
    assert has(free_busy(live_server, synced["token"]), start, end, "free")


def test_an_expired_cursor_means_a_full_resync_with_nothing_lost_or_duplicated(live_server, world, synced):
    calendar = synced["calendar"]
    before = sorted(BusyPeriod.objects.filter(calendar=calendar).values_list("provider_event_id", "start", "end"))
    previous_full_sync = Calendar.objects.get(pk=calendar.pk).full_synced_at
    sandbox.calendar_expire_sync_tokens(calendar=synced["sandbox_calendar"])
    monday = world.monday
    sandbox.event_create(
        calendar=synced["sandbox_calendar"],
        values={"summary": "After expiry", "start": monday + timedelta(hours=6), "end": monday + timedelta(hours=7)},
    )
    calendar.refresh_from_db()
    assert calendar.full_synced_at > previous_full_sync  # the 410 led to a full round
    after = sorted(BusyPeriod.objects.filter(calendar=calendar).values_list("provider_event_id", "start", "end"))
    assert len(after) == len(before) + 1
    assert set(before) < set(after)
    found = free_busy(live_server, synced["token"])
    assert len(found) == len({(p["start"], p["end"], p["free_busy_status"]) for p in found})  # no duplicates
    assert has(found, monday + timedelta(hours=6), monday + timedelta(hours=7))


def test_a_missed_notification_is_caught_by_the_poller(live_server, world, synced):
    provider = Provider.GOOGLE if synced["provider"] == "google" else Provider.MICROSOFT
    Fault.objects.create(provider=provider, operation="push", kind=Fault.Kind.DROP_PUSH, times=1)
    monday = world.monday
    start, end = monday + timedelta(days=3, hours=8), monday + timedelta(days=3, hours=9)
    sandbox.event_create(calendar=synced["sandbox_calendar"], values={"summary": "Lost", "start": start, "end": end})
    assert not has(free_busy(live_server, synced["token"]), start, end)

    calendars_poll()  # not yet due: synced moments ago
    assert not has(free_busy(live_server, synced["token"]), start, end)
    Calendar.objects.filter(pk=synced["calendar"].pk).update(synced_at=timezone.now() - timedelta(hours=1))
    calendars_poll()
    assert has(free_busy(live_server, synced["token"]), start, end)


def test_a_revoked_grant_marks_the_profile_for_relink_and_tells_the_integrator(live_server, world, synced, receiver):
    grant = synced["profile"].user.grants.get()
    channel = channel_create(grant=grant, callback_url=receiver.url, calendar_ids=[], only_managed=False)
    Token.objects.filter(person=world.people[synced["person"]]).update(revoked_at=timezone.now())
    Calendar.objects.filter(pk=synced["calendar"].pk).update(synced_at=timezone.now() - timedelta(hours=1))
    calendars_poll()

    profile = synced["profile"]
    profile.refresh_from_db()
    assert profile.status == "relink_required"
    kinds = [json.loads(r.body)["notification"]["type"] for r in receiver.requests]
    assert kinds == ["verification", "profile_disconnected"]
    last = receiver.requests[-1]
    assert last.headers["Cronofy-HMAC-SHA256"] == signature(body=last.body, secret=synced["secret"])
    assert json.loads(last.body)["channel"]["channel_id"] == channel.public_id
    profiles = requests.get(
        f"{live_server.url}/v1/profiles", headers={"Authorization": f"Bearer {synced['token']}"}, timeout=20
    ).json()["profiles"]
    assert profiles[0]["profile_connected"] is False
    assert profiles[0]["profile_relink_url"].endswith(f"/profiles/{profile.public_id}/relink")


def test_disconnecting_stops_the_push_subscriptions_and_forgets_the_busy_periods(live_server, world, synced):
    profile = synced["profile"]
    calendar_profile_disconnect(profile=profile, actor=None)
    assert not BusyPeriod.objects.filter(calendar__profile=profile).exists()
    assert not ProviderWatch.objects.filter(profile=profile, stopped_at__isnull=True).exists()
    if synced["provider"] == "google":
        assert not WatchChannel.objects.filter(stopped_at__isnull=True).exists()
    else:
        assert not Subscription.objects.filter(deleted_at__isnull=True).exists()


def test_the_admin_shows_sync_state_and_syncs_on_demand(live_server, world, synced, client_for, acme, bob):
    CalendarProfile.objects.filter(pk=synced["profile"].pk).update(organization=acme)
    page = client_for(bob).get(reverse("admin:calendars_calendarprofile_change", args=[synced["profile"].pk]))
    text = page.content.decode()
    assert "renews before" in text  # the push subscription and when it is renewed
    assert synced["calendar"].public_id in text

    monday = world.monday
    Fault.objects.create(
        provider=Provider.GOOGLE if synced["provider"] == "google" else Provider.MICROSOFT,
        operation="push",
        kind=Fault.Kind.DROP_PUSH,
        times=1,
    )
    sandbox.event_create(
        calendar=synced["sandbox_calendar"],
        values={"summary": "Quiet", "start": monday + timedelta(hours=5), "end": monday + timedelta(hours=6)},
    )
    assert not has(free_busy(live_server, synced["token"]), monday + timedelta(hours=5), monday + timedelta(hours=6))
    client_for(bob).post(
        reverse("admin:calendars_calendarprofile_changelist"),
        {"action": "sync_now", "_selected_action": [synced["profile"].pk]},
    )
    assert has(free_busy(live_server, synced["token"]), monday + timedelta(hours=5), monday + timedelta(hours=6))


def test_the_daily_round_reads_only_changes_until_the_windows_slack_is_used(live_server, world, synced):
    """The cursor of a full round covers Cronofy's window plus WINDOW_SLACK, so the periodic round a day
    later is incremental (a change arrives, nothing is re-read); once the slack is used up, it is full."""
    calendar = synced["calendar"]
    first_full = Calendar.objects.get(pk=calendar.pk).full_synced_at
    Calendar.objects.filter(pk=calendar.pk).update(full_synced_at=first_full - timedelta(days=1))
    start = world.monday + timedelta(days=4, hours=15)
    late = sandbox.event_create(  # its push notification runs a round at once
        calendar=synced["sandbox_calendar"],
        values={"summary": "Late", "start": start, "end": start + timedelta(hours=1)},
    )
    assert BusyPeriod.objects.filter(calendar=calendar, provider_event_id=late.event_id, start=start).exists()
    [outcome] = profile_sync(profile=synced["profile"])  # the poller's round
    assert (outcome.full, outcome.upserted, outcome.removed) == (False, 0, 0)
    assert Calendar.objects.get(pk=calendar.pk).full_synced_at == first_full - timedelta(days=1)  # no full round

    Calendar.objects.filter(pk=calendar.pk).update(full_synced_at=timezone.now() - WINDOW_SLACK - timedelta(hours=1))
    [outcome] = profile_sync(profile=synced["profile"])
    assert (outcome.full, outcome.upserted, outcome.removed) == (True, 0, 0)  # re-read, nothing rewritten
    assert Calendar.objects.get(pk=calendar.pk).full_synced_at > first_full


def test_a_full_rounds_window_covers_cronofys_until_the_next_full_round():
    now = timezone.now()
    start, end = sync_window(now)
    assert start == now - SYNC_PAST
    assert end - FULL_SYNC_EVERY >= now + SYNC_FUTURE  # the last incremental round still sees 201 days ahead
