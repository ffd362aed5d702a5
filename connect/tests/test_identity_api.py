"""The identity endpoints (/v1/account, /v1/userinfo, /v1/profiles, /v1/calendars) with the scopes
they need, in Cronofy's shapes, and the official Cronofy Python SDK against a live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pycronofy
import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.oauth import application_create, authorization_code_issue, tokens_issue_for
from calendars.models import Calendar
from calendars.services import calendar_profile_connect
from conftest import make_user
from sandbox.testing import G, mint, mint_refresh
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_setup(world):
    """Alice with a Read-Write Google profile (sandbox-backed), a Free/Busy one and a hosted one."""
    alice = make_user("alice@acme.example", "Alice")
    google = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name="alice@acme.example",
        provider_account_id="g-alice",
        credentials={
            "kind": "google_user",
            "access_token": mint(world, "alice", [f"{G}calendar"]),
            "refresh_token": mint_refresh(world, "alice", [f"{G}calendar"]),
            "scopes": [f"{G}calendar"],
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
    )
    Calendar.objects.create(profile=google, provider_calendar_id="alice@acme.example", name="Alice", is_primary=True)
    free_busy = calendar_profile_connect(
        user=alice,
        provider_name="ms_graph_free_busy",
        profile_name="alice@ms.example",
        provider_account_id="oid-alice",
        credentials={"kind": "microsoft_delegated"},
    )
    hosted = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name="alice@acme.example")
    application, secret = application_create(name="Integrator", redirect_uris=[INTEGRATOR_REDIRECT])
    return {
        "user": alice,
        "google": google,
        "free_busy": free_busy,
        "hosted": hosted,
        "application": application,
        "secret": secret,
    }


def api(live_server, token: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(
        method, f"{live_server.url}/v1/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=20, **kwargs
    )


def token_for(setup, scopes: list[str]) -> str:
    return tokens_issue_for(application=setup["application"], user=setup["user"], scopes=scopes).access_token


def test_the_identity_endpoints_answer_in_cronofys_shapes(live_server, alice_setup):
    token = token_for(alice_setup, ["read_write"])
    account = api(live_server, token, "GET", "account").json()["account"]
    assert account == {
        "account_id": alice_setup["user"].public_id,
        "email": "alice@acme.example",
        "name": "Alice",
        "default_tzid": "Etc/UTC",
    }
    profiles = api(live_server, token, "GET", "profiles").json()["profiles"]
    assert {p["provider_name"] for p in profiles} == {"google", "ms_graph_free_busy", "cronofy"}
    assert all(p["profile_id"].startswith("pro_") and p["profile_connected"] for p in profiles)
    userinfo = api(live_server, token, "GET", "userinfo").json()
    assert userinfo["sub"] == alice_setup["user"].public_id
    assert userinfo["cronofy.type"] == "account"
    google = next(p for p in userinfo["cronofy.data"]["profiles"] if p["provider_name"] == "google")
    assert google["profile_calendars"][0]["calendar_primary"] is True
    calendars = api(live_server, token, "GET", "calendars").json()["calendars"]
    assert {c["calendar_id"][:4] for c in calendars} == {"cal_"}
    assert set(calendars[0]) == {
        "provider_name",
        "profile_id",
        "profile_name",
        "calendar_id",
        "calendar_name",
        "calendar_readonly",
        "calendar_deleted",
        "calendar_primary",
        "calendar_integrated_conferencing_available",
        "calendar_attachments_available",
        "permission_level",
    }


@pytest.mark.parametrize(
    ("scopes", "path", "method", "status"),
    [
        (["read_free_busy"], "account", "GET", 403),
        (["read_free_busy"], "profiles", "GET", 403),
        (["read_free_busy"], "calendars", "GET", 403),
        (["list_calendars"], "calendars", "POST", 403),
        (["read_free_busy"], "userinfo", "GET", 200),
        (["free_busy"], "calendars", "GET", 200),
    ],
)
def test_each_endpoint_needs_its_scope(live_server, alice_setup, scopes, path, method, status):
    response = api(live_server, token_for(alice_setup, scopes), method, path, json={})
    assert response.status_code == status
    if status == 403:
        assert "does not grant" in response.json()["message"]


def test_no_token_or_a_bad_one_is_401(live_server, alice_setup):
    assert requests.get(f"{live_server.url}/v1/account", timeout=20).status_code == 401
    assert api(live_server, "not-a-token", "GET", "account").status_code == 401


def test_a_calendar_is_created_at_the_provider_for_read_write_and_refused_for_free_busy(live_server, alice_setup):
    token = token_for(alice_setup, ["read_write"])
    created = api(
        live_server,
        token,
        "POST",
        "calendars",
        json={"profile_id": alice_setup["google"].public_id, "name": "Interviews"},
    )
    assert created.status_code == 200, created.text
    calendar = created.json()["calendar"]
    assert calendar["calendar_name"] == "Interviews"
    assert calendar["profile_id"] == alice_setup["google"].public_id
    from sandbox.models import Calendar as SandboxCalendar

    assert SandboxCalendar.objects.filter(name="Interviews", owner__email="alice@acme.example").exists()
    locked = api(
        live_server, token, "POST", "calendars", json={"profile_id": alice_setup["free_busy"].public_id, "name": "Nope"}
    )
    assert locked.status_code == 423
    hosted = api(
        live_server, token, "POST", "calendars", json={"profile_id": alice_setup["hosted"].public_id, "name": "Second"}
    )
    assert hosted.json()["calendar"]["provider_name"] == "cronofy"


def test_bad_input_gets_cronofys_422_shape(live_server, alice_setup):
    token = token_for(alice_setup, ["read_write"])
    response = api(live_server, token, "POST", "calendars", json={"profile_id": "pro_unknown"})
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"name": [{"key": "errors.required", "description": "This field is required."}]}
    }
    unknown = api(live_server, token, "POST", "calendars", json={"profile_id": "pro_unknown", "name": "x"})
    assert unknown.json()["errors"]["profile_id"][0]["description"] == "Unknown profile."


def test_revoking_a_profile_disconnects_it(live_server, alice_setup):
    token = token_for(alice_setup, ["read_write"])
    response = api(live_server, token, "POST", f"profiles/{alice_setup['free_busy'].public_id}/revoke")
    assert response.status_code == 202
    alice_setup["free_busy"].refresh_from_db()
    assert alice_setup["free_busy"].status == "disconnected"
    other = make_user("mallory@evil.example")
    mallory_profile = calendar_profile_connect(user=other, provider_name="cronofy", profile_name=other.email)
    assert api(live_server, token, "POST", f"profiles/{mallory_profile.public_id}/revoke").status_code == 404


def test_listing_costs_the_same_queries_for_one_or_ten_profiles(live_server, alice_setup):
    token = token_for(alice_setup, ["read_write"])
    with CaptureQueriesContext(connection) as few:
        assert api(live_server, token, "GET", "userinfo").status_code == 200
    for index in range(7):
        profile = calendar_profile_connect(
            user=alice_setup["user"],
            provider_name="google",
            profile_name=f"extra{index}@acme.example",
            provider_account_id=f"x{index}",
            credentials={"kind": "google_user"},
        )
        Calendar.objects.create(profile=profile, provider_calendar_id=f"c{index}", name="C")
    with CaptureQueriesContext(connection) as many:
        assert api(live_server, token, "GET", "userinfo").status_code == 200
    assert len(many) == len(few)


def test_the_official_cronofy_sdk_works_against_this_server(live_server, alice_setup, monkeypatch):
    setup = alice_setup
    code = authorization_code_issue(
        application=setup["application"],
        user=setup["user"],
        scopes=["read_account", "list_calendars", "read_events"],
        redirect_uri=INTEGRATOR_REDIRECT,
        profile_id=setup["google"].pk,
    )
    client = pycronofy.Client(client_id=setup["application"].client_id, client_secret=setup["secret"])
    client.request_handler.base_url = live_server.url
    tokens = client.get_authorization_from_code(code, redirect_uri=INTEGRATOR_REDIRECT)
    assert tokens["access_token"]
    assert tokens["refresh_token"]
    first_access = client.auth.access_token
    refreshed = client.refresh_authorization()
    assert refreshed["access_token"] != first_access
    calendars = client.list_calendars()
    assert any(calendar["calendar_primary"] for calendar in calendars)
    userinfo = client.userinfo()
    assert userinfo["sub"] == setup["user"].public_id
    assert {p["provider_name"] for p in userinfo["cronofy.data"]["profiles"]} >= {"google", "cronofy"}
    assert client.account()["email"] == "alice@acme.example"
