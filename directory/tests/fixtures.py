"""Test fixtures of the directory app, a pytest plugin loaded by the root conftest.py. The sandbox's
directories: Acme's Google Workspace (Bob is its administrator),
Contoso's Microsoft 365 tenant (consented to the directory app registration) and a SuccessFactors
company whose OAuth client application knows the product's certificate. Every provider is reached
over real HTTP through its real client library."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.conf import settings

from accounts.models import Organization, User
from calendars.choices import CalendarProvider
from calendars.models import CalendarService
from calendars.services import calendar_service_connect
from conftest import proven
from core.choices import AccessMode
from directory.clients import directory_scopes
from directory.models import DirectoryProvider, DirectoryService
from directory.providers.successfactors import generate_signing_pair
from directory.services import (
    directory_service_authorize,
    directory_service_connect,
)
from sandbox.models import AdminConsent, DelegationGrant, HrUser, OAuthClient, Provider, Tenant

SF_COMPANY = "ACMEHR"
SF_CLIENT_ID = "ZmQ5YzNhNjEtYWNtZS1zYW5kYm94"


@dataclass
class Directories:
    google: DirectoryService
    microsoft: DirectoryService
    successfactors: DirectoryService
    sf_company: Tenant
    organization: Organization


def _signing_pair() -> tuple[str, str]:
    cached = getattr(_signing_pair, "pair", None)
    if cached is None:
        cached = generate_signing_pair("scheduling-tests")
        _signing_pair.pair = cached  # type: ignore[attr-defined]
    return cached


@pytest.fixture
def successfactors_company(world) -> Tenant:
    company = Tenant.objects.create(
        provider=Provider.SUCCESSFACTORS, name="Acme HR", external_id=SF_COMPANY, domains=["acme.example"]
    )
    _, certificate = _signing_pair()
    OAuthClient.objects.create(
        provider=Provider.SUCCESSFACTORS,
        name="Scheduling",
        client_id=SF_CLIENT_ID,
        client_secret="",
        tenant=company,
        x509_certificate=certificate,
    )
    HrUser.objects.create(
        tenant=company, user_id="sfapi", username="sfapi", first_name="API", last_name="User", api_access=True
    )
    for user_id, email, first, last, department in (
        ("alice", "alice@acme.example", "Alice", "Able", "Engineering"),
        ("bob", "bob@acme.example", "Bob", "Admin", "IT"),
    ):
        HrUser.objects.create(
            tenant=company,
            user_id=user_id,
            username=user_id,
            email=email,
            first_name=first,
            last_name=last,
            department=department,
        )
    return company


@pytest.fixture
def acme_calendars(acme, bob) -> dict[str, CalendarService]:
    """Acme's calendar services: acme.example on Google in No Access (no provider grant needed, so the
    directory's effect is visible without calendar syncs), contoso.example on Microsoft, No Access too;
    their domains proven."""
    services = {
        "acme": calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.NO_ACCESS,
            domains=["acme.example"],
            connected_by=bob,
        ),
        "contoso": calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.MICROSOFT,
            access_mode=AccessMode.NO_ACCESS,
            domains=["contoso.example"],
            connected_by=bob,
        ),
    }
    return {name: proven(service) for name, service in services.items()}


@pytest.fixture
def directories(world, google_service_account, successfactors_company, acme, bob, acme_calendars) -> Directories:
    DelegationGrant.objects.update_or_create(
        tenant=world.tenants["acme"],
        service_account=google_service_account,
        defaults={"scopes": directory_scopes(DirectoryProvider.GOOGLE)},
    )
    app = world.clients["microsoft_directory"]
    AdminConsent.objects.update_or_create(
        tenant=world.tenants["contoso"], client=app, defaults={"permissions": app.application_permissions}
    )
    google = directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)
    DirectoryService.objects.filter(pk=google.pk).update(acting_user="bob@acme.example")
    google.refresh_from_db()
    directory_service_authorize(
        service=google,
        credentials={"kind": "google_service_account", "key": google_service_account.key},
        granted_scopes=directory_scopes(DirectoryProvider.GOOGLE),
        actor=bob,
    )
    microsoft = directory_service_connect(organization=acme, provider=DirectoryProvider.MICROSOFT, connected_by=bob)
    directory_service_authorize(
        service=microsoft,
        credentials={"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id},
        granted_scopes=directory_scopes(DirectoryProvider.MICROSOFT),
        external_id=world.tenants["contoso"].external_id,
        actor=bob,
    )
    key, certificate = _signing_pair()
    successfactors = directory_service_connect(
        organization=acme, provider=DirectoryProvider.SUCCESSFACTORS, connected_by=bob, external_id=SF_COMPANY
    )
    DirectoryService.objects.filter(pk=successfactors.pk).update(
        acting_user="sfapi", api_url=f"{world_sandbox_url(world)}/successfactors"
    )
    successfactors.refresh_from_db()
    directory_service_authorize(
        service=successfactors,
        credentials={
            "kind": "successfactors_saml",
            "client_id": SF_CLIENT_ID,
            "private_key": key,
            "certificate": certificate,
        },
        granted_scopes=[],
        external_id=SF_COMPANY,
        actor=bob,
    )
    return Directories(google, microsoft, successfactors, successfactors_company, acme)


def world_sandbox_url(world) -> str:
    return settings.SANDBOX_URL


def account(email: str) -> User | None:
    return User.objects.filter(email=email).first()
