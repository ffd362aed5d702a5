"""The demo organization: what `manage.py seed_demo` creates, idempotently.

Acme runs three calendar services, one per access mode, so every behaviour of the product can be
seen side by side, and two conferencing services (Zoom, its default, and Google Meet), so Free/Busy and
No Access bookings get meeting links too; Globex is another customer whose admin must never see Acme.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction

from accounts import api_scopes
from accounts.models import Application, Organization, Role, User
from accounts.oauth import (
    application_create,
    application_set_secret,
    application_update,
    service_account_create,
    service_account_tokens_issue,
    tokens_issue_for,
)
from accounts.services import membership_set, organization_create, user_create
from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile, CalendarService, CalendarServiceDomain
from calendars.providers import endpoints, microsoft_app
from calendars.providers.base import ProviderCalendar
from calendars.scopes import Flow, requested_scopes
from calendars.selectors import calendar_service_for_email
from calendars.services import (
    calendar_domain_vouch,
    calendar_profile_save_calendars,
    calendar_service_authorize,
    calendar_service_connect,
    calendar_service_provision,
)
from conferencing.models import ConferencingProvider, ConferencingService
from conferencing.providers.base import ConferencingUser
from conferencing.selectors import conferencing_profiles_of_user
from conferencing.services import (
    conferencing_service_authorize,
    conferencing_service_connect,
    conferencing_service_link_accounts,
    required_scopes,
)
from core.choices import AccessMode
from cronofy_site.demo_directories import demo_directories_connect, demo_directories_summary
from sandbox.models import AdminConsent, MeetingUser, OAuthClient, Person, Provider, ServiceAccount, Tenant
from sandbox.seed import sandbox_seed
from sandbox.seed_conferencing import conferencing_seed


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    organization: str
    role: str


@dataclass(frozen=True)
class DemoCalendarService:
    organization: str
    provider: str
    access_mode: str
    domains: tuple[str, ...]


ACME, GLOBEX = "Acme Corporation", "Globex"
DEMO_APPLICATION = "Demo Scheduler"
SUPERUSER_EMAIL = "operator@platform.example"

CALENDAR_SERVICES = (
    DemoCalendarService(ACME, CalendarProvider.GOOGLE, AccessMode.READ_WRITE, ("acme.example",)),
    DemoCalendarService(ACME, CalendarProvider.MICROSOFT, AccessMode.FREE_BUSY, ("emea.acme.example",)),
    DemoCalendarService(ACME, CalendarProvider.GOOGLE, AccessMode.NO_ACCESS, ("legal.acme.example",)),
    DemoCalendarService(GLOBEX, CalendarProvider.GOOGLE, AccessMode.READ_WRITE, ("globex.example",)),
)
PEOPLE = (
    DemoPerson("bob@acme.example", "Bob Admin", ACME, Role.OWNER),
    DemoPerson("alice@acme.example", "Alice Read-Write", ACME, Role.MEMBER),
    DemoPerson("erin@emea.acme.example", "Erin Free-Busy", ACME, Role.MEMBER),
    DemoPerson("nina@legal.acme.example", "Nina No-Access", ACME, Role.MEMBER),
    DemoPerson("charlie@globex.example", "Charlie Globex", GLOBEX, Role.OWNER),
    DemoPerson("gina@globex.example", "Gina Globex", GLOBEX, Role.MEMBER),
)


@dataclass
class DemoSummary:
    password: str
    login_url: str
    admin_url: str
    organizations: list[dict[str, str]] = field(default_factory=list)
    # Each person's address, name, role...; their profiles (lists of dicts) are added once seeded.
    users: list[dict[str, Any]] = field(default_factory=list)
    sandbox: dict[str, object] | None = None
    integrator: dict[str, object] | None = None
    directories: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "password": self.password,
            "login_url": self.login_url,
            "admin_url": self.admin_url,
            "organizations": self.organizations,
            "users": self.users,
            "sandbox": self.sandbox,
            "integrator": self.integrator,
            "directories": self.directories,
        }


def _user(email: str, name: str, password: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_create(email=email, name=name, email_verified=True)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.filter(user=user).update(verified=True)
    return user


def _organization(name: str) -> Organization:
    organization = Organization.objects.filter(name=name, parent=None).first()
    return organization or organization_create(name=name, actor=None)


def demo_seed(*, password: str | None = None) -> DemoSummary:
    """Create (or bring back) the demo organizations, services and people. Safe to run again.

    The directories' first rounds run in transactions of their own (a round claims its service before it
    reads), between the hand-made world and the summary."""
    password = password or settings.DEMO_PASSWORD
    with transaction.atomic():
        summary, organizations = _seed_world(password)
    if settings.SANDBOX_ENABLED:
        # Directories come after the hand-made people, whom their first rounds recognise by address.
        demo_directories_connect(organizations=organizations, password=password)
    with transaction.atomic():
        if settings.SANDBOX_ENABLED:
            _calendars_from_sandbox()
            summary.directories = demo_directories_summary(organizations=organizations)
            _add_directory_people(summary, organizations)
            # After the directories: the people they onboarded are linked too.
            if summary.sandbox is not None:
                summary.sandbox["conferencing"] = _connect_conferencing_through_the_sandbox(organizations[ACME])
        for entry in summary.users:
            user = User.objects.get(email=entry["email"])
            for profile in user.calendar_profiles.exclude(status="disconnected").prefetch_related("calendars"):
                entry.setdefault("profiles", []).append(
                    {
                        "profile_id": profile.public_id,
                        "provider_name": profile.provider_name,
                        "calendar_ids": [calendar.public_id for calendar in profile.calendars.all()],
                    }
                )
            entry["conferencing_profiles"] = [
                {"profile_id": p.public_id, "provider_name": p.provider, "profile_name": p.profile_name}
                for p in conferencing_profiles_of_user(user_id=user.pk)
            ]
        summary.integrator = _demo_integrator(summary, acme=organizations[ACME])
    return summary


def _seed_world(password: str) -> tuple[DemoSummary, dict[str, Organization]]:
    organizations = {name: _organization(name) for name in (ACME, GLOBEX)}

    for spec in CALENDAR_SERVICES:
        if calendar_service_for_email(email=f"someone@{spec.domains[0]}") is None:
            calendar_service_connect(
                organization=organizations[spec.organization],
                provider=spec.provider,
                access_mode=spec.access_mode,
                domains=list(spec.domains),
                connected_by=None,
            )
    acme = organizations[ACME]
    for provider in (ConferencingProvider.ZOOM, ConferencingProvider.GOOGLE_MEET):  # Zoom first: the default
        if not ConferencingService.objects.filter(organization=acme, provider=provider).exists():
            conferencing_service_connect(organization=acme, provider=provider, connected_by=None)

    operator = _user(SUPERUSER_EMAIL, "Platform Operator", password)
    if not operator.is_superuser:
        operator.is_superuser = operator.is_staff = True
        operator.save(update_fields=["is_superuser", "is_staff"])
    # The demo's domains exist nowhere else: its operator vouches for them (a real deployment proves
    # them at the provider or in DNS).
    for claim in CalendarServiceDomain.objects.filter(released_at__isnull=True, proven_at__isnull=True):
        calendar_domain_vouch(claim=claim, actor=operator)

    summary = DemoSummary(
        password=password,
        login_url=f"{settings.SITE_URL}/accounts/login/",
        admin_url=f"{settings.SITE_URL}/admin/",
    )
    summary.users.append(
        {
            "email": operator.email,
            "public_id": operator.public_id,
            "organization": None,
            "role": "superuser",
            "access_mode": None,
        }
    )
    for person in PEOPLE:
        user = _user(person.email, person.name, password)
        membership_set(organization=organizations[person.organization], user=user, role=person.role, actor=None)
        service = calendar_service_for_email(email=user.email)
        summary.users.append(
            {
                "email": user.email,
                "public_id": user.public_id,
                "organization": person.organization,
                "role": person.role,
                "access_mode": service.access_mode if service else None,
            }
        )
    summary.organizations = [{"name": org.name, "public_id": org.public_id} for org in organizations.values()]
    if settings.SANDBOX_ENABLED:
        seeded = sandbox_seed()
        summary.sandbox = {
            "url": settings.SANDBOX_URL,
            "tenants": seeded["tenants"],
            "google_service_account": seeded["google_service_account"],
            # Where an IT admin downloads the service account's key and grants it domain-wide delegation
            # (docs/organization-connections.md, the demo walkthrough).
            "google_consoles": {
                "service_accounts": endpoints.url("GOOGLE_CLOUD_SERVICE_ACCOUNTS_URL"),
                "domain_wide_delegation": endpoints.url("GOOGLE_ADMIN_DELEGATION_URL"),
            },
        }
        _connect_organizations_through_the_sandbox()
    return summary, organizations


def demo_integrator_application() -> Application | None:
    return Application.objects.select_related("client").filter(name=DEMO_APPLICATION).first()


def demo_integrator_redirect_uri() -> str:
    return f"{settings.SITE_URL}/demo-integrator/callback"


def demo_integrator_walkthrough(*, code: str = "") -> dict[str, str] | None:
    """What the demo's integrator page shows: where to send a person to connect a calendar, and the
    token request that exchanges the code it gets back. None before the demo is seeded."""
    application = demo_integrator_application()
    if application is None:
        return None
    redirect_uri = demo_integrator_redirect_uri()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": redirect_uri,
            "scope": "read_account list_calendars read_events create_event delete_event free_busy_write",
            "state": "demo",
        }
    )
    token_request = {
        "client_id": application.client_id,
        "client_secret": _demo_secret(),
        "grant_type": "authorization_code",
        "code": code or "<code>",
        "redirect_uri": redirect_uri,
    }
    return {
        "authorize_url": f"{settings.SITE_URL}/oauth/authorize?{query}",
        "token_command": (
            f"curl -s -X POST {settings.SITE_URL}/oauth/token -H 'Content-Type: application/json' "
            f"-d '{json.dumps(token_request)}'"
        ),
    }


def _demo_secret() -> str:
    # Derived, so every seeding prints the same secret (it is stored hashed and cannot be read back).
    return hmac.new(settings.SECRET_KEY.encode(), b"demo-integrator-secret", hashlib.sha256).hexdigest()


def _demo_integrator(summary: DemoSummary, *, acme: Organization) -> dict[str, object]:
    """A demo integrator application, and for each demo person ready tokens with every scope, as a
    developer dashboard would hand them out; and Acme's Enterprise Connect grant to it, with its service
    account token (docs/integrators.md walks through using it)."""
    redirect_uri = demo_integrator_redirect_uri()
    application = demo_integrator_application()
    if application is None:
        application, _ = application_create(
            name=DEMO_APPLICATION, redirect_uris=[redirect_uri], offered_access_modes=list(AccessMode.values)
        )
    else:  # SITE_URL may have changed since the last seeding
        application_update(
            application=application,
            redirect_uris=[redirect_uri],
            offered_access_modes=list(AccessMode.values),
            actor=None,
        )
    application_set_secret(application=application, secret=_demo_secret())
    for entry in summary.users:
        if entry["role"] == "superuser":
            continue
        user = User.objects.get(email=entry["email"])
        tokens = tokens_issue_for(application=application, user=user, scopes=["read_write", "free_busy_write"])
        entry.update(sub=user.public_id, access_token=tokens.access_token, refresh_token=tokens.refresh_token)
    owner = User.objects.filter(email="bob@acme.example").first()  # Acme's owner decided
    service_account = service_account_create(
        organization=acme,
        application=application,
        scopes=[api_scopes.SERVICE_ACCOUNT_ACCOUNTS_MANAGE, api_scopes.SERVICE_ACCOUNT_RESOURCES_MANAGE],
        delegated_scopes=["read_write", api_scopes.FREE_BUSY_WRITE],
        actor=owner,
    )
    service_tokens = service_account_tokens_issue(service_account=service_account)
    return {
        "name": application.name,
        "client_id": application.client_id,
        "client_secret": _demo_secret(),
        "redirect_uri": redirect_uri,
        "enterprise_connect": {
            "organization": acme.name,
            "service_account_id": service_account.public_id,
            "scope": " ".join(service_account.scopes),
            "delegated_scope": " ".join(service_account.delegated_scopes),
            "access_token": service_tokens.access_token,
            "refresh_token": service_tokens.refresh_token,
        },
    }


def _connect_organizations_through_the_sandbox() -> None:
    """Authorize the demo's organization services at the sandbox (Google domain-wide delegation,
    Microsoft admin consent) and give each demo person a profile through their organization, with the
    calendars the sandbox holds for them (what the first sync lists)."""
    for service in CalendarService.objects.filter(status__in=["pending", "active"]).prefetch_related("domain_claims"):
        if not service.policy.needs_provider_authorization:
            continue
        domain = service.domain_names[0]
        tenant = next((t for t in Tenant.objects.all() if t.provider == service.provider and domain in t.domains), None)
        if tenant is None:
            continue
        scopes = requested_scopes(
            Flow.ORGANIZATION_CALENDAR, provider=service.provider, access_mode=service.access_mode
        )
        if service.status != "active":
            if service.provider == CalendarProvider.GOOGLE:
                account = ServiceAccount.objects.get(client__client_id=settings.GOOGLE_CLIENT_ID)
                credentials = {"kind": "google_service_account", "key": account.key}
            else:
                client_id, _ = microsoft_app(service.access_mode)
                app = OAuthClient.objects.get(client_id=client_id)
                AdminConsent.objects.get_or_create(
                    tenant=tenant, client=app, defaults={"permissions": app.application_permissions}
                )
                credentials = {"kind": "microsoft_app", "tenant_id": tenant.external_id}
            calendar_service_authorize(
                service=service,
                credentials=credentials,
                granted_scopes=scopes,
                external_id=tenant.external_id,
                actor=None,
            )
        calendar_service_provision(service=service)
    for service in CalendarService.objects.filter(access_mode=AccessMode.NO_ACCESS, status="active"):
        calendar_service_provision(service=service)


def _calendars_from_sandbox() -> None:
    """The calendars each profile through an organization's service has at the sandbox, saved at once
    (what its first sync will list), so that `seed_demo --json` can print calendar ids."""
    profiles = CalendarProfile.objects.filter(calendar_service__isnull=False, calendars__isnull=True).exclude(
        status="disconnected"
    )
    for profile in profiles.exclude(provider_name="cronofy"):
        person = Person.objects.filter(email__iexact=profile.profile_name).prefetch_related("calendars").first()
        if person is None:
            continue
        calendar_profile_save_calendars(
            profile=profile,
            calendars=[
                ProviderCalendar(
                    provider_id=c.calendar_id,
                    name=c.name,
                    is_primary=c.is_primary,
                    is_readonly=False,
                    time_zone=c.time_zone,
                    integrated_conferencing=True,
                )
                for c in person.calendars.all()
            ],
        )


def _add_directory_people(summary: DemoSummary, organizations: dict[str, Organization]) -> None:
    """People the directories onboarded, listed like the hand-made ones."""
    listed = {entry["email"] for entry in summary.users}
    for name, organization in organizations.items():
        for membership in organization.memberships.select_related("user").order_by("user__email"):
            user = membership.user
            if user.email in listed or not user.is_active:
                continue
            listed.add(user.email)
            service = calendar_service_for_email(email=user.email)
            summary.users.append(
                {
                    "email": user.email,
                    "public_id": user.public_id,
                    "organization": name,
                    "role": membership.role,
                    "access_mode": service.access_mode if service else None,
                    "source": "directory",
                }
            )


def _connect_conferencing_through_the_sandbox(acme: Organization) -> dict[str, object]:
    """Authorize Acme's Zoom (its own Server-to-Server app) and Meet (the product's service account,
    which Acme's Workspace also delegates the Meet scopes to) at the sandbox, and link Acme's people to
    the sandbox accounts with their addresses. The sandbox is known to work, so there is no test
    meeting here: the demo seeds without a server running."""
    seeded = conferencing_seed()
    # The sandbox's seed answers loosely typed JSON-like data; its "zoom" entry is the app's string fields.
    zoom = cast(dict[str, str], seeded["zoom"])
    services = {
        s.provider: s for s in ConferencingService.objects.filter(organization=acme).exclude(status="disconnected")
    }
    # provider: (credentials, the provider's account id, the accounts to link)
    grants: dict[str, tuple[dict[str, Any], str, list[ConferencingUser]]] = {
        ConferencingProvider.ZOOM: (
            {"kind": "zoom_server_to_server", **zoom},
            zoom["account_id"],
            [
                ConferencingUser(user_id=u.user_id, email=u.email, name=u.display_name)
                for u in MeetingUser.objects.filter(account__account_id=zoom["account_id"], status="active")
            ],
        ),
    }
    account = ServiceAccount.objects.filter(client__client_id=settings.GOOGLE_CLIENT_ID).first()
    if account is not None:
        workspace = Person.objects.filter(tenant__provider=Provider.GOOGLE, kind="user", tenant__name=ACME)
        grants[ConferencingProvider.GOOGLE_MEET] = (
            {"kind": "google_service_account", "key": account.key, "scopes": required_scopes("google_meet")},
            account.unique_id,
            [ConferencingUser(user_id=p.email, email=p.email, name=p.name) for p in workspace],
        )
    for provider, (credentials, external_id, accounts) in grants.items():
        service = services.get(provider)
        if service is None:
            continue
        if service.status != "active":
            conferencing_service_authorize(
                service=service,
                credentials=credentials,
                granted_scopes=required_scopes(provider),
                external_id=external_id,
                actor=None,
                known_good=True,
            )
        conferencing_service_link_accounts(service=service, accounts=accounts)
    return {
        "zoom_server_to_server_app": zoom,
        "services": [
            {"provider": s.provider, "public_id": s.public_id, "default": s.is_default, "status": s.status}
            for s in ConferencingService.objects.filter(organization=acme).exclude(status="disconnected")
        ],
    }
