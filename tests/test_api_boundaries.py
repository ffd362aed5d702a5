"""Applications and people are isolated from each other on every `/v1` endpoint (finding 4).

The matrix enumerates the `/v1` routes from the URL resolver (a new endpoint is covered the day it
is added: the test fails until it has an example request below) and calls each with four
credentials against Alice's data under application A:

- her own token for A: the request is meaningful (2xx);
- another person's token for A (Bob): nothing of Alice's comes back or changes, and a request that
  names her objects is refused;
- another application's token for Alice (B), and B's client secret: nothing A owns (its events, its
  channels, its pages, its hold on her profile) comes back or changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Grant
from accounts.oauth import application_create, service_account_create, service_account_tokens_issue, tokens_issue_for
from accounts.services import organization_create
from bookings.models import ManagedEvent
from bookings.services import EventInput, managed_event_delete, managed_event_upsert
from calendars.managed_availability import availability_rule_upsert, available_period_upsert
from calendars.models import AvailabilityRule, AvailablePeriod, Calendar, CalendarProfile, Channel
from calendars.notifications import channel_create
from calendars.services import calendar_profile_connect
from conftest import make_user
from core.api_params import page_of
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def v1_routes() -> list[tuple[str, str, type]]:
    """(route, url name, view class) of every /v1 pattern the resolver knows."""
    found = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("v1/"):
                found.append((prefix + str(pattern.pattern), pattern.name, pattern.callback.view_class))

    walk(get_resolver().url_patterns, "")
    return found


def v1_operations() -> list[tuple[str, str, str]]:
    return [
        (route, name, method)
        for route, name, view in v1_routes()
        for method in METHODS
        if hasattr(view, method) and method in view.http_method_names
    ]


CREDENTIALS = ["own_token", "other_person_token", "other_application_token", "other_application_secret"]

# Endpoints whose own credential is application A's Enterprise Connect service-account token (for
# Alice's organization) rather than Alice's token: an account's token is refused there.
SERVICE_ACCOUNT_ENDPOINTS = {"api-service-account-authorizations"}


@dataclass
class World:
    alice: Any
    profile: CalendarProfile
    calendar: Calendar
    channel: Channel
    grant_a: Grant
    tokens: dict[str, str]
    pages: dict[str, str]
    event_start: Any


@pytest.fixture
def world() -> World:
    app_a, _ = application_create(name="Alpha", redirect_uris=[INTEGRATOR_REDIRECT])
    app_b, secret_b = application_create(name="Beta", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example", "Alice")
    bob = make_user("bob@acme.example", "Bob")
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    calendar_profile_connect(user=bob, provider_name="cronofy", profile_name=bob.email)
    calendar = profile.calendars.get()
    own = tokens_issue_for(application=app_a, user=alice, scopes=["read_write"])
    service_account = service_account_create(
        organization=organization_create(name="Acme", actor=None),
        application=app_a,
        scopes=["service_account/accounts/manage", "service_account/resources/manage"],
        delegated_scopes=["read_write"],
        actor=None,
    )
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    managed_event_upsert(
        application=app_a,
        calendar=calendar,
        data=EventInput(
            event_id="a-event", summary="Alpha-secret-summary", start=start, end=start + timedelta(hours=1)
        ),
    )
    channel = channel_create(
        grant=own.grant, callback_url="https://hooks.alpha.example/x", calendar_ids=[], only_managed=False
    )
    availability_rule_upsert(
        user=alice,
        rule_id="alice-rule",
        tzid="Europe/London",
        calendar_ids=[],
        weekly_periods=[{"day": "monday", "start_time": "09:00", "end_time": "17:00"}],
    )
    available_period_upsert(user=alice, period_id="alice-period", start=start, end=start + timedelta(hours=2))
    window = {"tzid": "Etc/UTC", "start": start - timedelta(days=1), "end": start + timedelta(days=1)}
    pages = {
        "api-events-page": page_of(
            99,
            1,
            kind="events",
            grant_id=own.grant.pk,
            params={
                **window,
                "include_managed": True,
                "only_managed": False,
                "include_deleted": False,
                "localized_times": False,
            },
        )[0].next_token,
        "api-free-busy-page": page_of(
            99,
            1,
            kind="free_busy",
            grant_id=own.grant.pk,
            params={**window, "include_managed": True, "localized_times": False},
        )[0].next_token,
        "api-available-periods-page": page_of(
            99, 1, kind="available_periods", grant_id=own.grant.pk, params={"tzid": "Etc/UTC", "localized_times": False}
        )[0].next_token,
    }
    return World(
        alice=alice,
        profile=profile,
        calendar=calendar,
        channel=channel,
        grant_a=own.grant,
        tokens={
            "own_token": own.access_token,
            "other_person_token": tokens_issue_for(application=app_a, user=bob, scopes=["read_write"]).access_token,
            "other_application_token": tokens_issue_for(
                application=app_b, user=alice, scopes=["read_write"]
            ).access_token,
            "other_application_secret": secret_b,
            "service_account_token": service_account_tokens_issue(service_account=service_account).access_token,
        },
        pages=pages,
        event_start=start,
    )


def z(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def example_request(world: World, name: str, method: str) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Path parameters naming Alice's objects, and the query (GET) or body of an ordinary request."""
    kwargs = {
        "profile_id": world.profile.public_id,
        "calendar_id": world.calendar.public_id,
        "channel_id": world.channel.public_id,
        "rule_id": "alice-rule",
        "token": world.pages.get(name, ""),
    }
    start = world.event_start
    window = {"tzid": "Etc/UTC", "from": z(start - timedelta(days=1)), "to": z(start + timedelta(days=1))}
    examples: dict[tuple[str, str], dict[str, Any] | None] = {
        ("api-account", "get"): None,
        ("api-userinfo", "get"): None,
        ("api-profiles", "get"): None,
        ("api-profile-revoke", "post"): None,
        ("api-calendars", "get"): None,
        ("api-calendars", "post"): {"profile_id": world.profile.public_id, "name": "Extra"},
        ("api-calendar-events", "post"): {
            "event_id": "a-event",
            "summary": "Overwritten",
            "start": z(start),
            "end": z(start + timedelta(hours=1)),
        },
        ("api-calendar-events", "delete"): {"event_id": "a-event"},
        ("api-free-busy", "get"): {**window, "include_managed": "true"},
        ("api-free-busy-page", "get"): None,
        ("api-availability", "post"): {
            "participants": [{"members": [{"sub": world.alice.public_id}]}],
            "required_duration": {"minutes": 30},
            "query_periods": [{"start": z(start - timedelta(hours=3)), "end": z(start + timedelta(hours=3))}],
        },
        ("api-events", "get"): {**window, "include_managed": "true"},
        ("api-events-page", "get"): None,
        ("api-channels", "get"): None,
        ("api-channels", "post"): {"callback_url": "https://hooks.example.com/cronofy"},
        ("api-channel", "delete"): None,
        ("api-availability-rules", "get"): None,
        ("api-availability-rules", "post"): {
            "availability_rule_id": "alice-rule",
            "tzid": "Etc/UTC",
            "weekly_periods": [{"day": "friday", "start_time": "10:00", "end_time": "11:00"}],
        },
        ("api-availability-rule", "get"): None,
        ("api-availability-rule", "delete"): None,
        ("api-available-periods", "get"): {"tzid": "Etc/UTC"},
        ("api-available-periods", "post"): {
            "available_period_id": "alice-period",
            "start": z(start + timedelta(days=3)),
            "end": z(start + timedelta(days=3, hours=1)),
        },
        ("api-available-periods", "delete"): {"available_period_id": "alice-period"},
        ("api-available-periods-page", "get"): None,
        ("api-resources", "get"): None,
        ("api-conferencing-service-authorizations", "post"): {"redirect_uri": INTEGRATOR_REDIRECT},
        ("api-service-account-authorizations", "post"): {
            "email": world.alice.email,
            "scope": "read_write",
            "callback_url": "https://hooks.alpha.example/enterprise",
        },
    }
    assert (name, method) in examples, f"Describe an ordinary {method.upper()} request of {name} in this matrix."
    return kwargs, examples[(name, method)]


def fill(route: str, kwargs: dict[str, str]) -> str:
    path = "/" + route
    for key, value in kwargs.items():
        path = path.replace(f"<str:{key}>", value)
    assert "<" not in path, path
    return path


def everything_of_alice(world: World) -> list:
    return [
        list(ManagedEvent.objects.filter(calendar__profile__user=world.alice).order_by("pk").values()),
        list(Channel.objects.filter(grant__user=world.alice).order_by("pk").values()),
        list(AvailabilityRule.objects.filter(user=world.alice).order_by("pk").values()),
        list(AvailablePeriod.objects.filter(user=world.alice).order_by("pk").values()),
        list(CalendarProfile.objects.filter(user=world.alice).order_by("pk").values("status", "credentials")),
        list(Calendar.objects.filter(profile__user=world.alice).order_by("pk").values("public_id", "name")),
        list(Grant.objects.filter(user=world.alice).order_by("pk").values("revoked_profile_ids", "revoked_at")),
    ]


def what_a_owns(world: World) -> list:
    return [
        list(ManagedEvent.objects.filter(application=world.grant_a.application).order_by("pk").values()),
        list(Channel.objects.filter(grant=world.grant_a).order_by("pk").values()),
        list(Grant.objects.filter(pk=world.grant_a.pk).values("revoked_profile_ids", "revoked_at", "scopes")),
        list(CalendarProfile.objects.filter(pk=world.profile.pk).values("status")),
    ]


def markers(world: World, credential: str) -> set[str]:
    owned_by_a = {world.channel.public_id, "Alpha-secret-summary", *world.pages.values()}
    if credential == "other_person_token":
        return owned_by_a | {
            world.alice.email,
            world.alice.public_id,
            world.profile.public_id,
            world.calendar.public_id,
        }
    return owned_by_a


def call(client: Client, method: str, path: str, data: dict | None, secret: str):
    headers = {"Authorization": f"Bearer {secret}"}
    if method == "get":
        return client.get(path, data or {}, headers=headers)
    body = json.dumps(data) if data is not None else ""
    return getattr(client, method)(path, body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("route", "name", "method"), v1_operations(), ids=lambda v: v.replace("/", "_"))
def test_every_v1_endpoint_holds_the_person_and_application_boundaries(world, route, name, method, credential):
    kwargs, data = example_request(world, name, method)
    path = fill(route, kwargs)
    before_alice, before_a = everything_of_alice(world), what_a_owns(world)
    if credential == "own_token" and name in SERVICE_ACCOUNT_ENDPOINTS:
        credential = "service_account_token"
    response = call(Client(), method, path, data, world.tokens[credential])
    assert response.status_code < 500, response.content
    if credential in ("own_token", "service_account_token"):
        assert 200 <= response.status_code < 300, (path, response.status_code, response.content)
        return
    sent = path + json.dumps(data or {})
    watched = markers(world, credential)
    named = {marker for marker in watched if marker in sent}
    if named:
        assert 400 <= response.status_code < 500, (credential, path, "names what it may not reach", response.content)
    leaked = {marker for marker in watched - named if marker in response.content.decode()}
    assert not leaked, (credential, path, leaked)
    if credential == "other_person_token":
        assert everything_of_alice(world) == before_alice, (credential, path)
    assert what_a_owns(world) == before_a, (credential, path)


def test_the_matrix_covers_every_v1_endpoint():
    operations = v1_operations()
    assert len({name for _, name, _ in operations}) == len(v1_routes()) >= 17


#
# Finding 4, one behaviour each
#


@pytest.fixture
def two_apps():
    app_a, secret_a = application_create(name="Alpha", redirect_uris=[INTEGRATOR_REDIRECT])
    app_b, secret_b = application_create(name="Beta", redirect_uris=[INTEGRATOR_REDIRECT])
    alice = make_user("alice@acme.example", "Alice")
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    return {
        "a": app_a,
        "b": app_b,
        "secret_a": secret_a,
        "secret_b": secret_b,
        "alice": alice,
        "profile": profile,
        "calendar": profile.calendars.get(),
        "token_a": tokens_issue_for(application=app_a, user=alice, scopes=["read_write"]).access_token,
        "token_b": tokens_issue_for(application=app_b, user=alice, scopes=["read_write"]).access_token,
    }


def upsert(client_token: str, calendar: Calendar, **body):
    start = timezone.now() + timedelta(days=2)
    payload = {"event_id": "shared-id", "summary": "Alpha", "start": z(start), "end": z(start + timedelta(hours=1))}
    return Client().post(
        f"/v1/calendars/{calendar.public_id}/events",
        json.dumps({**payload, **body}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {client_token}"},
    )


def test_another_application_reusing_an_event_id_makes_its_own_event(two_apps):
    assert upsert(two_apps["token_a"], two_apps["calendar"], summary="Alpha's interview").status_code == 202
    assert upsert(two_apps["token_b"], two_apps["calendar"], summary="Beta's takeover").status_code == 202
    alpha = ManagedEvent.objects.get(application=two_apps["a"], event_id="shared-id")
    assert alpha.summary == "Alpha's interview"
    assert ManagedEvent.objects.get(application=two_apps["b"], event_id="shared-id").summary == "Beta's takeover"


def test_another_application_cannot_delete_an_event_by_its_event_id(two_apps):
    upsert(two_apps["token_a"], two_apps["calendar"])
    response = Client().delete(
        f"/v1/calendars/{two_apps['calendar'].public_id}/events",
        json.dumps({"event_id": "shared-id"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {two_apps['token_b']}"},
    )
    assert response.status_code == 202  # as Cronofy answers for an unknown event_id
    assert ManagedEvent.objects.get(event_id="shared-id").deleted_at is None
    assert managed_event_delete(application=two_apps["b"], calendar=two_apps["calendar"], event_id="shared-id") is None


def revoke(token: str, profile: CalendarProfile):
    return Client().post(f"/v1/profiles/{profile.public_id}/revoke", headers={"Authorization": f"Bearer {token}"})


def test_revoking_a_profile_through_one_application_ends_only_that_applications_access(two_apps):
    assert revoke(two_apps["token_b"], two_apps["profile"]).status_code == 202
    two_apps["profile"].refresh_from_db()
    assert two_apps["profile"].status == "connected"  # A still uses it: the provider grant stays
    listed_by = {}
    for app in ("a", "b"):
        response = Client().get("/v1/calendars", headers={"Authorization": f"Bearer {two_apps[f'token_{app}']}"})
        listed_by[app] = [c["calendar_id"] for c in response.json()["calendars"]]
    assert listed_by == {"a": [two_apps["calendar"].public_id], "b": []}
    assert upsert(two_apps["token_b"], two_apps["calendar"]).status_code == 404


def test_the_provider_grant_goes_when_the_last_application_gives_the_profile_up(two_apps):
    revoke(two_apps["token_b"], two_apps["profile"])
    assert revoke(two_apps["token_a"], two_apps["profile"]).status_code == 202
    two_apps["profile"].refresh_from_db()
    assert two_apps["profile"].status == "disconnected"


def test_revoking_needs_a_grant_that_covers_the_profile(two_apps):
    assert revoke(two_apps["token_b"], two_apps["profile"]).status_code == 202
    assert revoke(two_apps["token_b"], two_apps["profile"]).status_code == 404  # no longer its to revoke
    narrow = tokens_issue_for(application=two_apps["b"], user=make_user("z@acme.example"), scopes=["read_free_busy"])
    assert revoke(narrow.access_token, two_apps["profile"]).status_code in (403, 404)


def availability(credential: str, subs: list[str]):
    start = timezone.now() + timedelta(days=2)
    body = {
        "participants": [{"members": [{"sub": sub} for sub in subs]}],
        "required_duration": {"minutes": 30},
        "query_periods": [{"start": z(start), "end": z(start + timedelta(hours=4))}],
    }
    return Client().post(
        "/v1/availability",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {credential}"},
    )


def test_an_account_token_gets_availability_only_for_its_own_account(two_apps):
    bob = make_user("bob@acme.example", "Bob")
    calendar_profile_connect(user=bob, provider_name="cronofy", profile_name=bob.email)
    tokens_issue_for(application=two_apps["a"], user=bob, scopes=["read_only"])
    assert availability(two_apps["token_a"], [two_apps["alice"].public_id]).status_code == 200
    response = availability(two_apps["token_a"], [bob.public_id])
    assert response.status_code == 403
    assert availability(two_apps["secret_a"], [bob.public_id, two_apps["alice"].public_id]).status_code == 200


def test_availability_with_the_secret_needs_each_account_to_have_authorized_that_application(two_apps):
    erin = make_user("erin@acme.example", "Erin")
    tokens_issue_for(application=two_apps["a"], user=erin, scopes=["read_only"])
    response = availability(two_apps["secret_b"], [erin.public_id])
    assert response.status_code == 422
    assert erin.public_id in response.json()["errors"]["participants"][0]["description"]
