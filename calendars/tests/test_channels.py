"""Integrators' push notification channels: opened, listed and closed through `/v1/channels`, signed
as Cronofy signs them (checked with the official SDK's own `hmac_valid`), delivered from an outbox
that retries with backoff and never sends twice, and private to the application that opened them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pycronofy
import pytest
import requests
from django.utils import timezone

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import ChannelNotification
from calendars.notifications import MAX_ATTEMPTS, channel_notification_deliver, profile_changes_notify
from calendars.tasks import channel_notifications_retry, profile_first_sync
from conftest import make_user
from sandbox import services as sandbox
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(world):
    alice = make_user("alice@acme.example", "Alice")
    profile = connected_profile(world, alice, "alice", mode="free_busy")
    profile_first_sync(profile.pk)
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    other, _ = application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])
    return {
        "alice": alice,
        "profile": profile,
        "calendar": profile.calendars.get(),
        "secret": secret,
        "token": tokens_issue_for(application=application, user=alice, scopes=["free_busy"]).access_token,
        "other_token": tokens_issue_for(application=other, user=alice, scopes=["free_busy"]).access_token,
    }


def call(live_server, token: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(
        method, f"{live_server.url}/v1/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=20, **kwargs
    )


def test_a_channel_is_verified_with_a_signature_the_sdk_accepts(live_server, setup, receiver):
    response = call(live_server, setup["token"], "POST", "channels", json={"callback_url": receiver.url})
    assert response.status_code == 200
    channel = response.json()["channel"]
    assert channel["channel_id"].startswith("chn_")
    assert channel == {"channel_id": channel["channel_id"], "callback_url": receiver.url, "filters": {}}

    [verification] = receiver.requests
    assert json.loads(verification.body) == {"notification": {"type": "verification"}, "channel": channel}
    sdk = pycronofy.Client(client_id="x", client_secret=setup["secret"])
    assert sdk.hmac_valid(verification.headers["Cronofy-HMAC-SHA256"], verification.body.decode())
    assert not pycronofy.Client(client_id="x", client_secret="wrong").hmac_valid(
        verification.headers["Cronofy-HMAC-SHA256"], verification.body.decode()
    )


def test_a_change_at_the_provider_is_announced_with_changes_since(live_server, world, setup, receiver):
    call(live_server, setup["token"], "POST", "channels", json={"callback_url": receiver.url})
    before = timezone.now()
    monday = world.monday
    sandbox.event_create(
        calendar=world.calendars["alice"],
        values={"summary": "New", "start": monday + timedelta(hours=7), "end": monday + timedelta(hours=8)},
    )
    kinds = [json.loads(r.body)["notification"] for r in receiver.requests]
    assert kinds[0] == {"type": "verification"}
    assert kinds[1]["type"] == "change"
    changes_since = datetime.strptime(kinds[1]["changes_since"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before.replace(microsecond=0) <= changes_since <= timezone.now()  # re-read from the sync round on
    assert len(kinds) == 2


def test_filters_decide_which_changes_a_channel_hears(live_server, setup, receiver):
    calendar_id = setup["calendar"].public_id
    managed_only = call(
        live_server,
        setup["token"],
        "POST",
        "channels",
        json={"callback_url": receiver.url, "filters": {"only_managed": True}},
    ).json()["channel"]
    assert managed_only["filters"] == {"only_managed": True}
    other_calendar = call(
        live_server,
        setup["token"],
        "POST",
        "channels",
        json={"callback_url": receiver.url, "filters": {"calendar_ids": [calendar_id]}},
    ).json()["channel"]
    assert other_calendar["filters"] == {"calendar_ids": [calendar_id]}
    receiver.requests.clear()
    queued = profile_changes_notify(profile=setup["profile"], calendar_ids=["cal_somewhere_else"])
    assert queued == []
    queued = profile_changes_notify(profile=setup["profile"], calendar_ids=[calendar_id])
    assert [n.channel.public_id for n in queued] == [other_calendar["channel_id"]]
    queued = profile_changes_notify(profile=setup["profile"], calendar_ids=[calendar_id], managed=True)
    assert sorted(n.channel.public_id for n in queued) == sorted(
        [managed_only["channel_id"], other_calendar["channel_id"]]
    )


def test_bad_channels_are_refused_in_cronofys_shape(live_server, setup):
    response = call(live_server, setup["token"], "POST", "channels", json={"callback_url": "not a url"})
    assert response.status_code == 422
    assert response.json()["errors"]["callback_url"][0]["key"] == "errors.invalid"
    response = call(
        live_server,
        setup["token"],
        "POST",
        "channels",
        json={"callback_url": "https://example.com/hook", "filters": {"calendar_ids": ["cal_not_hers"]}},
    )
    assert response.status_code == 422
    assert "cal_not_hers" in response.json()["errors"]["filters.calendar_ids"][0]["description"]


def test_another_application_neither_sees_nor_closes_the_channel(live_server, setup, receiver):
    channel = call(live_server, setup["token"], "POST", "channels", json={"callback_url": receiver.url}).json()
    channel_id = channel["channel"]["channel_id"]
    assert call(live_server, setup["other_token"], "GET", "channels").json() == {"channels": []}
    assert call(live_server, setup["other_token"], "DELETE", f"channels/{channel_id}").status_code == 404
    assert [c["channel_id"] for c in call(live_server, setup["token"], "GET", "channels").json()["channels"]] == [
        channel_id
    ]
    assert call(live_server, setup["token"], "DELETE", f"channels/{channel_id}").status_code == 202
    assert call(live_server, setup["token"], "GET", "channels").json() == {"channels": []}
    receiver.requests.clear()
    assert profile_changes_notify(profile=setup["profile"], calendar_ids=[setup["calendar"].public_id]) == []


def test_a_failing_integrator_gets_the_notification_later_exactly_once(live_server, setup, receiver):
    receiver.fail_next = 1
    call(live_server, setup["token"], "POST", "channels", json={"callback_url": receiver.url})
    row = ChannelNotification.objects.get()
    assert (row.attempts, row.delivered_at, row.last_error) == (1, None, "HTTP 500")
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=20)

    channel_notifications_retry()  # not due yet
    assert len(receiver.requests) == 1
    ChannelNotification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    channel_notifications_retry()
    channel_notifications_retry()
    channel_notification_deliver(notification_id=row.pk)  # a duplicate task changes nothing
    row.refresh_from_db()
    assert row.attempts == 2 and row.delivered_at is not None
    assert len(receiver.requests) == 2


def test_after_the_last_attempt_the_notification_is_given_up(live_server, setup, receiver):
    receiver.fail_next = MAX_ATTEMPTS
    call(live_server, setup["token"], "POST", "channels", json={"callback_url": receiver.url})
    row = ChannelNotification.objects.get()
    for _ in range(MAX_ATTEMPTS):
        ChannelNotification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        channel_notifications_retry()
    row.refresh_from_db()
    assert row.attempts == MAX_ATTEMPTS and row.failed_at is not None and row.delivered_at is None
    assert len(receiver.requests) == MAX_ATTEMPTS
