import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, ConnectionStatus
from calendars.choices import CalendarProvider, ProfileStatus
from calendars.models import CalendarService, CalendarServiceDomain
from calendars.selectors import calendar_service_for_email
from calendars.services import (
    calendar_profile_connect,
    calendar_service_authorize,
    calendar_service_connect,
    calendar_service_disconnect,
    calendar_service_update,
)
from conftest import proven
from core.choices import AccessMode

pytestmark = pytest.mark.django_db


def connect(organization, actor, *, domains, provider=CalendarProvider.GOOGLE, mode=AccessMode.READ_WRITE):
    return calendar_service_connect(
        organization=organization, provider=provider, access_mode=mode, domains=domains, connected_by=actor
    )


def test_an_organization_connects_several_services_from_different_providers(acme, acme_services):
    assert CalendarService.objects.filter(organization=acme).count() == 3
    assert {s.provider for s in acme_services.values()} == {"google", "microsoft"}
    assert calendar_service_for_email(email="erin@EMEA.acme.example") == acme_services[AccessMode.FREE_BUSY]


def test_a_service_waits_for_authorization_except_in_no_access(acme_services):
    assert acme_services[AccessMode.READ_WRITE].status == ConnectionStatus.PENDING
    assert acme_services[AccessMode.FREE_BUSY].status == ConnectionStatus.PENDING
    no_access = acme_services[AccessMode.NO_ACCESS]
    assert no_access.status == ConnectionStatus.ACTIVE
    assert no_access.connected_at is not None


def test_domains_are_normalised(acme, bob):
    service = connect(acme, bob, domains="  Acme.Example., ünicode.example\nacme.example")
    assert service.domain_names == ["acme.example", "xn--nicode-2ya.example"]


def test_a_domain_of_another_organization_is_refused_without_naming_it(globex, charlie, acme_services):
    with pytest.raises(ValidationError) as error:
        connect(globex, charlie, domains=["globex.example", "ACME.example"])
    message = error.value.message_dict["domains"][0]
    assert message == "acme.example is already in use by another calendar service. If it is yours, contact support."
    assert "Acme" not in str(error.value)
    assert not CalendarService.objects.filter(organization=globex).exists()  # nothing half-written
    assert not CalendarServiceDomain.objects.filter(domain="globex.example").exists()


def test_a_domain_already_served_in_the_same_organization_names_the_service(acme, bob, acme_services):
    with pytest.raises(ValidationError) as error:
        connect(acme, bob, domains=["legal.acme.example"], provider=CalendarProvider.MICROSOFT)
    assert (
        "already claimed by this organization's calendar service “Google Workspace (legal.acme.example)”"
        in error.value.message_dict["domains"][0]
    )


def test_the_database_itself_refuses_a_second_proven_live_claim(acme_services):
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarServiceDomain.objects.create(
            service=acme_services[AccessMode.FREE_BUSY], domain="acme.example", proven_at=timezone.now()
        )


def test_model_validation_explains_the_domain_constraint(acme_services):
    claim = CalendarServiceDomain(
        service=acme_services[AccessMode.FREE_BUSY], domain="acme.example", proven_at=timezone.now()
    )
    with pytest.raises(ValidationError, match="already in use by another calendar service"):
        claim.full_clean()


def test_invalid_domains_are_all_reported_at_once(acme, bob):
    with pytest.raises(ValidationError) as error:
        connect(acme, bob, domains="not a domain!, localhost, ok.example")
    assert error.value.message_dict["domains"] == [
        "“not” is not a valid domain name.",
        "“a” is not a valid domain name.",
        "“domain!” is not a valid domain name.",
        "“localhost” is not a valid domain name.",
    ]


def test_a_service_needs_a_domain(acme, bob):
    with pytest.raises(ValidationError, match="at least one domain"):
        connect(acme, bob, domains=[])


def test_disconnecting_releases_the_domains(acme, globex, bob, charlie, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_authorize(service=service, credentials={"private_key": "k"}, granted_scopes=["email"], actor=bob)
    calendar_service_disconnect(service=service, actor=bob)
    service.refresh_from_db()
    assert service.status == ConnectionStatus.DISCONNECTED
    assert service.credentials is None
    assert service.granted_scopes == []
    assert service.domain_names == ["acme.example"]  # kept for the record
    replacement = connect(globex, charlie, domains=["acme.example"])
    assert calendar_service_for_email(email="x@acme.example") is None  # not before it is proven
    proven(replacement)
    assert calendar_service_for_email(email="x@acme.example") == replacement


def test_disconnecting_a_service_disconnects_its_profiles(acme, bob, alice, acme_services):
    service = acme_services[AccessMode.FREE_BUSY]
    profile = calendar_profile_connect(
        user=alice,
        provider_name="ms_graph_free_busy",
        profile_name=alice.email,
        provider_account_id="oid-1",
        calendar_service=service,
    )
    calendar_service_disconnect(service=service, actor=bob)
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.DISCONNECTED


def test_changing_the_mode_asks_for_a_new_authorization(acme, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_authorize(service=service, credentials={"private_key": "k"}, granted_scopes=["email"], actor=bob)
    calendar_service_update(service=service, actor=bob, access_mode=AccessMode.FREE_BUSY)
    service.refresh_from_db()
    assert service.access_mode == AccessMode.FREE_BUSY
    assert service.status == ConnectionStatus.PENDING
    assert service.credentials is None
    event = AuditEvent.objects.filter(action="updated").get()
    assert event.changes == {"access_mode": ["read_write", "free_busy"]}


def test_moving_to_no_access_forgets_the_credentials_and_is_live(acme, bob, acme_services):
    service = acme_services[AccessMode.FREE_BUSY]
    calendar_service_authorize(service=service, credentials={"secret": "s"}, granted_scopes=[], actor=bob)
    calendar_service_update(service=service, actor=bob, access_mode=AccessMode.NO_ACCESS)
    service.refresh_from_db()
    assert service.credentials is None
    assert service.status == ConnectionStatus.ACTIVE


def test_domains_can_be_added_and_removed(acme, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_update(service=service, actor=bob, domains=["acme.example", "acme.co.example"])
    calendar_service_update(service=service, actor=bob, domains="acme.co.example")
    assert service.domain_names == ["acme.co.example"]
    assert calendar_service_for_email(email="x@acme.example") is None


def test_a_no_access_service_holds_no_credentials(acme, bob, acme_services):
    service = acme_services[AccessMode.NO_ACCESS]
    with pytest.raises(ValidationError, match="authorizes nothing"):
        calendar_service_authorize(service=service, credentials={"x": "y"}, granted_scopes=[], actor=bob)
    service.credentials = {"x": "y"}
    with pytest.raises(ValidationError, match="cannot hold provider credentials"):
        service.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        service.save()


def test_a_disconnected_service_cannot_be_changed_or_reauthorized(acme, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_disconnect(service=service, actor=bob)
    with pytest.raises(ValidationError, match="cannot be changed"):
        calendar_service_update(service=service, actor=bob, domains=["other.example"])
    with pytest.raises(ValidationError, match="cannot be authorized again"):
        calendar_service_authorize(service=service, credentials={"k": "v"}, granted_scopes=[], actor=bob)


def test_every_lifecycle_step_is_audited_without_secrets(acme, bob, acme_services):
    service = acme_services[AccessMode.READ_WRITE]
    calendar_service_authorize(
        service=service, credentials={"private_key": "TOP-SECRET"}, granted_scopes=["email"], actor=bob
    )
    calendar_service_disconnect(service=service, actor=bob)
    events = AuditEvent.objects.filter(target_id=str(service.pk), target_type__model="calendarservice")
    assert [e.action for e in events.order_by("id")] == ["connected", "authorized", "disconnected"]
    assert "TOP-SECRET" not in str(list(events.values_list("changes", flat=True)))
