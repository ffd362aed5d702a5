"""Test fixtures of the sandbox, a pytest plugin loaded by the root conftest.py: a small sandbox world
served over real HTTP (pytest-django's live server), a real HTTP receiver for push notifications, and
helpers to mint tokens.

Acme (Google Workspace): Alice, Bob and a room. Contoso EMEA (Microsoft 365): Erin, Max and a room.
Initech (another Google Workspace): Ivan, who must be invisible to Acme.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from sandbox import services, tokens
from sandbox.models import (
    Calendar,
    Event,
    MeetingAccount,
    MeetingApp,
    MeetingUser,
    OAuthClient,
    Person,
    Provider,
    TeamsAccessPolicy,
    Tenant,
    Token,
)
from sandbox.seed import sandbox_clients, service_account_for
from sandbox.seed_conferencing import (
    MeetingAccountSpec,
    conferencing_apps,
    meet_delegation,
    meeting_account,
    teams_policy,
    zoom_server_to_server_app,
)

G = "https://www.googleapis.com/auth/"


@pytest.fixture
def sandbox_url(live_server, settings) -> str:
    """Point every provider URL at the sandbox on the live server."""
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.PROVIDER_MAX_RETRY_WAIT = 5
    return settings.SANDBOX_URL


def monday_next_week() -> datetime:
    today = timezone.now().astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


@dataclass
class World:
    tenants: dict[str, Tenant]
    people: dict[str, Person]
    calendars: dict[str, Calendar]
    events: dict[str, Event]
    clients: dict[str, OAuthClient]
    monday: datetime

    def calendar(self, name: str) -> Calendar:
        return self.calendars[name]


def _person(
    tenant: Tenant, email: str, name: str, external_id: str, *, room: bool = False, admin: bool = False
) -> Person:
    person = Person.objects.create(
        tenant=tenant,
        email=email,
        name=name,
        external_id=external_id,
        is_admin=admin,
        kind=Person.Kind.ROOM if room else Person.Kind.USER,
        time_zone="Europe/London",
    )
    return person


@pytest.fixture
def world(transactional_db, sandbox_url) -> World:
    clients = sandbox_clients()
    acme = Tenant.objects.create(
        provider=Provider.GOOGLE, name="Acme", external_id="C0acmetest", domains=["acme.example"]
    )
    initech = Tenant.objects.create(
        provider=Provider.GOOGLE, name="Initech", external_id="C0initech", domains=["initech.example"]
    )
    contoso = Tenant.objects.create(
        provider=Provider.MICROSOFT,
        name="Contoso EMEA",
        external_id="7d1c0a4e-5b2f-4c3d-8e9a-0f1b2c3d4e5f",
        domains=["contoso.example"],
    )
    people = {
        "alice": _person(acme, "alice@acme.example", "Alice Able", "100000000000000000001"),
        "bob": _person(acme, "bob@acme.example", "Bob Admin", "100000000000000000002", admin=True),
        "room": _person(
            acme, "c_room1@resource.calendar.google.com", "Everest (8)", "100000000000000000003", room=True
        ),
        "ivan": _person(initech, "ivan@initech.example", "Ivan Initech", "100000000000000000004"),
        "erin": _person(contoso, "erin@contoso.example", "Erin Example", "a0000000-0000-4000-8000-000000000001"),
        "max": _person(contoso, "max@contoso.example", "Max Mustermann", "a0000000-0000-4000-8000-000000000002"),
        "olga": _person(
            contoso, "olga@contoso.example", "Olga Admin", "a0000000-0000-4000-8000-000000000003", admin=True
        ),
        "thames": _person(
            contoso, "thames@contoso.example", "Thames (6)", "a0000000-0000-4000-8000-000000000004", room=True
        ),
    }
    calendars = {}
    for key, person in people.items():
        calendar_id = person.email if person.tenant.provider == Provider.GOOGLE else f"AAMkCal{key}AAA="
        calendars[key] = Calendar.objects.create(
            owner=person, calendar_id=calendar_id, name=person.email, is_primary=True, time_zone="Europe/London"
        )
    monday = monday_next_week()
    events = {
        "standup": services.event_create(
            calendar=calendars["alice"],
            values={
                "summary": "Daily stand-up",
                "start": monday + timedelta(hours=9, minutes=30),
                "end": monday + timedelta(hours=9, minutes=45),
                "time_zone": "Europe/London",
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
                "description": "Secret agenda",
                "attendees": [
                    {"email": "alice@acme.example", "response": "accepted"},
                    {"email": "bob@acme.example", "response": "accepted"},
                ],
            },
        ),
        "review": services.event_create(
            calendar=calendars["alice"],
            values={
                "summary": "Design review",
                "location": "Everest",
                "start": monday + timedelta(hours=14),
                "end": monday + timedelta(hours=15),
                "time_zone": "Europe/London",
            },
        ),
        "focus": services.event_create(
            calendar=calendars["alice"],
            values={
                "summary": "Focus time",
                "start": monday + timedelta(hours=16),
                "end": monday + timedelta(hours=17),
                "transparent": True,
                "show_as": Event.ShowAs.FREE,
            },
        ),
        "declined": services.event_create(
            calendar=calendars["bob"],
            values={
                "summary": "Optional talk",
                "start": monday + timedelta(days=1, hours=11),
                "end": monday + timedelta(days=1, hours=12),
                "attendees": [
                    {"email": "bob@acme.example", "response": "accepted"},
                    {"email": "alice@acme.example", "response": "declined"},
                ],
            },
        ),
        "erin_meeting": services.event_create(
            calendar=calendars["erin"],
            values={
                "summary": "Board prep (confidential)",
                "description": "Numbers",
                "start": monday + timedelta(hours=10),
                "end": monday + timedelta(hours=11),
                "time_zone": "Europe/Berlin",
                "attendees": [
                    {"email": "erin@contoso.example", "response": "accepted"},
                    {"email": "max@contoso.example", "response": "needsAction"},
                ],
            },
        ),
        "erin_tentative": services.event_create(
            calendar=calendars["erin"],
            values={
                "summary": "Maybe lunch",
                "start": monday + timedelta(hours=12),
                "end": monday + timedelta(hours=13),
                "show_as": Event.ShowAs.TENTATIVE,
            },
        ),
    }
    return World(
        tenants={"acme": acme, "initech": initech, "contoso": contoso},
        people=people,
        calendars=calendars,
        events=events,
        clients=clients,
        monday=monday,
    )


def mint(world: World, person: str, scopes: list[str], *, client: str | None = None, expired: bool = False) -> str:
    who = world.people[person]
    provider = who.tenant.provider
    value, token = tokens.issue(
        kind=Token.Kind.ACCESS,
        provider=provider,
        client=world.clients[client or ("google" if provider == Provider.GOOGLE else "microsoft")],
        person=who,
        scopes=scopes,
    )
    if expired:
        Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return value


def mint_refresh(world: World, person: str, scopes: list[str], *, client: str | None = None) -> str:
    who = world.people[person]
    provider = who.tenant.provider
    value, _ = tokens.issue(
        kind=Token.Kind.REFRESH,
        provider=provider,
        client=world.clients[client or ("google" if provider == Provider.GOOGLE else "microsoft")],
        person=who,
        scopes=scopes,
    )
    return value


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP endpoint that records what the sandbox pushes to it."""

    url: str
    requests: list[Received] = field(default_factory=list)
    refuse_validation: bool = False
    fail_next: int = 0  # answer this many of the next requests with 500
    event: threading.Event = field(default_factory=threading.Event)

    def notifications(self) -> list[Received]:
        return [r for r in self.requests if "validationToken" not in r.query]

    def json_bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.notifications() if r.body]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parsed = urlparse(self.path)
            query = parse_qs(parsed.query)
            got = Received("POST", parsed.path, query, {k: v for k, v in self.headers.items()}, body)
            target = state["receiver"]
            target.requests.append(got)
            target.event.set()
            if "validationToken" in query:
                answer = b"wrong" if target.refuse_validation else query["validationToken"][0].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            if target.fail_next > 0:
                target.fail_next -= 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()


@pytest.fixture
def google_service_account(world):
    return service_account_for(world.clients["google"])


#
# Conferencing: Acme's Zoom account and Webex site, Meet through Acme's Workspace, Teams in Contoso
#


@dataclass
class ConferencingWorld:
    zoom: MeetingAccount
    webex: MeetingAccount
    zoom_app: MeetingApp  # Acme's Server-to-Server app, with the seed's scopes
    zoom_narrow_app: MeetingApp  # the same account's app that lacks user:read:admin
    teams_client: OAuthClient
    teams_policy: TeamsAccessPolicy  # covers Erin, not Max
    service_account_key: dict


@pytest.fixture
def conferencing_world(world, google_service_account) -> ConferencingWorld:
    apps = conferencing_apps()
    people = (
        ("alice@acme.example", "Alice Able", False),
        ("bob@acme.example", "Bob Admin", True),
    )
    zoom = meeting_account(MeetingAccountSpec(Provider.ZOOM, "Acme", "sbxTestZoom", "", people))
    MeetingUser.objects.create(
        account=zoom, email="gone@acme.example", user_id="zoomGoneUser000000000", status=MeetingUser.Status.INACTIVE
    )
    webex = meeting_account(MeetingAccountSpec(Provider.WEBEX, "Acme", "sbxTestWebexOrg", "acme.webex.com", people))
    zoom_app = zoom_server_to_server_app(
        zoom,
        client_id="testS2Sclient",
        client_secret="test-s2s-secret",  # noqa: S106  # a sandbox app
        scopes=["meeting:write:admin", "user:read:admin"],
    )
    narrow = zoom_server_to_server_app(
        zoom,
        client_id="testS2Snarrow",
        client_secret="test-s2s-narrow",  # noqa: S106  # a sandbox app
        scopes=["meeting:write:admin"],
    )
    meet_delegation(world.tenants["acme"], google_service_account)
    policy = teams_policy(world.tenants["contoso"], apps["teams"], people=[world.people["erin"]])
    return ConferencingWorld(
        zoom=zoom,
        webex=webex,
        zoom_app=zoom_app,
        zoom_narrow_app=narrow,
        teams_client=apps["teams"],
        teams_policy=policy,
        service_account_key=google_service_account.key,
    )
