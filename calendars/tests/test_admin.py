"""The calendar-service pages of the IT-admin console."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent, ConnectionStatus
from calendars.choices import CalendarProvider
from calendars.models import CalendarService
from calendars.services import calendar_service_authorize, calendar_service_connect
from core.choices import AccessMode

pytestmark = pytest.mark.django_db

GOOGLE = "https://www.googleapis.com/auth/"


def change_page(client, service) -> str:
    response = client.get(reverse("admin:calendars_calendarservice_change", args=[service.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_free_busy_panel_shows_least_privilege_scopes_and_what_is_kept(client_for, bob, acme_services):
    page = change_page(client_for(bob), acme_services[AccessMode.FREE_BUSY])
    assert "What data is shared" in page
    assert "Calendars.ReadBasic.All" in page
    assert "Calendars.ReadWrite" not in page
    assert "never titles, descriptions, locations or attendees" in page
    assert "Calendar invitations emailed to the organizer and every attendee." in page
    assert 'badge-free-busy">Free/Busy<' in page
    assert 'badge-waiting">Awaiting authorization<' in page


def test_the_read_write_panel_lists_calendar_access_in_plain_language(client_for, bob, acme_services):
    page = change_page(client_for(bob), acme_services[AccessMode.READ_WRITE])
    assert f"<code>{GOOGLE}calendar</code>" in page
    assert "See, create, change and delete events in all your calendars" in page
    assert "Written into the organizer&#x27;s calendar by the provider" in page


def test_the_no_access_panel_says_nothing_is_requested(client_for, bob, acme_services):
    page = change_page(client_for(bob), acme_services[AccessMode.NO_ACCESS])
    assert "No provider scopes: this connection gives no access to the provider." in page
    assert "Nothing from the calendar service." in page
    assert 'badge-ok">Connected<' in page


def test_the_panel_shows_which_scopes_the_provider_granted(client_for, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_authorize(
        service=service,
        credentials={"k": "v"},
        actor=bob,
        granted_scopes=["email", "profile", f"{GOOGLE}calendar", f"{GOOGLE}drive"],
    )
    page = change_page(client_for(bob), service)
    assert page.count('badge-ok">granted<') == 3
    assert page.count('badge-alert">not granted<') == 3  # the directory scopes were not delegated
    assert f"also granted scopes this system did not ask for: <code>{GOOGLE}drive</code>" in page


def test_the_page_shows_the_activity(client_for, bob, acme_services):
    page = change_page(client_for(bob), acme_services[AccessMode.READ_WRITE])
    assert "connected" in page
    assert "bob@acme.example" in page


def test_an_admin_connects_a_service_from_the_console(client_for, bob, acme):
    response = client_for(bob).post(
        reverse("admin:calendars_calendarservice_add"),
        {
            "organization": acme.pk,
            "provider": CalendarProvider.MICROSOFT,
            "access_mode": AccessMode.FREE_BUSY,
            "domains": "apac.acme.example\nAcme.jp.example",
        },
    )
    assert response.status_code == 302
    service = CalendarService.objects.get()
    assert service.domain_names == ["acme.jp.example", "apac.acme.example"]
    assert service.connected_by == bob
    assert service.status == ConnectionStatus.PENDING


def test_a_taken_domain_is_explained_on_the_form(client_for, charlie, globex, acme_services):
    response = client_for(charlie).post(
        reverse("admin:calendars_calendarservice_add"),
        {
            "organization": globex.pk,
            "provider": CalendarProvider.GOOGLE,
            "access_mode": AccessMode.READ_WRITE,
            "domains": "acme.example",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["domains"] == [
        "acme.example is already in use by another calendar service. If it is yours, contact support."
    ]
    assert not CalendarService.objects.filter(organization=globex).exists()


def test_an_invalid_domain_is_explained_on_the_form(client_for, bob, acme):
    response = client_for(bob).post(
        reverse("admin:calendars_calendarservice_add"),
        {
            "organization": acme.pk,
            "provider": CalendarProvider.GOOGLE,
            "access_mode": AccessMode.READ_WRITE,
            "domains": "acme..example",
        },
    )
    assert response.context["adminform"].form.errors["domains"] == ["“acme..example” is not a valid domain name."]


def test_the_mode_changes_only_on_its_own_page_after_confirmation(client_for, bob, acme, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_authorize(service=service, credentials={"k": "v"}, granted_scopes=["email"], actor=bob)
    client = client_for(bob)
    client.post(
        reverse("admin:calendars_calendarservice_change", args=[service.pk]),
        {"access_mode": AccessMode.FREE_BUSY, "domains": "acme.example"},
    )
    service.refresh_from_db()
    assert service.access_mode == AccessMode.READ_WRITE  # not editable on the change form
    url = reverse("admin:calendars_calendarservice_access_mode", args=[service.pk])
    page = client.get(url).content.decode()
    assert "Drops the provider authorization" in page and "Leaves events already booked as they are" in page
    unconfirmed = client.post(url, {"access_mode": AccessMode.FREE_BUSY})
    assert unconfirmed.status_code == 200
    service.refresh_from_db()
    assert service.access_mode == AccessMode.READ_WRITE
    response = client.post(url, {"access_mode": AccessMode.FREE_BUSY, "confirm": "on"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.access_mode == AccessMode.FREE_BUSY and service.credentials is None
    assert service.status == "pending"
    assert AuditEvent.objects.filter(action="updated", changes__access_mode=["read_write", "free_busy"]).exists()


def test_the_mode_page_is_not_reachable_by_an_outsider(client_for, charlie, globex, acme_services):
    url = reverse("admin:calendars_calendarservice_access_mode", args=[acme_services[AccessMode.READ_WRITE].pk])
    assert client_for(charlie).get(url).status_code == 404


def test_the_disconnect_action_releases_the_domains(client_for, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    client_for(bob).post(
        reverse("admin:calendars_calendarservice_changelist"),
        {"action": "disconnect_selected", "_selected_action": [service.pk]},
    )
    service.refresh_from_db()
    assert service.status == ConnectionStatus.DISCONNECTED
    assert service.domain_claims.get().released_at is not None


def test_admins_cannot_delete_connections(client_for, bob, root, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    url = reverse("admin:calendars_calendarservice_delete", args=[service.pk])
    assert client_for(bob).get(url).status_code == 403
    assert client_for(root).get(url).status_code == 200


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url_name", ["admin:calendars_calendarservice_changelist", "admin:accounts_organization_changelist"]
)
def test_list_pages_cost_the_same_for_3_or_30_services(client_for, bob, acme, acme_services, url_name):
    client, url = client_for(bob), reverse(url_name)
    with_three = count_queries(client, url)
    for index in range(27):
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.FREE_BUSY,
            domains=[f"d{index}.acme.example"],
            connected_by=bob,
        )
    assert count_queries(client, url) == with_three
    assert with_three <= 12


def test_the_organization_page_costs_the_same_for_3_or_30_services(client_for, bob, acme, acme_services):
    client, url = client_for(bob), reverse("admin:accounts_organization_change", args=[acme.pk])
    with_three = count_queries(client, url)
    for index in range(27):
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.FREE_BUSY,
            domains=[f"d{index}.acme.example"],
            connected_by=bob,
        )
    assert count_queries(client, url) == with_three
