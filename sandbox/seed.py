"""The sandbox's demo world: two Google Workspace organizations and one Microsoft 365 tenant, with
people, rooms, and realistic busy weeks (daily stand-ups, weekly team meetings and 1:1s, one-off
meetings, tentative and declined invitations, leave, focus time), plus the OAuth clients, service
account and delegations the product uses.

Seeding is idempotent: clients are brought up to date on every run; the world is created once.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox import services, tokens
from sandbox.models import (
    Calendar,
    DelegationGrant,
    Event,
    HrUser,
    OAuthClient,
    Person,
    Provider,
    ServiceAccount,
    Tenant,
)


@dataclass(frozen=True)
class TenantSpec:
    provider: str
    name: str
    external_id: str
    domains: tuple[str, ...]
    time_zone: str
    people: tuple[tuple[str, str, bool], ...]  # (email, name, is_admin)
    rooms: tuple[tuple[str, str, int], ...]  # (email, name, capacity)


TENANTS = (
    TenantSpec(
        Provider.GOOGLE,
        "Acme Corporation",
        "C0acme4x2",
        ("acme.example", "legal.acme.example"),
        "Europe/London",
        (
            ("bob@acme.example", "Bob Admin", True),
            ("alice@acme.example", "Alice Read-Write", False),
            ("frank@acme.example", "Frank Field", False),
            ("hana@acme.example", "Hana Ito", False),
            ("nina@legal.acme.example", "Nina No-Access", False),
        ),
        (
            ("c_18841a7e2f0b@resource.calendar.google.com", "London-3-Everest (8)", 8),
            ("c_18865c0d93aa@resource.calendar.google.com", "London-3-Kilimanjaro (4)", 4),
        ),
    ),
    TenantSpec(
        Provider.GOOGLE,
        "Globex",
        "C0globex7",
        ("globex.example",),
        "America/New_York",
        (
            ("charlie@globex.example", "Charlie Globex", True),
            ("gina@globex.example", "Gina Globex", False),
            ("hank@globex.example", "Hank Scorpio", False),
        ),
        (("c_1890f3b6e5c1@resource.calendar.google.com", "NYC-12-Hudson (10)", 10),),
    ),
    TenantSpec(
        Provider.MICROSOFT,
        "Acme EMEA",
        "3f1b6a2e-8c4d-4e0f-9a57-2b6d8e1c0f93",
        ("emea.acme.example",),
        "Europe/Berlin",
        (
            ("olga@emea.acme.example", "Olga Admin", True),
            ("erin@emea.acme.example", "Erin Free-Busy", False),
            ("max@emea.acme.example", "Max Weber", False),
        ),
        (("room-thames@emea.acme.example", "Thames (6)", 6), ("room-seine@emea.acme.example", "Seine (12)", 12)),
    ),
)

# SuccessFactors companies: (name, company id, domain, [(userId, email, first, last, department)]). Each
# also has an API user, `sfapi`, whose role may read User through OData.
HR_COMPANIES = (
    (
        "Globex HR",
        "GLOBEXHR",
        "globex.example",
        (
            ("charlie", "charlie@globex.example", "Charlie", "Globex", "Management"),
            ("gina", "gina@globex.example", "Gina", "Globex", "Engineering"),
            ("hank", "hank@globex.example", "Hank", "Scorpio", "Engineering"),
        ),
    ),
)
# Workspace people's organizational units (Google) and departments (Microsoft), for unit mappings.
UNITS = {
    "alice@acme.example": "/Engineering",
    "frank@acme.example": "/Engineering",
    "hana@acme.example": "/Sales",
    "nina@legal.acme.example": "/Legal",
    "erin@emea.acme.example": "Sales",
    "max@emea.acme.example": "Engineering",
}
SUCCESSFACTORS_CLIENT_ID = "R2xvYmV4IFNjaGVkdWxpbmcgc2FuZGJveA"

WEEKS_BACK, WEEKS_AHEAD = 2, 6
ONE_OFF_TITLES = (
    "Customer call",
    "Design review",
    "Roadmap sync",
    "Interview",
    "Budget review",
    "Vendor demo",
    "Pairing session",
    "Quarterly planning",
    "Incident retro",
    "Coffee chat",
)


# What the demo's app registrations were configured with, as an admin following docs/ would set them
# up at Microsoft and Google (tests check these cover what the product requests).
DEMO_APP_PERMISSIONS: dict[str, list[str]] = {
    "microsoft": [
        "openid",
        "email",
        "Calendars.ReadWrite",
        "User.Read.All",
        "Organization.Read.All",
        "Place.Read.All",
    ],
    "microsoft_free_busy": ["openid", "email", "Calendars.ReadBasic.All", "Organization.Read.All", "User.Read.All"],
    # Directory services consent to a registration holding exactly the directory's permissions.
    "microsoft_directory": ["User.Read.All", "Organization.Read.All", "Place.Read.All"],
}
DEMO_GOOGLE_DELEGATED_SCOPES = (
    "email",
    "profile",
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "https://www.googleapis.com/auth/admin.directory.resource.calendar",
    "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly",
)


def _redirect_uris() -> list[str]:
    site = settings.SITE_URL.rstrip("/")
    return [
        f"{site}/accounts/google/login/callback/",
        f"{site}/accounts/microsoft/login/callback/",
        f"{site}/connect/google/callback",
        f"{site}/connect/microsoft/callback",
        f"{site}/admin/calendars/calendarservice/microsoft-callback/",
        f"{site}/admin/directory/directoryservice/microsoft-callback/",
    ]


def sandbox_clients() -> dict[str, OAuthClient]:
    """The product's OAuth clients at the sandbox providers, brought up to date with settings."""
    clients = {}
    for key, provider, name, client_id, secret, permissions in (
        ("google", Provider.GOOGLE, "Scheduling", settings.GOOGLE_CLIENT_ID, settings.GOOGLE_CLIENT_SECRET, []),
        (
            "microsoft",
            Provider.MICROSOFT,
            "Scheduling (Read-Write)",
            settings.MICROSOFT_CLIENT_ID,
            settings.MICROSOFT_CLIENT_SECRET,
            DEMO_APP_PERMISSIONS["microsoft"],
        ),
        (
            "microsoft_free_busy",
            Provider.MICROSOFT,
            "Scheduling (Free/Busy)",
            settings.MICROSOFT_FREE_BUSY_CLIENT_ID,
            settings.MICROSOFT_FREE_BUSY_CLIENT_SECRET,
            DEMO_APP_PERMISSIONS["microsoft_free_busy"],
        ),
        (
            "microsoft_directory",
            Provider.MICROSOFT,
            "Scheduling (Directory)",
            settings.MICROSOFT_DIRECTORY_CLIENT_ID,
            settings.MICROSOFT_DIRECTORY_CLIENT_SECRET,
            DEMO_APP_PERMISSIONS["microsoft_directory"],
        ),
    ):
        if not client_id:
            continue
        clients[key], _ = OAuthClient.objects.update_or_create(
            client_id=client_id,
            defaults={
                "provider": provider,
                "name": name,
                "client_secret": secret,
                "redirect_uris": _redirect_uris(),
                "application_permissions": [p for p in permissions if p not in ("openid", "email")],
            },
        )
    return clients


def service_account_for(client: OAuthClient) -> ServiceAccount:
    """The product's Google service account, with a key file the product can be given."""
    existing = client.service_accounts.first()
    if existing is not None:
        return existing
    private_pem, public_pem = tokens.rsa_key_pair()
    key_id = secrets.token_hex(20)
    unique_id = str(100_000_000_000_000_000_000 + secrets.randbelow(10**20))
    email = f"scheduling-{secrets.token_hex(3)}@sandbox-scheduling.iam.gserviceaccount.com"
    key_file = {
        "type": "service_account",
        "project_id": "sandbox-scheduling",
        "private_key_id": key_id,
        "private_key": private_pem,
        "client_email": email,
        "client_id": unique_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }
    return ServiceAccount.objects.create(
        client=client,
        client_email=email,
        unique_id=unique_id,
        private_key_id=key_id,
        # core's EncryptedJSONField declares no Python type, so the stubs take its TextField base's (str).
        key=key_file,  # type: ignore[misc]
        public_key_pem=public_pem,
    )


def _external_id(provider: str, rng: random.Random) -> str:
    if provider == Provider.GOOGLE:
        return str(rng.randrange(10**20, 10**21))
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _calendar_id(person: Person, rng: random.Random) -> str:
    if person.tenant.provider == Provider.GOOGLE:
        return person.email
    return (
        "AAMkAGsbx"
        + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(60))
        + "AAA="
    )


def _event_id(provider: str) -> str:
    return (
        services.new_event_id()
        if provider == Provider.GOOGLE
        else ("AAMkAGsbx" + secrets.token_urlsafe(30).replace("-", "A").replace("_", "B") + "AAA=")
    )


def _at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _attendee(person: Person, *, response: str = "needsAction") -> dict[str, object]:
    return {
        "email": person.email,
        "name": person.name,
        "response": response,
        "resource": person.kind == Person.Kind.ROOM,
    }


def _create(calendar: Calendar, **values: object) -> Event:
    provider = calendar.owner.tenant.provider
    return services.event_create(calendar=calendar, values=values, event_id=_event_id(provider))


def _seed_tenant(spec: TenantSpec, start_day: date, rng: random.Random) -> None:
    tenant = Tenant.objects.create(
        provider=spec.provider, name=spec.name, external_id=spec.external_id, domains=list(spec.domains)
    )
    people = [
        Person.objects.create(
            tenant=tenant,
            email=email,
            name=name,
            is_admin=admin,
            time_zone=spec.time_zone,
            external_id=_external_id(spec.provider, rng),
            org_unit_path=UNITS.get(email, "/") if spec.provider == Provider.GOOGLE else "/",
            department=UNITS.get(email, "") if spec.provider == Provider.MICROSOFT else "",
        )
        for email, name, admin in spec.people
    ]
    rooms = [
        Person.objects.create(
            tenant=tenant,
            kind=Person.Kind.ROOM,
            email=email,
            name=name,
            capacity=capacity,
            building="HQ",
            time_zone=spec.time_zone,
            external_id=_external_id(spec.provider, rng),
        )
        for email, name, capacity in spec.rooms
    ]
    for person in people + rooms:
        Calendar.objects.create(
            owner=person,
            calendar_id=_calendar_id(person, rng),
            name=person.name if person.kind == Person.Kind.ROOM else person.email,
            is_primary=True,
            time_zone=spec.time_zone,
        )
    primary = {person.pk: person.calendars.get(is_primary=True) for person in people + rooms}
    lead, team = people[0], people[1:]
    zone = spec.time_zone
    first_monday = start_day - timedelta(days=start_day.weekday()) - timedelta(weeks=WEEKS_BACK)

    # Daily stand-up, with one occurrence cancelled and one moved.
    standup = _create(
        primary[lead.pk],
        summary="Daily stand-up",
        start=_at(first_monday, 9, 30, zone),
        end=_at(first_monday, 9, 45, zone),
        time_zone=zone,
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
        attendees=[_attendee(lead, response="accepted")] + [_attendee(p, response="accepted") for p in team],
    )
    next_monday = start_day - timedelta(days=start_day.weekday()) + timedelta(weeks=1)
    services.occurrence_change(
        series=standup, original_start=_at(next_monday, 9, 30, zone), values={"status": Event.Status.CANCELLED}
    )
    moved = next_monday + timedelta(days=2)
    services.occurrence_change(
        series=standup,
        original_start=_at(moved, 9, 30, zone),
        values={"start": _at(moved, 10, 0, zone), "end": _at(moved, 10, 15, zone)},
    )
    # Weekly team meeting in a room.
    if rooms:
        _create(
            primary[lead.pk],
            summary="Team meeting",
            start=_at(first_monday + timedelta(days=3), 11, 0, zone),
            end=_at(first_monday + timedelta(days=3), 12, 0, zone),
            time_zone=zone,
            location=rooms[0].name,
            recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TH"],
            attendees=[_attendee(p, response="accepted") for p in people] + [_attendee(rooms[0])],
        )
    # Weekly 1:1s with the lead.
    for index, person in enumerate(team):
        day = first_monday + timedelta(days=1 + index % 3)
        _create(
            primary[lead.pk],
            summary=f"1:1 {lead.name.split()[0]} / {person.name.split()[0]}",
            start=_at(day, 14, 0, zone),
            end=_at(day, 14, 30, zone),
            time_zone=zone,
            recurrence=["RRULE:FREQ=WEEKLY"],
            is_private=True,
            attendees=[_attendee(lead, response="accepted"), _attendee(person, response="accepted")],
        )
    # Everyone: lunch (free), focus time (free), one-off meetings; some tentative, some declined.
    for person in people:
        calendar = primary[person.pk]
        _create(
            calendar,
            summary="Lunch",
            start=_at(first_monday, 12, 30, zone),
            end=_at(first_monday, 13, 15, zone),
            time_zone=zone,
            transparent=True,
            show_as=Event.ShowAs.FREE,
            recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
        )
        for day_offset in range((WEEKS_BACK + WEEKS_AHEAD) * 7):
            day = first_monday + timedelta(days=day_offset)
            if day.weekday() >= 5:
                continue
            for _ in range(rng.choice((0, 1, 1, 2))):
                hour = rng.choice((10, 11, 13, 15, 16))
                length = rng.choice((30, 45, 60, 90))
                start = _at(day, hour, rng.choice((0, 15, 30)), zone)
                values: dict[str, object] = {
                    "summary": rng.choice(ONE_OFF_TITLES),
                    "start": start,
                    "end": start + timedelta(minutes=length),
                    "time_zone": zone,
                    "description": "Agenda: see the shared notes.",
                }
                roll = rng.random()
                if roll < 0.1:
                    values.update(summary="Focus time", transparent=True, show_as=Event.ShowAs.FREE)
                elif roll < 0.2:
                    values.update(status=Event.Status.TENTATIVE, show_as=Event.ShowAs.TENTATIVE)
                elif roll < 0.45:
                    colleague = rng.choice([p for p in people if p.pk != person.pk])
                    response = "declined" if rng.random() < 0.2 else "accepted"
                    values["attendees"] = [
                        _attendee(person, response="accepted"),
                        _attendee(colleague, response=response),
                        {
                            "email": "guest@partner.example",
                            "name": "External Guest",
                            "response": "needsAction",
                            "resource": False,
                        },
                    ]
                _create(calendar, **values)
    # Leave: two all-day days out of office for the first team member, in two weeks.
    if team:
        leave = start_day - timedelta(days=start_day.weekday()) + timedelta(weeks=2, days=1)
        _create(
            primary[team[0].pk],
            summary="Annual leave",
            start=datetime.combine(leave, time(), tzinfo=UTC),
            end=datetime.combine(leave + timedelta(days=2), time(), tzinfo=UTC),
            all_day=True,
            show_as=Event.ShowAs.OOF,
        )


def _seed_hr_company(name: str, company_id: str, domain: str, people: tuple) -> None:
    company = Tenant.objects.create(
        provider=Provider.SUCCESSFACTORS, name=name, external_id=company_id, domains=[domain]
    )
    HrUser.objects.create(
        tenant=company, user_id="sfapi", username="sfapi", first_name="API", last_name="User", api_access=True
    )
    for user_id, email, first, last, department in people:
        HrUser.objects.create(
            tenant=company,
            user_id=user_id,
            username=user_id,
            email=email,
            first_name=first,
            last_name=last,
            department=department,
        )
    OAuthClient.objects.create(
        provider=Provider.SUCCESSFACTORS,
        name="Scheduling",
        client_id=SUCCESSFACTORS_CLIENT_ID,
        client_secret="",
        tenant=company,
    )


def successfactors_client(company_id: str) -> OAuthClient | None:
    """The product's OAuth client application registered in a sandbox SuccessFactors company."""
    return OAuthClient.objects.filter(provider=Provider.SUCCESSFACTORS, tenant__external_id=company_id).first()


@transaction.atomic
def sandbox_seed(*, today: date | None = None) -> dict[str, object]:
    """Bring the sandbox's clients up to date, and create its world once."""
    clients = sandbox_clients()
    account = service_account_for(clients["google"]) if "google" in clients else None
    start_day = today or timezone.now().date()
    for index, spec in enumerate(TENANTS):
        if not Tenant.objects.filter(external_id=spec.external_id).exists():
            _seed_tenant(spec, start_day, random.Random(f"sandbox-{index}"))  # noqa: S311  # demo data
        tenant = Tenant.objects.get(external_id=spec.external_id)
        if account is not None and tenant.provider == Provider.GOOGLE:
            # The Workspace admin delegated what the calendar service and the directory service need.
            DelegationGrant.objects.update_or_create(
                tenant=tenant, service_account=account, defaults={"scopes": list(DEMO_GOOGLE_DELEGATED_SCOPES)}
            )
    for name, company_id, domain, people in HR_COMPANIES:
        if not Tenant.objects.filter(external_id=company_id).exists():
            _seed_hr_company(name, company_id, domain, people)
    return {
        "tenants": [
            {"name": t.name, "provider": t.provider, "id": t.external_id, "domains": t.domains}
            for t in Tenant.objects.order_by("provider", "name")
        ],
        "google_service_account": account.client_email if account else None,
        "google_service_account_key": json.dumps(account.key) if account else None,
    }
