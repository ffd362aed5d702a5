"""Personas shared by every test.

Alice is a member of Acme (the usual user). Bob is Acme's IT admin (owner). Dave is another Acme
admin who is not an owner. Charlie administers Globex, another customer, and must see nothing of
Acme. Root is the platform's superuser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Application, Organization, Role, User
from accounts.oauth import application_create, tokens_issue_for
from accounts.services import membership_set, organization_create, user_create
from calendars.choices import CalendarProvider
from calendars.models import CalendarService
from calendars.services import calendar_domain_vouch, calendar_service_connect
from core.choices import AccessMode

pytest_plugins = [
    "sandbox.testing",
    "directory.tests.fixtures",
    "conferencing.tests.fixtures",
    "tests.database",
    "tests.browser",
    "tests.mailserver",
    "tests.dnsserver",
]

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Every test starts with an empty cache: allauth's sign-in rate limits (per IP, and every test
    signs in from 127.0.0.1) and used TOTP codes live there."""
    cache.clear()


def make_user(email: str, name: str = "") -> User:
    return user_create(email=email, name=name, password=PASSWORD, email_verified=True)


@pytest.fixture
def acme(db) -> Organization:
    return organization_create(name="Acme", actor=None)


@pytest.fixture
def globex(db) -> Organization:
    return organization_create(name="Globex", actor=None)


@pytest.fixture
def alice(acme) -> User:
    user = make_user("alice@acme.example", "Alice")
    membership_set(organization=acme, user=user, role=Role.MEMBER, actor=None)
    return user


@pytest.fixture
def bob(acme) -> User:
    user = make_user("bob@acme.example", "Bob")
    membership_set(organization=acme, user=user, role=Role.OWNER, actor=None)
    return user


@pytest.fixture
def dave(acme, bob) -> User:
    user = make_user("dave@acme.example", "Dave")
    membership_set(organization=acme, user=user, role=Role.ADMIN, actor=bob)
    return user


@pytest.fixture
def charlie(globex) -> User:
    user = make_user("charlie@globex.example", "Charlie")
    membership_set(organization=globex, user=user, role=Role.OWNER, actor=None)
    return user


@pytest.fixture
def root(db) -> User:
    return User.objects.create_superuser("root@platform.example", PASSWORD)


def vouched(service: CalendarService) -> CalendarService:
    """A service whose domain claims the platform's operator vouched for through the service, so that
    what a proof sets off happens (its mode becomes a ceiling on the domain's people at once)."""
    operator = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "operator@platform.example", PASSWORD
    )
    for claim in service.domain_claims.filter(proven_at__isnull=True):
        calendar_domain_vouch(claim=claim, actor=operator)
    return service


def proven(service: CalendarService) -> CalendarService:
    """A service whose domain claims are proven (as the platform's operator would vouch for them): what
    most tests start from; tests/test_domain_proof.py proves them the real ways."""
    service.domain_claims.filter(proven_at__isnull=True).update(proven_at=timezone.now(), proof="operator")
    return service


@pytest.fixture
def acme_services(acme, bob) -> dict[str, CalendarService]:
    """Acme's three calendar services, one per access mode, their domains proven."""
    services = {
        AccessMode.READ_WRITE: calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.READ_WRITE,
            domains=["acme.example"],
            connected_by=bob,
        ),
        AccessMode.FREE_BUSY: calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.MICROSOFT,
            access_mode=AccessMode.FREE_BUSY,
            domains=["emea.acme.example"],
            connected_by=bob,
        ),
        AccessMode.NO_ACCESS: calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.NO_ACCESS,
            domains=["legal.acme.example"],
            connected_by=bob,
        ),
    }
    return {mode: proven(service) for mode, service in services.items()}


@pytest.fixture
def globex_service(globex, charlie) -> CalendarService:
    return proven(
        calendar_service_connect(
            organization=globex,
            provider=CalendarProvider.MICROSOFT,
            access_mode=AccessMode.READ_WRITE,
            domains=["globex.example"],
            connected_by=charlie,
        )
    )


@pytest.fixture
def client_for(db) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


#
# Integrators: an application, and API clients holding its credentials
#


@dataclass(frozen=True)
class Integrator:
    application: Application
    secret: str


@pytest.fixture
def integrator(db) -> Integrator:
    """The integrator most tests call the API as ("Scheduler")."""
    application, secret = application_create(name="Scheduler", redirect_uris=["https://integrator.example/callback"])
    return Integrator(application=application, secret=secret)


@pytest.fixture
def api_client_for(integrator) -> Callable[..., APIClient]:
    """`api_client_for(alice, scopes=["read_free_busy"])`: an API client with an access token of the
    integrator's application (or `application=`) for that person, as after their consent."""

    def make(
        person: User, scopes: Iterable[str] = ("read_write",), application: Application | None = None
    ) -> APIClient:
        tokens = tokens_issue_for(application=application or integrator.application, user=person, scopes=list(scopes))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
        return client

    return make


@pytest.fixture
def application_api_client(integrator) -> APIClient:
    """An API client authenticated with the integrator's client secret (application-level calls)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {integrator.secret}")
    return client
