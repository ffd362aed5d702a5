"""Organizational connections end to end: an IT admin authorizes a calendar service from the admin
console (a Google service-account key with domain-wide delegation, or Microsoft admin consent), the
system verifies the grant covers exactly what the mode needs, and the people of the service's domains
get profiles without consenting themselves. The sandbox providers answer over real HTTP."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django_q.models import Schedule

from accounts.models import AuditEvent, ConnectionStatus, Organization, Role
from accounts.services import membership_set, organization_create
from calendars.choices import CalendarProvider, ProfileProviderName, ProfileStatus
from calendars.models import BusyPeriod, CalendarProfile, CalendarService, ProviderWatch
from calendars.scopes import Flow, requested_scopes
from calendars.services import calendar_service_connect, calendar_service_person_known
from calendars.tasks import profile_first_sync
from conftest import make_user
from core.choices import AccessMode
from sandbox.models import AdminConsent, DelegationGrant, Fault, Provider
from tests.e2e import hidden_fields

pytestmark = pytest.mark.django_db(transaction=True)

GOOGLE = "https://www.googleapis.com/auth/"


@pytest.fixture
def acme_people(world, acme, bob) -> dict[str, object]:
    """Acme's accounts here, matching the sandbox's Acme Workspace; Ivan is another company's."""
    return {
        "bob": bob,
        "alice": make_user("alice@acme.example", "Alice"),
        "ivan": make_user("ivan@initech.example", "Ivan"),
    }


def google_service(acme, bob, mode: str = AccessMode.READ_WRITE) -> CalendarService:
    return calendar_service_connect(
        organization=acme,
        provider=CalendarProvider.GOOGLE,
        access_mode=mode,
        domains=["acme.example"],
        connected_by=bob,
    )


def delegate(world, account, scopes: list[str]) -> None:
    """What the Workspace admin does in the Google Admin console: allow the key's client id these scopes."""
    DelegationGrant.objects.update_or_create(
        tenant=world.tenants["acme"], service_account=account, defaults={"scopes": scopes}
    )


def delegate_mode(world, account, mode: str) -> None:
    """Exactly what the mode needs, as the key page lists it."""
    delegate(world, account, requested_scopes(Flow.ORGANIZATION_CALENDAR, provider="google", access_mode=mode))


def upload_key(client, service: CalendarService, account, test_user: str = "bob@acme.example"):
    key_file = SimpleUploadedFile("key.json", json.dumps(account.key).encode(), content_type="application/json")
    return client.post(
        reverse("admin:calendars_calendarservice_authorize_google", args=[service.pk]),
        {"key_file": key_file, "test_user": test_user},
    )


#
# Google Workspace: a service account with domain-wide delegation
#


def test_the_key_page_lists_the_scopes_to_delegate(client_for, acme_people, acme, bob):
    service = google_service(acme, bob, AccessMode.FREE_BUSY)
    page = client_for(bob).get(reverse("admin:calendars_calendarservice_authorize_google", args=[service.pk]))
    text = page.content.decode()
    assert f"{GOOGLE}calendar.events.freebusy" in text
    assert f"{GOOGLE}calendar.calendarlist.readonly" in text
    assert f"<code>{GOOGLE}calendar</code>" not in text


def test_a_verified_delegation_connects_the_service_and_provisions_its_people(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob)
    wanted = requested_scopes(Flow.ORGANIZATION_CALENDAR, provider="google", access_mode=AccessMode.READ_WRITE)
    delegate(world, google_service_account, wanted)

    response = upload_key(client_for(bob), service, google_service_account)

    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE
    assert service.granted_scopes == wanted
    # The provider tenant is the Workspace customer, not the service account that acts in it.
    assert service.external_id == world.tenants["acme"].external_id
    assert service.external_id.startswith("C") and service.external_id != google_service_account.key["client_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM calendars_calendarservice WHERE id = %s", [service.pk])
        stored = str(cursor.fetchone()[0])
    assert "PRIVATE KEY" not in stored
    assert google_service_account.client_email not in stored
    assert AuditEvent.objects.filter(action="authorized", target_id=str(service.pk), actor=bob).exists()

    profiles = {p.user.email: p for p in CalendarProfile.objects.select_related("user")}
    assert set(profiles) == {"alice@acme.example", "bob@acme.example"}  # not Ivan of Initech
    alice = profiles["alice@acme.example"]
    assert (alice.provider_name, alice.provider_service) == (ProfileProviderName.GOOGLE, "gsuite")
    assert alice.calendar_service == service and alice.organization == acme
    assert alice.credentials is None  # the organization's grant is used, never a copy per person
    assert [c.provider_calendar_id for c in alice.calendars.all()] == ["alice@acme.example"]
    # Synced through the service account acting for her, and subscribed to her calendar's changes.
    assert BusyPeriod.objects.filter(calendar__profile=alice).count() >= 5
    assert ProviderWatch.objects.filter(profile=alice, stopped_at__isnull=True).count() == 1


def test_an_unknown_test_user_is_named_as_such_not_blamed_on_scopes(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob, AccessMode.FREE_BUSY)
    delegate_mode(world, google_service_account, AccessMode.FREE_BUSY)

    response = upload_key(client_for(bob), service, google_service_account, test_user="nobody@acme.example")

    assert response.status_code == 200
    text = response.content.decode()
    assert "Google Workspace has no user nobody@acme.example" in text
    assert "Invalid email or User ID" in text  # Google's own words
    assert "Missing:" not in text and "has not delegated" not in text
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING and service.credentials is None


def test_the_test_user_is_not_prefilled_with_an_admin_outside_the_services_domains(client_for, acme, bob):
    page_url = "admin:calendars_calendarservice_authorize_google"
    outside = calendar_service_connect(
        organization=acme,
        provider=CalendarProvider.GOOGLE,
        access_mode=AccessMode.FREE_BUSY,
        domains=["legal.acme.example"],
        connected_by=bob,
    )
    text = client_for(bob).get(reverse(page_url, args=[outside.pk])).content.decode()
    assert 'value="bob@acme.example"' not in text
    assert 'placeholder="admin@legal.acme.example"' in text
    inside = google_service(acme, bob, AccessMode.READ_WRITE)
    text = client_for(bob).get(reverse(page_url, args=[inside.pk])).content.decode()
    assert 'value="bob@acme.example"' in text  # Bob is a user of acme.example: a sensible default


def test_a_delegation_missing_a_scope_is_refused_naming_it(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob)
    wanted = requested_scopes(Flow.ORGANIZATION_CALENDAR, provider="google", access_mode=AccessMode.READ_WRITE)
    delegate(world, google_service_account, [s for s in wanted if s != f"{GOOGLE}admin.directory.resource.calendar"])

    response = upload_key(client_for(bob), service, google_service_account)

    assert response.status_code == 200
    text = response.content.decode()
    assert f"Missing: {GOOGLE}admin.directory.resource.calendar" in text
    assert google_service_account.key["client_id"] in text  # what to paste into the Admin console
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING
    assert service.credentials is None
    assert not CalendarProfile.objects.exists()


def test_a_free_busy_delegation_does_not_need_the_full_calendar_scope(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob, AccessMode.FREE_BUSY)
    delegate_mode(world, google_service_account, AccessMode.FREE_BUSY)
    assert upload_key(client_for(bob), service, google_service_account).status_code == 302
    alice = CalendarProfile.objects.get(user=acme_people["alice"])
    assert alice.provider_name == ProfileProviderName.GOOGLE_FREE_BUSY
    assert alice.access_mode == AccessMode.FREE_BUSY
    assert alice.calendars.count() == 1


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (b"not json", "The file is not JSON"),
        (b'{"type": "authorized_user"}', "This is not a Google service account key file"),
    ],
)
def test_a_wrong_file_gets_a_readable_error(world, client_for, acme_people, acme, bob, contents, message):
    service = google_service(acme, bob)
    response = client_for(bob).post(
        reverse("admin:calendars_calendarservice_authorize_google", args=[service.pk]),
        {"key_file": SimpleUploadedFile("key.json", contents), "test_user": "alice@acme.example"},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING


def test_the_delegation_is_tested_with_a_user_of_the_service(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob)
    response = upload_key(client_for(bob), service, google_service_account, test_user="ivan@initech.example")
    assert "Test the delegation with a user of acme.example" in response.content.decode()


def test_an_admin_of_another_organization_cannot_authorize_the_service(
    world, google_service_account, client_for, acme_people, acme, bob, charlie
):
    service = google_service(acme, bob)
    delegate_mode(world, google_service_account, AccessMode.READ_WRITE)
    outsider = client_for(charlie)
    assert outsider.get(reverse("admin:calendars_calendarservice_authorize_google", args=[service.pk])).status_code in (
        302,
        404,
    )
    assert upload_key(outsider, service, google_service_account).status_code in (302, 404)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING


#
# Microsoft 365: admin consent
#


@pytest.fixture
def contoso(world) -> dict[str, object]:
    organization = organization_create(name="Contoso", actor=None)
    olga = make_user("olga@contoso.example", "Olga")
    membership_set(organization=organization, user=olga, role=Role.OWNER, actor=None)
    return {
        "organization": organization,
        "olga": olga,
        "erin": make_user("erin@contoso.example", "Erin"),
        "max": make_user("max@contoso.example", "Max"),
    }


def microsoft_service(organization: Organization, admin, mode: str) -> CalendarService:
    return calendar_service_connect(
        organization=organization,
        provider=CalendarProvider.MICROSOFT,
        access_mode=mode,
        domains=["contoso.example"],
        connected_by=admin,
    )


def admin_consent(consent_url: str, *, admin: str = "olga@contoso.example", decision: str = "accept") -> str:
    """The tenant admin at Microsoft's admin-consent page; returns where Microsoft sends them back."""
    browser = requests.Session()
    page = browser.get(consent_url, timeout=10)
    page = browser.post(page.url, data={**hidden_fields(page.text), "account": admin}, timeout=10)
    fields = hidden_fields(page.text)
    answer = browser.post(page.url, data={**fields, "decision": decision}, timeout=10, allow_redirects=False)
    return answer.headers["Location"]


def consent_round_trip(client, service: CalendarService, **kwargs: str):
    start = client.get(reverse("admin:calendars_calendarservice_authorize_microsoft", args=[service.pk]))
    assert start.status_code == 302
    callback = admin_consent(start["Location"], **kwargs)
    parsed = urlparse(callback)
    assert parsed.path == reverse("admin:calendars_microsoft_callback")
    return client.get(f"{parsed.path}?{parsed.query}")


def test_admin_consent_connects_a_free_busy_service_with_the_least_privileged_app(client_for, contoso, world):
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    client = client_for(contoso["olga"])

    start = client.get(reverse("admin:calendars_calendarservice_authorize_microsoft", args=[service.pk]))
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["client_id"] == [world.clients["microsoft_free_busy"].client_id]
    assert query["scope"] == ["https://graph.microsoft.com/.default"]

    response = consent_round_trip(client, service)

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Admin consent verified: the service is connected."
    ]
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE
    assert service.external_id == world.tenants["contoso"].external_id
    assert "Calendars.ReadBasic.All" in service.granted_scopes
    assert "Calendars.ReadWrite.All" not in service.granted_scopes
    profiles = {p.user.email: p for p in CalendarProfile.objects.select_related("user")}
    assert set(profiles) == {"olga@contoso.example", "erin@contoso.example", "max@contoso.example"}
    erin = profiles["erin@contoso.example"]
    assert erin.provider_name == ProfileProviderName.MS_GRAPH_FREE_BUSY
    assert erin.status == ProfileStatus.CONNECTED
    assert [c.provider_calendar_id for c in erin.calendars.all()] == ["AAMkCalerinAAA="]
    assert BusyPeriod.objects.filter(calendar__profile=erin).count() == 2  # with the app-only grant
    assert ProviderWatch.objects.filter(profile=erin, stopped_at__isnull=True, calendar__isnull=True).count() == 1


def test_admin_consent_for_read_write_uses_the_read_write_app(client_for, contoso, world):
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.READ_WRITE)
    response = consent_round_trip(client_for(contoso["olga"]), service)
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE
    assert AdminConsent.objects.get().client == world.clients["microsoft"]
    assert CalendarProfile.objects.get(user=contoso["erin"]).provider_service == "office365"


def test_a_declined_admin_consent_leaves_the_service_waiting(client_for, contoso):
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    response = consent_round_trip(client_for(contoso["olga"]), service, decision="cancel")
    assert "the administrator did not consent (consent_required)" in " ".join(
        str(m) for m in get_messages(response.wsgi_request)
    )
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING
    assert not CalendarProfile.objects.exists()


def test_a_consent_without_every_permission_is_refused_naming_the_missing_one(client_for, contoso, world):
    app = world.clients["microsoft_free_busy"]
    app.application_permissions = [p for p in app.application_permissions if p != "User.Read.All"]
    app.save()
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    response = consent_round_trip(client_for(contoso["olga"]), service)
    messages = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Missing: User.Read.All" in messages
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING
    assert service.credentials is None


def test_the_consent_callback_belongs_to_the_admin_who_started_it(client_for, contoso, world, acme, bob):
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    start = client_for(contoso["olga"]).get(
        reverse("admin:calendars_calendarservice_authorize_microsoft", args=[service.pk])
    )
    callback = urlparse(admin_consent(start["Location"]))
    # Someone else's session (here another organization's admin) cannot finish Olga's consent.
    assert client_for(bob).get(f"{callback.path}?{callback.query}").status_code == 403
    forged = re.sub(r"state=[^&]+", "state=forged", callback.query)
    assert client_for(contoso["olga"]).get(f"{callback.path}?{forged}").status_code == 403
    # The tenant comes back in the query; one Microsoft does not know is refused, readably.
    unknown = re.sub(r"tenant=[^&]+", "tenant=not-a-tenant", callback.query)
    response = client_for(contoso["olga"]).get(f"{callback.path}?{unknown}")
    assert response.status_code == 302
    assert "Microsoft does not know the tenant “not-a-tenant”" in " ".join(
        str(m) for m in get_messages(response.wsgi_request)
    )
    service.refresh_from_db()
    assert service.status == ConnectionStatus.PENDING


#
# Switching a connected service's mode
#


def test_switching_mode_drops_the_grant_and_waits_for_the_new_one(
    world, google_service_account, client_for, acme_people, acme, bob
):
    service = google_service(acme, bob)
    delegate_mode(world, google_service_account, AccessMode.READ_WRITE)
    client = client_for(bob)
    assert upload_key(client, service, google_service_account).status_code == 302

    page = client.get(reverse("admin:calendars_calendarservice_access_mode", args=[service.pk])).content.decode()
    assert "<strong>2</strong> connected people of acme.example" in re.sub(r"\s+", " ", page)
    assert "Drops the provider authorization." in page

    response = client.post(
        reverse("admin:calendars_calendarservice_access_mode", args=[service.pk]),
        {"access_mode": AccessMode.FREE_BUSY, "confirm": "on"},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.access_mode == AccessMode.FREE_BUSY
    assert service.status == ConnectionStatus.PENDING and service.credentials is None
    history = AuditEvent.objects.filter(target_id=str(service.pk), action="updated").latest("pk")
    assert (history.actor, history.changes) == (bob, {"access_mode": ["read_write", "free_busy"]})
    alice = CalendarProfile.objects.get(user=acme_people["alice"])
    assert (alice.provider_name, alice.status) == (ProfileProviderName.GOOGLE_FREE_BUSY, ProfileStatus.RELINK_REQUIRED)

    # The Workspace admin narrows the delegation; the same key is uploaded again for the new mode.
    delegate_mode(world, google_service_account, AccessMode.FREE_BUSY)
    assert upload_key(client, service, google_service_account).status_code == 302
    alice.refresh_from_db()
    assert (alice.provider_name, alice.status) == (ProfileProviderName.GOOGLE_FREE_BUSY, ProfileStatus.CONNECTED)
    assert CalendarProfile.objects.filter(user=acme_people["alice"]).count() == 1  # the same profile, relinked


def test_a_provider_outage_during_the_first_sync_defers_it_and_loses_nothing(
    world, google_service_account, client_for, acme_people, acme, bob
):
    outage = Fault.objects.create(
        provider=Provider.GOOGLE,
        operation="calendar.calendarList.list",
        kind=Fault.Kind.UNAVAILABLE,
        times=0,
        retry_after=0,
    )
    service = google_service(acme, bob)
    delegate_mode(world, google_service_account, AccessMode.READ_WRITE)
    assert upload_key(client_for(bob), service, google_service_account).status_code == 302

    alice = CalendarProfile.objects.get(user=acme_people["alice"])
    assert alice.status == ProfileStatus.CONNECTED and not alice.calendars.exists()
    retry = Schedule.objects.get(func="calendars.tasks.profile_first_sync", args=f"({alice.pk}, 2)")
    assert retry.schedule_type == Schedule.ONCE

    outage.delete()
    profile_first_sync(alice.pk, 2)  # what the worker runs when the retry is due
    assert [c.provider_calendar_id for c in alice.calendars.all()] == ["alice@acme.example"]


def test_provisioning_leaves_no_relink_waiting_for_an_address_the_workspace_does_not_know(
    world, google_service_account, client_for, acme_people, acme, bob
):
    """Zoe signed up here by herself with a proven acme.example address before Acme connected: the
    Workspace has no user Zoe. Her provisioned profile goes at its first sync (recorded with Google's
    reason), instead of waiting for a relink nobody can do, and Acme's service stays connected."""
    zoe = make_user("zoe@acme.example", "Zoe")
    service = google_service(acme, bob)
    delegate_mode(world, google_service_account, AccessMode.READ_WRITE)

    assert upload_key(client_for(bob), service, google_service_account).status_code == 302

    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE, service.last_error
    assert not CalendarProfile.objects.filter(status=ProfileStatus.RELINK_REQUIRED).exists()
    assert not CalendarProfile.objects.filter(user=zoe).exists()
    record = AuditEvent.objects.filter(action="profile_not_provisioned", target_id=str(service.pk)).first()
    assert record is not None and "no user zoe@acme.example" in record.changes["reason"]
    assert CalendarProfile.objects.get(user=acme_people["alice"]).status == ProfileStatus.CONNECTED


def test_the_organizations_grant_tells_its_providers_users_from_addresses_it_does_not_know(
    client_for, contoso, world, google_service_account, acme_people, acme, bob
):
    """What the consent asks before it gives someone a profile through their organization: Graph's 404
    for a mailbox the tenant does not have, Google's "Invalid email or User ID"."""
    microsoft = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    assert consent_round_trip(client_for(contoso["olga"]), microsoft).status_code == 302
    microsoft.refresh_from_db()
    assert calendar_service_person_known(service=microsoft, email="erin@contoso.example")
    assert not calendar_service_person_known(service=microsoft, email="zed@contoso.example")

    google = google_service(acme, bob, AccessMode.FREE_BUSY)
    delegate_mode(world, google_service_account, AccessMode.FREE_BUSY)
    assert upload_key(client_for(bob), google, google_service_account).status_code == 302
    google.refresh_from_db()
    assert calendar_service_person_known(service=google, email="alice@acme.example")
    assert not calendar_service_person_known(service=google, email="zoe@acme.example")
