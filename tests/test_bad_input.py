"""Findings 7 and 8: bad input is refused up front, in Cronofy's shape, never a 500 and never an
accepted request that can only fail later.

- control characters in fields that end up in mail headers (summary, names) → 422 naming the field;
- dates outside the supported range → 422, on every endpoint that takes a date;
- bodies nested deeper or larger than sane limits → 400, on every POST endpoint (`/oauth/token` too).
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import Invitation, ManagedEvent
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example", "Alice")
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    tokens = tokens_issue_for(application=application, user=alice, scopes=["read_write"])
    client = Client(headers={"Authorization": f"Bearer {tokens.access_token}"})
    return {
        "client": client,
        "calendar": profile.calendars.get(),
        "alice": alice,
        "application": application,
        "secret": secret,
    }


def event(**overrides):
    return {
        "event_id": "booking-1",
        "summary": "Interview",
        "start": "2027-03-22T14:00:00Z",
        "end": "2027-03-22T15:00:00Z",
        "attendees": {"invite": [{"email": "guest@example.com", "display_name": "Guest"}]},
        **overrides,
    }


def post_event(api, body):
    return api["client"].post(
        f"/v1/calendars/{api['calendar'].public_id}/events", json.dumps(body), content_type="application/json"
    )


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("summary", event(summary="Interview\r\nBcc: everyone@example.com")),
        ("summary", event(summary="Interview\nX-Injected: 1")),
        ("summary", event(summary="Interview\u2028next line")),
        ("attendees.invite", event(attendees={"invite": [{"email": "g@example.com", "display_name": "G\r\nBcc: x"}]})),
        ("location.description", event(location={"description": "Room 1\r\nBcc: x@example.com"})),
    ],
)
def test_control_characters_in_header_bound_fields_are_refused_naming_the_field(api, field, body):
    response = post_event(api, body)
    assert response.status_code == 422, response.content
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert not ManagedEvent.objects.exists()
    assert not Invitation.objects.exists()


def test_a_summary_on_one_line_still_goes_out(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(api, event(summary="Interview — round 2 (ünïcode)"))
    assert response.status_code == 202
    assert Invitation.objects.filter(sent_at__isnull=False).count() == 2
    assert len(mail.outbox) == 2


EXTREME_DATES = ["0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31", "9999-12-31T23:59:59Z", "1899-12-31"]


@pytest.mark.parametrize("moment", EXTREME_DATES)
def test_free_busy_refuses_dates_outside_the_supported_range(api, moment):
    response = api["client"].get("/v1/free_busy", {"tzid": "Europe/London", "from": moment, "to": "2027-01-01"})
    assert response.status_code == 422, response.content
    response = api["client"].get("/v1/free_busy", {"tzid": "Pacific/Kiritimati", "from": "2027-01-01", "to": moment})
    assert response.status_code == 422, response.content


@pytest.mark.parametrize("moment", EXTREME_DATES)
def test_events_refuses_dates_outside_the_supported_range(api, moment):
    for params in ({"from": moment}, {"to": moment}, {"last_modified": moment}):
        response = api["client"].get("/v1/events", {"tzid": "Pacific/Kiritimati", **params})
        assert response.status_code == 422, (params, response.content)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z"])
def test_availability_refuses_times_outside_the_supported_range(api, moment):
    body = {
        "participants": [{"members": [{"sub": api["alice"].public_id}]}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": moment, "end": moment.replace("00:00:00", "01:00:00").replace("23:00", "23:30")}],
        "buffer": {"before": {"minutes": 60}, "after": {"minutes": 60}},
    }
    response = Client().post(
        "/v1/availability",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api['secret']}"},
    )
    assert response.status_code == 422, response.content


@pytest.mark.parametrize("moment", ["0001-01-01", "9999-12-31"])
def test_event_upserts_refuse_dates_outside_the_supported_range(api, moment):
    response = post_event(api, event(start=moment, end=moment, tzid="Pacific/Kiritimati"))
    assert response.status_code == 422, response.content
    response = post_event(api, event(start={"time": f"{moment}T10:00:00", "tzid": "Etc/GMT+12"}, end="2027-01-01"))
    assert response.status_code == 422, response.content


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z"])
def test_managed_availability_refuses_times_outside_the_supported_range(api, moment):
    response = api["client"].post(
        "/v1/available_periods",
        json.dumps({"available_period_id": "p1", "start": moment, "end": moment.replace("00:00:00", "00:30:00")}),
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    response = api["client"].get("/v1/available_periods", {"tzid": "Etc/GMT-14", "from": moment[:10]})
    assert response.status_code == 422, response.content


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_endpoints(api):
    """Every POST route of /v1 and /oauth, with a URL that reaches its view."""
    calendar_id = api["calendar"].public_id
    return [
        ("/v1/calendars", api["client"]),
        (f"/v1/calendars/{calendar_id}/events", api["client"]),
        ("/v1/channels", api["client"]),
        ("/v1/availability_rules", api["client"]),
        ("/v1/available_periods", api["client"]),
        ("/v1/availability", api["client"]),
        ("/v1/profiles/pro_unknown/revoke", api["client"]),
        (reverse("oauth-token"), Client()),
        (reverse("oauth-revoke"), Client()),
    ]


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_bodies_nested_too_deep_are_refused_with_400_everywhere(api, depth):
    for url, client in post_endpoints(api):
        response = client.post(url, deep(depth), content_type="application/json")
        assert response.status_code == 400, (url, response.status_code, response.content[:200])


def test_bodies_too_large_are_refused_with_400_everywhere(api):
    huge = json.dumps({"summary": "x" * (3 * 1024 * 1024)})
    for url, client in post_endpoints(api):
        response = client.post(url, huge, content_type="application/json")
        assert response.status_code in (400, 413), (url, response.status_code)


def test_ordinary_nesting_is_still_accepted(api):
    response = post_event(api, event(attendees={"invite": [{"email": "g@example.com"}], "remove": []}))
    assert response.status_code == 202
