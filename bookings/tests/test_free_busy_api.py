"""`GET /v1/free_busy` on its own: managed events when asked, local and all-day times, paging with a
fixed number of queries, validation and scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import ManagedEvent, Transparency
from calendars.models import BusyPeriod, Calendar
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

DAY = datetime(2027, 7, 5, tzinfo=UTC)  # summer: London is UTC+1


@pytest.fixture
def setup():
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example")
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google_free_busy",
        profile_name=alice.email,
        provider_account_id="g",
        credentials={"kind": "google_user"},
    )
    calendar = Calendar.objects.create(profile=profile, provider_calendar_id="a", name="A", time_zone="Europe/London")
    hosted = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email).calendars.get()
    BusyPeriod.objects.create(
        calendar=calendar,
        provider_event_id="b",
        start=DAY + timedelta(hours=9),
        end=DAY + timedelta(hours=10),
        status="busy",
        updated_at=timezone.now(),
    )
    # An all-day event on 6 July in London runs from 23:00 UTC on the 5th.
    BusyPeriod.objects.create(
        calendar=calendar,
        provider_event_id="holiday",
        start=DAY + timedelta(hours=23),
        end=DAY + timedelta(hours=47),
        all_day=True,
        status="busy",
        updated_at=timezone.now(),
    )
    ManagedEvent.objects.create(
        calendar=hosted, event_id="m", summary="Booked", start=DAY + timedelta(hours=12), end=DAY + timedelta(hours=13)
    )
    ManagedEvent.objects.create(
        calendar=hosted,
        event_id="t",
        summary="FYI",
        start=DAY + timedelta(hours=15),
        end=DAY + timedelta(hours=16),
        transparency=Transparency.TRANSPARENT,
    )

    def get(scopes=("read_free_busy",), **params):
        token = tokens_issue_for(application=application, user=alice, scopes=list(scopes)).access_token
        query = {"tzid": "Europe/London", "from": "2027-07-05", "to": "2027-07-08", **params}
        return Client().get("/v1/free_busy", query, headers={"Authorization": f"Bearer {token}"})

    return {"get": get, "calendar": calendar, "hosted": hosted, "alice": alice, "application": application}


def test_synced_periods_with_all_day_events_as_dates(setup):
    body = setup["get"]().json()
    assert body["pages"] == {"current": 1, "total": 1}
    assert body["free_busy"] == [
        {
            "calendar_id": setup["calendar"].public_id,
            "start": "2027-07-05T09:00:00Z",
            "end": "2027-07-05T10:00:00Z",
            "free_busy_status": "busy",
        },
        {
            "calendar_id": setup["calendar"].public_id,
            "start": "2027-07-06",
            "end": "2027-07-07",
            "free_busy_status": "busy",
        },
    ]


def test_managed_events_only_when_asked(setup):
    found = setup["get"](include_managed="true").json()["free_busy"]
    managed = [
        (p["calendar_id"], p["start"], p["free_busy_status"])
        for p in found
        if p["calendar_id"] == setup["hosted"].public_id
    ]
    assert managed == [
        (setup["hosted"].public_id, "2027-07-05T12:00:00Z", "busy"),
        (setup["hosted"].public_id, "2027-07-05T15:00:00Z", "free"),
    ]


def test_localized_times(setup):
    first = setup["get"](localized_times="true").json()["free_busy"][0]
    assert first["start"] == {"time": "2027-07-05T10:00:00+01:00", "tzid": "Europe/London"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tzid": ""}, "tzid"),
        ({"tzid": "Nowhere/Land"}, "tzid"),
        ({"from": "5 July"}, "from"),
        ({"to": "2027-07-01"}, "to"),
        ({"calendar_ids[]": "cal_x"}, "calendar_ids"),
    ],
)
def test_bad_input_gets_cronofys_422(setup, params, field):
    response = setup["get"](**params)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_scope_and_other_accounts(setup):
    assert setup["get"](scopes=["read_account"]).status_code == 403
    assert setup["get"](scopes=["read_events"]).status_code == 200  # read_events implies read_free_busy
    bob = make_user("bob@acme.example")
    token = tokens_issue_for(application=setup["application"], user=bob, scopes=["read_free_busy"]).access_token
    body = Client().get("/v1/free_busy", {"tzid": "Etc/UTC"}, headers={"Authorization": f"Bearer {token}"}).json()
    assert body["free_busy"] == []


def test_paging_costs_the_same_queries_per_page(setup):
    BusyPeriod.objects.bulk_create(
        BusyPeriod(
            calendar=setup["calendar"],
            provider_event_id=f"bulk{n}",
            start=DAY + timedelta(days=1, minutes=10 * n),
            end=DAY + timedelta(days=1, minutes=10 * n + 5),
            status="busy",
            updated_at=timezone.now(),
        )
        for n in range(120)
    )
    token = tokens_issue_for(
        application=setup["application"], user=setup["alice"], scopes=["read_free_busy"]
    ).access_token
    headers = {"Authorization": f"Bearer {token}"}
    query = {"tzid": "Europe/London", "from": "2027-07-05", "to": "2027-07-08"}
    with CaptureQueriesContext(connection) as first:
        body = Client().get("/v1/free_busy", query, headers=headers).json()
    found = len(body["free_busy"])
    assert body["pages"]["total"] == 3
    while "next_page" in body["pages"]:
        with CaptureQueriesContext(connection) as later:
            body = Client().get(body["pages"]["next_page"].removeprefix("http://testserver"), headers=headers).json()
        found += len(body["free_busy"])
    assert found == 122
    assert len(later) == len(first)
