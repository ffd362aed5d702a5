"""The IT-admin console for conferencing services: each provider connected with a verified setup,
missing permissions named to the admin, status, linked people and data shared, scoped to the admin's
organizations."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse

from accounts.models import ConnectionStatus
from conferencing.models import ConferencingService
from conferencing.services import conferencing_service_connect
from tests.e2e import Browser

pytestmark = pytest.mark.django_db(transaction=True)


def change_url(service: ConferencingService) -> str:
    return reverse("admin:conferencing_conferencingservice_change", args=[service.pk])


def authorize_url(service: ConferencingService) -> str:
    return reverse("admin:conferencing_conferencingservice_authorize", args=[service.pk])


def test_bob_connects_zoom_with_the_apps_credentials_and_a_test_meeting(
    client_for, acme, bob, alice, conferencing_world
):
    client = client_for(bob)
    added = client.post(
        reverse("admin:conferencing_conferencingservice_add"), {"organization": acme.pk, "provider": "zoom"}
    )
    assert added.status_code == 302
    service = ConferencingService.objects.get()
    page = client.get(change_url(service)).content.decode()
    assert "Enter the Zoom app&#x27;s credentials" in page or "Enter the Zoom app's credentials" in page
    assert "meeting:write:admin" in page and "create and manage zoom meetings" in page.lower()

    app = conferencing_world.zoom_app
    response = client.post(
        authorize_url(service),
        {
            "account_id": app.account.account_id,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "test_user": "alice@acme.example",
        },
    )
    assert response.status_code == 302 and response["Location"] == change_url(service)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE and service.verified_at
    page = client.get(change_url(service)).content.decode()
    assert "alice@acme.example" in page and "bob@acme.example" in page  # linked people
    assert "2 people linked" in page


def test_a_missing_zoom_scope_is_named_on_the_page(client_for, acme, bob, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    app = conferencing_world.zoom_narrow_app
    response = client_for(bob).post(
        authorize_url(service),
        {
            "account_id": app.account.account_id,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "test_user": "alice@acme.example",
        },
    )
    assert response.status_code == 200
    assert "user:read:admin" in response.content.decode()
    assert ConferencingService.objects.get().status == ConnectionStatus.PENDING


def test_bob_connects_meet_with_a_service_account_key(client_for, acme, bob, alice, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="google_meet", connected_by=bob)
    key = io.BytesIO(json.dumps(conferencing_world.service_account_key).encode())
    key.name = "key.json"
    response = client_for(bob).post(authorize_url(service), {"key_file": key, "test_user": "alice@acme.example"})
    assert response.status_code == 302
    assert ConferencingService.objects.get().status == ConnectionStatus.ACTIVE


def test_bob_connects_teams_through_admin_consent_and_the_access_policy_check(
    live_server, world, acme, bob, conferencing_world
):
    service = conferencing_service_connect(organization=acme, provider="ms_teams", connected_by=bob)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(service)), "bob@acme.example")
    assert "Sign in as an administrator" in page.text
    page = browser.submit(page, {"account": "olga@contoso.example"})
    verify = browser.submit(page, {"account": "olga@contoso.example", "decision": "accept"})
    assert "Grant-CsApplicationAccessPolicy" in verify.text and conferencing_world.teams_client.client_id in verify.text
    refused = browser.submit(verify, {"test_user": "max@contoso.example"}, action=verify.url)
    assert "no Teams application access policy covers them" in refused.text
    assert ConferencingService.objects.get().status == ConnectionStatus.PENDING
    live = browser.submit(refused, {"test_user": "erin@contoso.example"}, action=verify.url)
    assert "Microsoft Teams is connected" in live.text
    assert ConferencingService.objects.get().status == ConnectionStatus.ACTIVE


def test_bob_connects_webex_as_a_webex_administrator(live_server, world, acme, bob, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="webex", connected_by=bob)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(service)), "bob@acme.example")
    assert "Sign in to Webex" in page.text
    page = browser.submit(page, {"account": "bob@acme.example"})
    assert "meeting:admin_schedule_write" in page.text
    verify = browser.submit(page, {"account": "bob@acme.example", "decision": "allow"})
    live = browser.submit(verify, {"test_user": "alice@acme.example"}, action=verify.url)
    assert "Webex is connected" in live.text
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE and service.external_id == conferencing_world.webex.account_id


def test_a_webex_non_administrator_is_refused_readably(live_server, world, acme, bob, conferencing_world):
    service = conferencing_service_connect(organization=acme, provider="webex", connected_by=bob)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(service)), "bob@acme.example")
    page = browser.submit(page, {"account": "alice@acme.example"})
    back = browser.submit(page, {"account": "alice@acme.example", "decision": "allow"})
    assert "sign in as an administrator" in back.text
    assert ConferencingService.objects.get().status == ConnectionStatus.PENDING


@pytest.mark.parametrize("page", ["change", "authorize", "verify"])
def test_charlie_sees_nothing_of_acmes_conferencing(client_for, acme, bob, charlie, page):
    service = conferencing_service_connect(organization=acme, provider="zoom", connected_by=bob)
    url = reverse(f"admin:conferencing_conferencingservice_{page}", args=[service.pk])
    assert client_for(charlie).get(url).status_code == 404
    listing = client_for(charlie).get(reverse("admin:conferencing_conferencingservice_changelist"))
    assert "Zoom for Acme" not in listing.content.decode()


def test_the_people_page_lists_linked_profiles_for_their_organization_only(client_for, connect, alice, bob, charlie):
    connect("zoom")
    url = reverse("admin:conferencing_conferencingprofile_changelist")
    assert "alice@acme.example" in client_for(bob).get(url).content.decode()
    assert "alice@acme.example" not in client_for(charlie).get(url).content.decode()
