"""The Google consoles a Workspace administrator uses, as the sandbox plays them for the demo: the Cloud
console's service accounts and JSON keys, the Admin console's domain-wide delegation. What is granted
there is what the sandbox's token endpoint then honours."""

from __future__ import annotations

import json

import google.auth.exceptions
import pytest
from django.urls import reverse
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from calendars.providers import endpoints
from sandbox.models import DelegationGrant

pytestmark = pytest.mark.django_db(transaction=True)

FREEBUSY = "https://www.googleapis.com/auth/calendar.events.freebusy"
CALENDAR_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"


def signed_in(client, email: str = "bob@acme.example"):
    response = client.post(reverse("sandbox:google-console-signin"), {"account": email, "next": "/"})
    assert response.status_code == 302
    return client


def test_the_consoles_open_only_to_a_workspace_administrator(client, world, google_service_account):
    for page in ("sandbox:google-cloud-service-accounts", "sandbox:google-admin-delegation"):
        response = client.get(reverse(page))
        assert response.status_code == 302 and reverse("sandbox:google-console-signin") in response["Location"]
    key_url = reverse("sandbox:google-cloud-service-account-key", args=[google_service_account.unique_id])
    assert client.get(key_url).status_code == 302
    chooser = client.get(reverse("sandbox:google-console-signin")).content.decode()
    assert "bob@acme.example" in chooser and "alice@acme.example" not in chooser  # Alice is no admin
    client.post(reverse("sandbox:google-console-signin"), {"account": "alice@acme.example"})
    assert client.get(reverse("sandbox:google-admin-delegation")).status_code == 302
    # An open redirect is not on offer.
    response = client.post(
        reverse("sandbox:google-console-signin"), {"account": "bob@acme.example", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("sandbox:google-cloud-service-accounts")


def test_the_cloud_console_lists_service_accounts_and_downloads_the_key_as_google_does(
    client, world, google_service_account
):
    page = signed_in(client).get(reverse("sandbox:google-cloud-service-accounts")).content.decode()
    assert google_service_account.client_email in page
    assert google_service_account.unique_id in page
    response = client.get(reverse("sandbox:google-cloud-service-account-key", args=[google_service_account.unique_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="sandbox-scheduling-')
    key = json.loads(response.content)
    assert set(key) == {
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
    }
    assert key["type"] == "service_account" and key["client_id"] == google_service_account.unique_id
    # google-auth reads it as any key file from Google Cloud.
    assert service_account.Credentials.from_service_account_info(key).service_account_email == key["client_email"]


def token_for(key: dict, scopes: list[str], subject: str = "alice@acme.example") -> bool:
    credentials = service_account.Credentials.from_service_account_info(
        {**key, "token_uri": endpoints.google_token_url()}, scopes=scopes, subject=subject
    )
    try:
        credentials.refresh(Request())
    except google.auth.exceptions.RefreshError:
        return False
    return True


def test_a_delegation_granted_in_the_admin_console_is_honoured_by_the_token_endpoint(
    client, world, google_service_account
):
    signed_in(client)
    url = reverse("sandbox:google-admin-delegation")
    assert not token_for(google_service_account.key, [FREEBUSY])

    response = client.post(
        url, {"client_id": google_service_account.unique_id, "scopes": f"{CALENDAR_LIST}, {FREEBUSY}"}, follow=True
    )
    assert f"Client {google_service_account.unique_id} authorized." in response.content.decode()
    grant = DelegationGrant.objects.get(tenant=world.tenants["acme"], service_account=google_service_account)
    assert grant.scopes == [CALENDAR_LIST, FREEBUSY]
    assert token_for(google_service_account.key, [FREEBUSY, CALENDAR_LIST])
    assert not token_for(google_service_account.key, [FREEBUSY], subject="ivan@initech.example")  # Acme's only

    # Adding the same client id again overwrites its scopes; deleting ends the delegation.
    client.post(url, {"client_id": google_service_account.unique_id, "scopes": FREEBUSY})
    assert DelegationGrant.objects.get(pk=grant.pk).scopes == [FREEBUSY]
    client.post(url, {"client_id": google_service_account.unique_id, "action": "delete"})
    assert not DelegationGrant.objects.filter(pk=grant.pk).exists()
    assert not token_for(google_service_account.key, [FREEBUSY])


def test_the_admin_console_refuses_an_unknown_client_id_or_scope(client, world, google_service_account):
    signed_in(client)
    url = reverse("sandbox:google-admin-delegation")
    text = client.post(url, {"client_id": "123", "scopes": FREEBUSY}, follow=True).content.decode()
    assert "Client ID is invalid" in text
    text = client.post(
        url, {"client_id": google_service_account.unique_id, "scopes": "calendar"}, follow=True
    ).content.decode()
    assert "Invalid OAuth scope: calendar" in text
    assert not DelegationGrant.objects.exists()
