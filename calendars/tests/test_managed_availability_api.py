"""Managed Availability endpoints: `/v1/availability_rules` and `/v1/available_periods`, in Cronofy's
shapes, validated with its 422 shape, private to the account, and usable from the official SDK."""

from __future__ import annotations

import pycronofy
import pytest
from django.test import Client

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import AvailabilityRule, AvailablePeriod, Calendar
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

RULE = {
    "availability_rule_id": "work_hours",
    "tzid": "Europe/London",
    "weekly_periods": [
        {"day": "monday", "start_time": "09:30", "end_time": "12:30"},
        {"day": "monday", "start_time": "13:30", "end_time": "17:00"},
    ],
}


@pytest.fixture
def tokens():
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    alice, bob = make_user("alice@acme.example"), make_user("bob@acme.example")
    return {
        "alice": tokens_issue_for(application=application, user=alice, scopes=["free_busy"]).access_token,
        "bob": tokens_issue_for(application=application, user=bob, scopes=["free_busy"]).access_token,
        "alice_account_only": tokens_issue_for(
            application=application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])[0],
            user=alice,
            scopes=["read_account"],
        ).access_token,
        "alice_user": alice,
    }


def call(token: str, method: str, path: str, body: dict | None = None, **query):
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        return client.get(f"/v1/{path}", query, headers=headers)
    return getattr(client, method.lower())(f"/v1/{path}", body or {}, content_type="application/json", headers=headers)


def test_a_rule_is_created_replaced_listed_read_and_deleted(tokens):
    created = call(tokens["alice"], "POST", "availability_rules", RULE)
    assert created.status_code == 200
    assert created.json() == {"availability_rule": RULE}
    replaced = {**RULE, "tzid": "America/Chicago", "weekly_periods": RULE["weekly_periods"][:1]}
    assert call(tokens["alice"], "POST", "availability_rules", replaced).json() == {"availability_rule": replaced}
    assert AvailabilityRule.objects.count() == 1
    assert call(tokens["alice"], "GET", "availability_rules").json() == {"availability_rules": [replaced]}
    assert call(tokens["alice"], "GET", "availability_rules/work_hours").json() == {"availability_rule": replaced}
    assert call(tokens["alice"], "DELETE", "availability_rules/work_hours").status_code == 202
    assert call(tokens["alice"], "GET", "availability_rules/work_hours").status_code == 404


def test_rules_are_the_accounts_own(tokens):
    call(tokens["alice"], "POST", "availability_rules", RULE)
    assert call(tokens["bob"], "GET", "availability_rules").json() == {"availability_rules": []}
    assert call(tokens["bob"], "GET", "availability_rules/work_hours").status_code == 404
    assert call(tokens["bob"], "DELETE", "availability_rules/work_hours").status_code == 404
    assert call(tokens["alice_account_only"], "GET", "availability_rules").status_code == 403


def test_a_rule_may_name_only_the_accounts_calendars(tokens):
    alice = tokens["alice_user"]
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    hers = profile.calendars.get().public_id
    ok = call(tokens["alice"], "POST", "availability_rules", {**RULE, "calendar_ids": [hers]})
    assert ok.json()["availability_rule"]["calendar_ids"] == [hers]
    bob_profile = calendar_profile_connect(
        user=make_user("carol@acme.example"), provider_name="cronofy", profile_name="c"
    )
    theirs = Calendar.objects.get(profile=bob_profile).public_id
    refused = call(tokens["alice"], "POST", "availability_rules", {**RULE, "calendar_ids": [theirs]})
    assert refused.status_code == 422
    assert theirs in refused.json()["errors"]["calendar_ids"][0]["description"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tzid": "Mars/Olympus"}, "tzid"),
        ({"availability_rule_id": "has spaces"}, "availability_rule_id"),
        ({"weekly_periods": [{"day": "funday", "start_time": "09:00", "end_time": "10:00"}]}, "weekly_periods.0.day"),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "9am", "end_time": "10:00"}]},
            "weekly_periods.0.start_time",
        ),
        (
            {"weekly_periods": [{"day": "monday", "start_time": "11:00", "end_time": "10:00"}]},
            "weekly_periods.0.end_time",
        ),
    ],
)
def test_bad_rules_get_cronofys_422(tokens, change, field):
    response = call(tokens["alice"], "POST", "availability_rules", {**RULE, **change})
    assert response.status_code == 422
    assert field in response.json()["errors"], response.json()
    assert not AvailabilityRule.objects.exists()


def test_available_periods_are_upserted_listed_and_deleted(tokens):
    period = {"available_period_id": "p1", "start": "2027-03-22T09:00:00Z", "end": "2027-03-22T12:00:00Z"}
    assert call(tokens["alice"], "POST", "available_periods", period).status_code == 202
    moved = {**period, "end": "2027-03-22T13:00:00Z"}
    assert call(tokens["alice"], "POST", "available_periods", moved).status_code == 202
    call(
        tokens["alice"],
        "POST",
        "available_periods",
        {**period, "available_period_id": "p2", "start": "2027-03-29T09:00:00Z", "end": "2027-03-29T10:00:00Z"},
    )
    listed = call(
        tokens["alice"], "GET", "available_periods", tzid="Europe/London", **{"from": "2027-03-22", "to": "2027-03-23"}
    )
    assert listed.json() == {"pages": {"current": 1, "total": 1}, "available_periods": [moved]}
    localized = call(tokens["alice"], "GET", "available_periods", tzid="Europe/London", localized_times="true")
    assert localized.json()["available_periods"][1]["start"] == {
        "time": "2027-03-29T10:00:00+01:00",
        "tzid": "Europe/London",
    }
    assert call(tokens["bob"], "GET", "available_periods").json()["available_periods"] == []
    assert call(tokens["alice"], "DELETE", "available_periods", {"available_period_id": "p1"}).status_code == 202
    assert list(AvailablePeriod.objects.values_list("period_id", flat=True)) == ["p2"]
    assert call(tokens["alice"], "DELETE", "available_periods", {"delete_all": True}).status_code == 202
    assert not AvailablePeriod.objects.exists()


def test_bad_periods_get_cronofys_422(tokens):
    backwards = {"available_period_id": "p1", "start": "2027-03-22T12:00:00Z", "end": "2027-03-22T09:00:00Z"}
    assert "end" in call(tokens["alice"], "POST", "available_periods", backwards).json()["errors"]
    no_zone = {"available_period_id": "p1", "start": "2027-03-22T09:00:00", "end": "2027-03-22T12:00:00Z"}
    assert "start" in call(tokens["alice"], "POST", "available_periods", no_zone).json()["errors"]
    assert "available_period_id" in call(tokens["alice"], "DELETE", "available_periods", {}).json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_the_official_sdk_manages_rules(live_server, tokens):
    sdk = pycronofy.Client(access_token=tokens["alice"])
    sdk.request_handler.base_url = live_server.url
    assert sdk.upsert_availability_rule(RULE) == RULE
    assert sdk.list_availability_rules() == [RULE]
    assert sdk.get_availability_rule("work_hours") == RULE
    sdk.delete_availability_rule("work_hours")
    assert sdk.list_availability_rules() == []
