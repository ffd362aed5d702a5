"""The demo organization: what `manage.py seed_demo` creates, idempotently.

Acme runs three calendar services, one per access mode, so every behaviour of the product can be
seen side by side; Globex is another customer whose admin must never see Acme.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.services import membership_set, organization_create, user_create
from calendars.choices import AccessMode, CalendarProvider
from calendars.selectors import calendar_service_for_email
from calendars.services import calendar_service_connect
from conferencing.models import ConferencingProvider, ConferencingService
from conferencing.services import conferencing_service_connect
from directory.models import DirectoryProvider, DirectoryService
from directory.services import directory_service_connect


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
    users: list[dict[str, str | None]] = field(default_factory=list)
    sandbox: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "password": self.password,
            "login_url": self.login_url,
            "admin_url": self.admin_url,
            "organizations": self.organizations,
            "users": self.users,
            "sandbox": self.sandbox,
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


@transaction.atomic
def demo_seed(*, password: str | None = None) -> DemoSummary:
    """Create (or bring back) the demo organizations, services and people. Safe to run again."""
    password = password or settings.DEMO_PASSWORD
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
    if not DirectoryService.objects.filter(organization=acme, provider=DirectoryProvider.GOOGLE).exists():
        directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=None)
    if not ConferencingService.objects.filter(organization=acme, provider=ConferencingProvider.ZOOM).exists():
        conferencing_service_connect(organization=acme, provider=ConferencingProvider.ZOOM, connected_by=None)

    operator = _user(SUPERUSER_EMAIL, "Platform Operator", password)
    if not operator.is_superuser:
        operator.is_superuser = operator.is_staff = True
        operator.save(update_fields=["is_superuser", "is_staff"])

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
        from sandbox.seed import sandbox_seed

        seeded = sandbox_seed()
        summary.sandbox = {
            "url": settings.SANDBOX_URL,
            "tenants": seeded["tenants"],
            "google_service_account": seeded["google_service_account"],
        }
    return summary
