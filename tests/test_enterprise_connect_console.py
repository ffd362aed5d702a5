"""Integrator access (Enterprise Connect) in the console: an admin grants an application access to
their organization's people, hands its integrator the service account token shown once, and revokes
it, which ends every token delegated under it at once. Scoped like every console page."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, ServiceAccount
from accounts.oauth import authorization_code_issue, service_account_create, token_exchange_code
from calendars.services import calendar_profile_connect

pytestmark = pytest.mark.django_db

ADD = "admin:accounts_serviceaccount_add"


def grant_form(organization, integrator, **overrides) -> dict:
    return {
        "organization": organization.pk,
        "client_id": integrator.application.client_id,
        "scopes": ["service_account/accounts/manage", "service_account/resources/manage"],
        "delegated_scopes": ["free_busy_write"],
        "access_mode": "free_busy",
        **overrides,
    }


def test_an_admin_grants_an_application_and_its_token_works(client_for, acme, bob, integrator):
    client = client_for(bob)
    response = client.post(reverse(ADD), grant_form(acme, integrator))

    assert response.status_code == 302, response.content
    service_account = ServiceAccount.objects.get(organization=acme, application=integrator.application)
    assert (service_account.delegated_scopes, service_account.access_mode) == (["free_busy_write"], "free_busy")
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    token = re.search(r"token \(shown once, keep it safe\): (\S+)", shown).group(1)
    userinfo = Client().get("/v1/userinfo", headers={"Authorization": f"Bearer {token}"}).json()
    assert userinfo["sub"] == service_account.public_id
    assert AuditEvent.objects.filter(action="service_account_granted", organization=acme, actor=bob).exists()


def test_an_unknown_client_id_is_refused(client_for, acme, bob, integrator):
    response = client_for(bob).post(reverse(ADD), grant_form(acme, integrator, client_id="nope"))
    assert response.status_code == 200 and "client_id" in response.context["adminform"].form.errors
    assert not ServiceAccount.objects.exists()


def test_another_organizations_admin_cannot_grant_for_acme(client_for, acme, charlie, integrator):
    response = client_for(charlie).post(reverse(ADD), grant_form(acme, integrator))
    assert response.status_code == 200 and "organization" in response.context["adminform"].form.errors
    assert not ServiceAccount.objects.exists()


def test_revoking_in_the_console_ends_every_delegated_token(client_for, acme, bob, alice, integrator):
    service_account = service_account_create(
        organization=acme,
        application=integrator.application,
        scopes=["service_account/accounts/manage"],
        delegated_scopes=["free_busy"],
        actor=bob,
    )
    profile = calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    code = authorization_code_issue(
        application=integrator.application,
        user=alice,
        scopes=["free_busy"],
        redirect_uri="https://integrator.example/callback",
        profile_id=profile.pk,
        service_account=service_account,
    )
    access = token_exchange_code(
        application=integrator.application, code=code, redirect_uri="https://integrator.example/callback"
    ).access_token
    headers = {"Authorization": f"Bearer {access}"}
    assert Client().get("/v1/account", headers=headers).status_code == 200

    response = client_for(bob).post(
        reverse("admin:accounts_serviceaccount_changelist"),
        {"action": "revoke", "_selected_action": [service_account.pk]},
    )

    assert response.status_code == 302
    assert Client().get("/v1/account", headers=headers).status_code == 401
    service_account.refresh_from_db()
    assert service_account.revoked_at is not None


def test_the_organization_page_lists_its_integrator_access(client_for, acme, bob, integrator):
    service_account_create(
        organization=acme,
        application=integrator.application,
        scopes=["service_account/accounts/manage"],
        delegated_scopes=["free_busy"],
        actor=bob,
    )
    page = client_for(bob).get(reverse("admin:accounts_organization_change", args=[acme.pk])).content.decode()
    assert "Integrator access (Enterprise Connect)" in page and "Scheduler" in page
