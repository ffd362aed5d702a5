"""The product's provider clients built from what we store, against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.services import organization_create
from calendars.choices import CalendarProvider
from calendars.clients import calendar_client_for_profile
from calendars.providers import endpoints
from calendars.services import calendar_profile_connect, calendar_service_authorize, calendar_service_connect
from conftest import make_user
from core.choices import AccessMode
from sandbox.models import AdminConsent, DelegationGrant
from sandbox.testing import G, mint, mint_refresh

pytestmark = pytest.mark.django_db(transaction=True)


def raw_credentials(profile) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM calendars_calendarprofile WHERE id = %s", [profile.pk])
        return cursor.fetchone()[0]


def test_a_refreshed_token_is_stored_back_encrypted(world):
    alice = make_user("alice@acme.example")
    old_token = mint(world, "alice", [f"{G}calendar"], expired=True)
    profile = calendar_profile_connect(
        user=alice,
        provider_name="google",
        profile_name="alice@acme.example",
        provider_account_id="g-alice",
        credentials={
            "kind": "google_user",
            "access_token": old_token,
            "scopes": [f"{G}calendar"],
            "refresh_token": mint_refresh(world, "alice", [f"{G}calendar"]),
            "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        },
    )
    before = raw_credentials(profile)
    calendars = calendar_client_for_profile(profile).list_calendars()
    assert calendars[0].provider_id == "alice@acme.example"
    profile.refresh_from_db()
    assert profile.credentials["access_token"] != old_token
    after = raw_credentials(profile)
    assert after != before
    assert profile.credentials["access_token"] not in after


def google_profile(world, person: str):
    email = f"{person}@acme.example"
    return calendar_profile_connect(
        user=make_user(email),
        provider_name="google",
        profile_name=email,
        provider_account_id=f"g-{person}",
        credentials={"kind": "google_user", "access_token": mint(world, person, [f"{G}calendar"]), "scopes": []},
    )


def test_google_clients_share_the_apis_resources_but_each_request_carries_its_own_account(world):
    alice, bob = (calendar_client_for_profile(google_profile(world, person)) for person in ("alice", "bob"))

    assert alice._api is bob._api  # built once per process: building them cost ~20 ms a client
    for _ in range(2):  # interleaved: nothing of one account stays behind for the other
        assert [c.provider_id for c in alice.list_calendars()] == ["alice@acme.example"]
        assert [c.provider_id for c in bob.list_calendars()] == ["bob@acme.example"]
    # A request built from the shared resources and sent without an account's http goes nowhere.
    with pytest.raises(RuntimeError, match="account's own http"):
        alice._api.calendar_list.list().execute()


def test_a_profile_through_a_google_service_account_uses_the_organizations_grant(world, google_service_account):
    organization = organization_create(name="Acme", actor=None)
    scopes = [f"{G}calendar"]
    DelegationGrant.objects.create(tenant=world.tenants["acme"], service_account=google_service_account, scopes=scopes)
    service = calendar_service_connect(
        organization=organization,
        provider=CalendarProvider.GOOGLE,
        access_mode=AccessMode.READ_WRITE,
        domains=["acme.example"],
        connected_by=None,
    )
    calendar_service_authorize(
        service=service,
        credentials={"kind": "google_service_account", "key": google_service_account.key},
        granted_scopes=scopes,
        actor=None,
    )
    profile = calendar_profile_connect(
        user=make_user("alice@acme.example"),
        provider_name="google",
        profile_name="alice@acme.example",
        provider_account_id="g-alice",
        calendar_service=service,
    )
    client = calendar_client_for_profile(profile)
    changes = client.busy_changes(
        "alice@acme.example", cursor=None, start=world.monday, end=world.monday + timedelta(days=7)
    )
    assert len(changes.events) == 8  # five stand-ups, the review, focus time, the talk Alice declined


def test_a_free_busy_microsoft_organization_uses_its_least_privileged_app(world):
    app = world.clients["microsoft_free_busy"]
    AdminConsent.objects.create(tenant=world.tenants["contoso"], client=app, permissions=app.application_permissions)
    assert "Calendars.ReadWrite.All" not in app.application_permissions
    organization = organization_create(name="Contoso", actor=None)
    service = calendar_service_connect(
        organization=organization,
        provider=CalendarProvider.MICROSOFT,
        access_mode=AccessMode.FREE_BUSY,
        domains=["contoso.example"],
        connected_by=None,
    )
    calendar_service_authorize(
        service=service,
        credentials={"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id},
        granted_scopes=app.application_permissions,
        actor=None,
    )
    profile = calendar_profile_connect(
        user=make_user("erin@contoso.example"),
        provider_name="ms_graph_free_busy",
        profile_name="erin@contoso.example",
        provider_account_id="oid-erin",
        calendar_service=service,
    )
    result = calendar_client_for_profile(profile).free_busy(
        ["erin@contoso.example"], start=world.monday, end=world.monday + timedelta(days=1)
    )
    assert len(result.periods["erin@contoso.example"]) == 2


def test_production_talks_to_the_real_providers(settings):
    settings.SANDBOX_ENABLED = False
    settings.PROVIDER_URL_OVERRIDES = {}
    assert endpoints.google_token_url() == "https://oauth2.googleapis.com/token"
    assert endpoints.google_calendar_api_url() == "https://www.googleapis.com/calendar/v3/"
    assert endpoints.microsoft_graph_url() == "https://graph.microsoft.com"
    assert endpoints.microsoft_login_routes() == {}
    settings.PROVIDER_URL_OVERRIDES = {"MICROSOFT_GRAPH_URL": "https://graph.microsoft.us"}
    assert endpoints.microsoft_graph_url() == "https://graph.microsoft.us"
