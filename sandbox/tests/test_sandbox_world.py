"""The sandbox's own behaviour: recurrence, invitations and rooms, the control API, seeding and the
token command."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import Client, TestCase

from sandbox import services
from sandbox.models import Calendar, Event, Fault, Person, Provider, Tenant, Token
from sandbox.recurrence import occurrences
from sandbox.seed import HR_COMPANIES, TENANTS, sandbox_seed


def _calendar(tenant_name: str = "T", email: str = "p@t.example", zone: str = "Europe/London") -> Calendar:
    tenant = Tenant.objects.create(
        provider=Provider.GOOGLE, name=tenant_name, external_id=f"C0{tenant_name}", domains=[email.split("@")[1]]
    )
    person = Person.objects.create(tenant=tenant, email=email, name="P", external_id=f"1{len(email)}{tenant_name}")
    return Calendar.objects.create(owner=person, calendar_id=email, name=email, is_primary=True, time_zone=zone)


@pytest.mark.django_db
def test_a_series_keeps_its_local_time_across_daylight_saving():
    calendar = _calendar()
    start = datetime(2026, 10, 22, 8, 30, tzinfo=UTC)  # 09:30 in London (BST)
    series = services.event_create(
        calendar=calendar,
        values={
            "summary": "Stand-up",
            "start": start,
            "end": start + timedelta(minutes=15),
            "time_zone": "Europe/London",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=7"],
        },
    )
    found = occurrences([series], start, start + timedelta(days=8))
    assert [o.start.hour for o in found] == [8, 8, 8, 9, 9, 9, 9]  # UTC; clocks went back on 25 October
    assert {o.start.astimezone(series.start.tzinfo).minute for o in found} == {30}


@pytest.mark.django_db
def test_changed_and_cancelled_occurrences_replace_the_rule():
    calendar = _calendar()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    series = services.event_create(
        calendar=calendar,
        values={
            "summary": "Weekly",
            "start": start,
            "end": start + timedelta(hours=1),
            "time_zone": "UTC",
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE:20260309T090000Z"],
        },
    )
    services.occurrence_change(
        series=series, original_start=start + timedelta(weeks=2), values={"status": Event.Status.CANCELLED}
    )
    services.occurrence_change(
        series=series,
        original_start=start + timedelta(weeks=3),
        values={"start": start + timedelta(weeks=3, hours=5), "end": start + timedelta(weeks=3, hours=6)},
    )
    rows = Event.objects.filter(calendar=calendar).select_related("series")
    found = occurrences(rows, start, start + timedelta(weeks=5))
    assert [o.start for o in found] == [start, start + timedelta(weeks=3, hours=5)]


@pytest.mark.django_db
def test_invitations_reach_sandbox_attendees_and_rooms_answer_by_availability():
    calendar = _calendar("Acme", "alice@acme.example")
    tenant = calendar.owner.tenant
    room = Person.objects.create(
        tenant=tenant, email="room@acme.example", name="Room", external_id="9", kind=Person.Kind.ROOM
    )
    room_calendar = Calendar.objects.create(owner=room, calendar_id=room.email, name="Room", is_primary=True)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    first = services.event_create(
        calendar=calendar,
        values={
            "summary": "First",
            "start": start,
            "end": start + timedelta(hours=1),
            "attendees": [{"email": room.email, "resource": True}],
        },
    )
    second = services.event_create(
        calendar=calendar,
        values={
            "summary": "Clash",
            "start": start + timedelta(minutes=30),
            "end": start + timedelta(hours=2),
            "attendees": [{"email": room.email, "resource": True}],
        },
    )
    assert first.response_of(room.email) == "accepted"
    assert second.response_of(room.email) == "declined"
    copies = Event.objects.filter(calendar=room_calendar)
    assert {c.summary: c.status for c in copies} == {"First": "confirmed", "Clash": "cancelled"}
    services.event_cancel(event=first)
    assert Event.objects.get(calendar=room_calendar, summary="First").is_cancelled


@pytest.mark.django_db
def test_every_change_gets_a_higher_change_number():
    calendar = _calendar()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    event = services.event_create(calendar=calendar, values={"start": start, "end": start + timedelta(hours=1)})
    first = event.change_seq
    services.event_update(event=event, values={"summary": "Renamed"})
    assert event.change_seq > first
    assert event.sequence == 0
    services.event_update(event=event, values={"start": start + timedelta(hours=1), "end": start + timedelta(hours=2)})
    assert event.sequence == 1


class SeededSandboxTests(TestCase):
    """The seeded demo world, seeded once for the class (each test rolled back to it)."""

    @classmethod
    def setUpTestData(cls) -> None:
        sandbox_seed()

    def test_the_demo_world_has_two_workspaces_one_tenant_rooms_and_busy_weeks(self):
        sandbox_seed()  # again: idempotent
        assert Tenant.objects.count() == len(TENANTS) + len(HR_COMPANIES) == 4
        assert sorted(Tenant.objects.values_list("provider", flat=True)) == [
            "google",
            "google",
            "microsoft",
            "successfactors",
        ]
        assert Person.objects.filter(kind=Person.Kind.ROOM).count() == 5
        now = datetime.now(UTC)
        for person in Person.objects.filter(kind=Person.Kind.USER).exclude(email__startswith="nina@"):
            rows = Event.objects.filter(calendar__owner=person).select_related("series")
            coming = [o for o in occurrences(rows, now, now + timedelta(weeks=4)) if not o.event.transparent]
            assert len(coming) >= 15, person.email  # recurring stand-ups alone give twenty
            assert any(o.series is not None for o in coming), person.email
        assert Event.objects.filter(all_day=True).exists()
        assert Event.objects.filter(status=Event.Status.TENTATIVE).exists()
        assert any(a.get("response") == "declined" for e in Event.objects.all() for a in e.attendees)
        assert any(
            a.get("resource") and a.get("response") == "accepted" for e in Event.objects.all() for a in e.attendees
        )

    def test_the_token_command_mints_a_token_with_the_base_urls(self):
        out = io.StringIO()
        call_command(
            "sandbox_token",
            "--user",
            "erin@emea.acme.example",
            "--scope",
            "Calendars.ReadBasic User.Read",
            "--json",
            stdout=out,
        )
        minted = json.loads(out.getvalue())
        assert minted["provider"] == "microsoft"
        assert minted["scopes"] == ["Calendars.ReadBasic", "User.Read"]
        assert minted["endpoints"]["microsoft_graph"].endswith("/sandbox/microsoft/graph/v1.0")
        assert minted["endpoints"]["microsoft_authority"].startswith("https://login.microsoftonline.com/")
        assert Token.objects.filter(kind=Token.Kind.ACCESS, person__email="erin@emea.acme.example").exists()

    def test_the_token_command_checks_domain_wide_delegation(self):
        with pytest.raises(CommandError, match="not delegated"):
            call_command(
                "sandbox_token",
                "--user",
                "alice@acme.example",
                "--service-account",
                "--scope",
                "https://www.googleapis.com/auth/drive",
                stdout=io.StringIO(),
            )
        out = io.StringIO()
        call_command(
            "sandbox_token",
            "--user",
            "alice@acme.example",
            "--service-account",
            "--scope",
            "https://www.googleapis.com/auth/calendar",
            stdout=out,
        )
        assert "Access token for alice@acme.example" in out.getvalue()


@pytest.mark.django_db
def test_the_control_api_needs_its_token_and_switches_faults(settings):
    client = Client()
    assert client.get("/sandbox/_control/faults").status_code == 404
    headers = {"HTTP_X_SANDBOX_CONTROL_TOKEN": settings.SANDBOX_CONTROL_TOKEN}
    created = client.post(
        "/sandbox/_control/faults",
        json.dumps(
            {
                "provider": "google",
                "operation": "calendar.events.list",
                "kind": "rate_limited",
                "times": 2,
                "retry_after": 3,
            }
        ),
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    assert created.json()["active"] is True
    bad = client.post(
        "/sandbox/_control/faults",
        json.dumps({"provider": "yahoo", "kind": "meltdown"}),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
    assert len(client.get("/sandbox/_control/faults", **headers).json()["faults"]) == 1
    assert client.delete("/sandbox/_control/faults", **headers).json() == {"cleared": 1}
    assert not Fault.objects.filter(active=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_control_api_expires_sync_state_and_revokes_grants(world, settings):
    headers = {"X-Sandbox-Control-Token": settings.SANDBOX_CONTROL_TOKEN}
    response = requests.post(
        f"{settings.SANDBOX_URL}/_control/calendars/alice@acme.example/expire-sync", headers=headers, timeout=10
    )
    assert response.status_code == 200
    assert Calendar.objects.get(calendar_id="alice@acme.example").sync_epoch == 1
    from sandbox.testing import mint

    mint(world, "alice", ["email"])
    response = requests.post(
        f"{settings.SANDBOX_URL}/_control/people/alice@acme.example/revoke", headers=headers, timeout=10
    )
    assert response.json() == {"revoked": 1}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/sandbox/google/oauth2/token", "/sandbox/microsoft/login/common/oauth2/v2.0/token"])
def test_token_endpoints_answer_a_garbled_client_authentication_without_a_server_error(path):
    response = Client().post(path, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION="Basic %%%not-base64")
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client", "unauthorized_client")
