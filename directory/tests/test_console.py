"""The console: connect each directory provider with a verified setup, preview, run, confirm an
offboarding that stopped at the threshold, the unit mapping and the offboarding policy; nothing of it
for another organization's admin."""

from __future__ import annotations

import json

import pytest
import requests
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ConnectionStatus
from accounts.services import organization_create
from directory.clients import directory_scopes
from directory.models import DirectoryProvider, DirectoryRound, DirectoryService, DirectoryUnitMapping, RoundStatus
from directory.services import directory_service_connect
from directory.tests.fixtures import SF_CLIENT_ID, SF_COMPANY, _signing_pair, account
from sandbox import directory as sandbox_directory
from sandbox.models import AdminConsent, DelegationGrant
from tests.e2e import hidden_fields

pytestmark = pytest.mark.django_db(transaction=True)

G = "https://www.googleapis.com/auth/"


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.fixture
def pending(world, acme, bob, acme_calendars):
    return {
        provider: directory_service_connect(organization=acme, provider=provider, connected_by=bob)
        for provider in DirectoryProvider.values
    }


def url(name: str, service) -> str:
    return reverse(f"admin:directory_directoryservice_{name}", args=[service.pk])


def upload_key(client, service, account_, admin_email="bob@acme.example"):
    key = SimpleUploadedFile("key.json", json.dumps(account_.key).encode(), content_type="application/json")
    return client.post(url("authorize_google", service), {"key_file": key, "admin_email": admin_email})


def test_google_shows_the_scopes_to_delegate_and_verifies_them(client_for, bob, pending, world, google_service_account):
    client = client_for(bob)
    page = client.get(url("authorize_google", pending["google"])).content.decode()
    for scope in directory_scopes("google"):
        assert scope in page
    DelegationGrant.objects.create(
        tenant=world.tenants["acme"], service_account=google_service_account, scopes=directory_scopes("google")
    )
    response = upload_key(client, pending["google"], google_service_account)
    assert response.status_code == 302, response.content.decode()[:3000]
    service = DirectoryService.objects.get(pk=pending["google"].pk)
    assert (service.status, service.acting_user) == (ConnectionStatus.ACTIVE, "bob@acme.example")
    assert service.next_round_at is None  # the first round waits for the admin, after a preview


def test_google_names_a_missing_scope(client_for, bob, pending, world, google_service_account):
    DelegationGrant.objects.create(
        tenant=world.tenants["acme"], service_account=google_service_account, scopes=directory_scopes("google")[:2]
    )
    response = upload_key(client_for(bob), pending["google"], google_service_account)
    assert f"Missing: {G}admin.directory.resource.calendar.readonly" in response.content.decode()
    assert DirectoryService.objects.get(pk=pending["google"].pk).status == ConnectionStatus.PENDING


def test_google_refuses_to_act_as_someone_who_is_not_an_administrator(
    client_for, bob, pending, world, google_service_account
):
    DelegationGrant.objects.create(
        tenant=world.tenants["acme"], service_account=google_service_account, scopes=directory_scopes("google")
    )
    response = upload_key(client_for(bob), pending["google"], google_service_account, admin_email="alice@acme.example")
    assert "alice@acme.example is not an administrator of the Workspace" in response.content.decode()


def test_microsoft_admin_consent_to_the_directory_app_connects(client_for, bob, pending, world):
    client = client_for(bob)
    start = client.get(url("authorize_microsoft", pending["microsoft"]))
    assert f"client_id={world.clients['microsoft_directory'].client_id}" in start["Location"]
    browser = requests.Session()
    page = browser.get(start["Location"], timeout=10)
    page = browser.post(page.url, data={**hidden_fields(page.text), "account": "olga@contoso.example"}, timeout=10)
    answer = browser.post(
        page.url, data={**hidden_fields(page.text), "decision": "accept"}, timeout=10, allow_redirects=False
    )
    callback = answer.headers["Location"]
    response = client.get(callback[callback.index("/admin/") :])
    assert "Admin consent verified" in messages_of(response)
    service = DirectoryService.objects.get(pk=pending["microsoft"].pk)
    assert service.status == ConnectionStatus.ACTIVE
    assert set(service.granted_scopes) == {"User.Read.All", "Organization.Read.All", "Place.Read.All"}
    assert AdminConsent.objects.get(tenant=world.tenants["contoso"]).client == world.clients["microsoft_directory"]


def sf_form(**overrides):
    key, certificate = _signing_pair()
    return {
        "api_url": f"{world_url()}/successfactors",
        "company_id": SF_COMPANY,
        "client_id": SF_CLIENT_ID,
        "user_id": "sfapi",
        "private_key": key,
        "certificate": certificate,
        **overrides,
    }


def world_url() -> str:
    from django.conf import settings

    return settings.SANDBOX_URL


def test_successfactors_connects_with_a_signed_saml_assertion(client_for, bob, pending, successfactors_company):
    response = client_for(bob).post(url("authorize_successfactors", pending["successfactors"]), sf_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    service = DirectoryService.objects.get(pk=pending["successfactors"].pk)
    assert (service.status, service.external_id, service.acting_user) == (ConnectionStatus.ACTIVE, SF_COMPANY, "sfapi")
    assert "PRIVATE KEY" in service.credentials["private_key"]


def test_successfactors_refuses_a_key_the_company_does_not_know(client_for, bob, pending, successfactors_company):
    from directory.providers.successfactors import generate_signing_pair

    other_key, other_certificate = generate_signing_pair("someone-else")
    response = client_for(bob).post(
        url("authorize_successfactors", pending["successfactors"]),
        sf_form(private_key=other_key, certificate=other_certificate),
    )
    assert "SuccessFactors refused the SAML assertion" in response.content.decode()
    assert DirectoryService.objects.get(pk=pending["successfactors"].pk).status == ConnectionStatus.PENDING


def test_successfactors_names_an_api_user_without_read_access(client_for, bob, pending, successfactors_company):
    successfactors_company.hr_users.filter(user_id="sfapi").update(api_access=False)
    response = client_for(bob).post(url("authorize_successfactors", pending["successfactors"]), sf_form())
    assert "read access to the User entity for the API user sfapi" in response.content.decode()


def test_the_rounds_page_previews_then_runs(client_for, bob, directories):
    client = client_for(bob)
    rounds = url("rounds", directories.google)
    client.post(rounds, {"action": "preview"})
    preview = DirectoryRound.objects.get(service=directories.google)
    assert preview.status == RoundStatus.PREVIEWED
    page = client.get(rounds).content.decode()
    assert "would onboard 2" in page and "alice@acme.example" in page
    assert account("alice@acme.example") is None
    client.post(rounds, {"action": "run"})
    assert account("alice@acme.example") is not None
    change = client.get(url("change", directories.google)).content.decode()
    assert "onboarded 2" in change


def test_a_stopped_round_is_confirmed_from_the_console(client_for, bob, directories, world):
    client = client_for(bob)
    rounds = url("rounds", directories.google)
    client.post(rounds, {"action": "run"})
    sandbox_directory.person_delete(tenant=world.tenants["acme"], key="alice@acme.example")
    client.post(rounds, {"action": "run"})
    page = client.get(rounds).content.decode()
    assert "Confirm: offboard these 1 people" in page
    assert account("alice@acme.example").is_active
    client.post(rounds, {"action": "confirm"})
    assert not account("alice@acme.example").is_active
    assert DirectoryRound.objects.filter(service=directories.google).first().confirmed_by is None
    assert DirectoryRound.objects.filter(service=directories.google, confirmed_by=bob).exists()


def test_the_policy_and_the_unit_mapping_are_set_on_the_service_page(client_for, bob, directories, acme):
    sales = organization_create(name="Acme Sales", parent=acme, actor=bob)
    client = client_for(bob)
    page = client.get(url("change", directories.google))
    data = {
        **hidden_fields(page.content.decode()),
        "external_id": "",
        "offboarding_policy": "hand_over",
        "handover_to": bob.pk,
        "offboarding_threshold": 25,
        "default_unit": acme.pk,
        "round_interval": "00:30:00",
        "unit_mappings-TOTAL_FORMS": 1,
        "unit_mappings-INITIAL_FORMS": 0,
        "unit_mappings-0-source": "/Sales",
        "unit_mappings-0-organization": sales.pk,
    }
    response = client.post(url("change", directories.google), data)
    assert response.status_code == 302, response.content.decode()[:4000]
    service = DirectoryService.objects.get(pk=directories.google.pk)
    assert (service.offboarding_policy, service.handover_to, service.offboarding_threshold) == ("hand_over", bob, 25)
    assert DirectoryUnitMapping.objects.get(service=service).organization == sales


def test_another_organizations_admin_sees_none_of_it(client_for, charlie, directories):
    client = client_for(charlie)
    for name in ("change", "rounds", "authorize_google"):
        assert client.get(url(name, directories.google)).status_code in (302, 403, 404)
    assert client.post(url("rounds", directories.google), {"action": "run"}).status_code in (302, 403, 404)
    assert not DirectoryRound.objects.exists()
    listing = client.get(reverse("admin:directory_directoryround_changelist"))
    assert listing.status_code in (200, 302, 403)
