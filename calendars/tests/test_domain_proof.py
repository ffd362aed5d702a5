"""Finding 2: a domain is proven before a calendar service reserves it: by the provider (the Workspace
customer's domains through the Admin SDK, the Microsoft tenant's verified domains) or by a DNS TXT
record. An unproven claim blocks nobody and serves nobody, and no error tells one customer about
another."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile, CalendarServiceDomain, DomainProof
from calendars.selectors import calendar_service_for_email
from calendars.services import (
    calendar_domain_check_dns,
    calendar_domain_vouch,
    calendar_service_connect,
    calendar_service_prove_domains_by_provider,
    calendar_service_provision,
)
from calendars.tests.test_organization_connect import (
    consent_round_trip,
    contoso,  # noqa: F401  # a fixture
    delegate_mode,
    google_service,
    microsoft_service,
    upload_key,
)
from conftest import make_user
from core.choices import AccessMode


def claim_of(service, domain: str) -> CalendarServiceDomain:
    return service.domain_claims.get(domain=domain)


def squat(globex, charlie, domain: str = "acme.example"):
    """Globex's owner claims a domain that is not theirs, for a No Access service (live at once)."""
    return calendar_service_connect(
        organization=globex,
        provider=CalendarProvider.GOOGLE,
        access_mode=AccessMode.NO_ACCESS,
        domains=[domain],
        connected_by=charlie,
    )


@pytest.mark.django_db
def test_an_unproven_claim_neither_blocks_the_owner_nor_serves_anyone(acme, bob, globex, charlie, dns_zone):
    squatter = squat(globex, charlie)
    alice = make_user("alice@acme.example", "Alice")
    assert calendar_service_for_email(email=alice.email) is None
    assert calendar_service_provision(service=squatter) == []  # Acme's people are not Globex's to serve
    owner = google_service(acme, bob, mode=AccessMode.NO_ACCESS)  # the real owner is not blocked
    claim = claim_of(owner, "acme.example")
    dns_zone.add("TXT", "acme.example", claim.dns_record)
    calendar_domain_check_dns(claim=claim, actor=bob)
    assert claim_of(owner, "acme.example").proof == DomainProof.DNS
    assert calendar_service_for_email(email=alice.email) == owner
    assert {p.user for p in calendar_service_provision(service=owner)} == {alice, bob}
    assert not claim_of(squatter, "acme.example").is_proven


@pytest.mark.django_db
def test_proving_a_domain_someone_else_proved_names_nobody(acme, bob, globex, charlie, dns_zone):
    squatter = squat(globex, charlie)
    owner = google_service(acme, bob, mode=AccessMode.NO_ACCESS)
    dns_zone.add("TXT", "acme.example", claim_of(owner, "acme.example").dns_record)
    calendar_domain_check_dns(claim=claim_of(owner, "acme.example"), actor=bob)
    with pytest.raises(ValidationError) as refusal:
        squat(globex, charlie)  # a new claim on a proven domain is refused, naming nobody
    assert "Acme" not in str(refusal.value)
    dns_zone.add("TXT", "acme.example", claim_of(squatter, "acme.example").dns_record)
    with pytest.raises(ValidationError) as refusal:
        calendar_domain_check_dns(claim=claim_of(squatter, "acme.example"), actor=charlie)
    text = " ".join(refusal.value.messages)
    assert "already in use by another calendar service" in text
    for secret in ("Acme", "acme.example ", bob.email, owner.public_id, str(owner)):
        assert secret not in text.replace("acme.example is", "")


@pytest.mark.django_db
def test_a_missing_or_wrong_txt_record_proves_nothing(acme, bob, dns_zone):
    owner = google_service(acme, bob, mode=AccessMode.NO_ACCESS)
    dns_zone.add("TXT", "acme.example", "scheduling-domain-verification=not-the-token")
    with pytest.raises(ValidationError, match="has no TXT record"):
        calendar_domain_check_dns(claim=claim_of(owner, "acme.example"), actor=bob)
    assert not claim_of(owner, "acme.example").is_proven


@pytest.mark.django_db
def test_the_console_shows_the_record_to_publish_and_checks_it(client_for, acme, bob, dns_zone):
    owner = google_service(acme, bob, mode=AccessMode.NO_ACCESS)
    claim = claim_of(owner, "acme.example")
    client = client_for(bob)
    page = client.get(reverse("admin:calendars_calendarservice_change", args=[owner.pk])).content.decode()
    assert claim.dns_record in page and "Not proven" in page
    dns_zone.add("TXT", "acme.example", claim.dns_record)
    client.post(reverse("admin:calendars_calendarservice_check_domains", args=[owner.pk]))
    assert claim_of(owner, "acme.example").is_proven


@pytest.mark.django_db(transaction=True)
def test_google_proves_the_workspace_customers_domains(world, client_for, acme, bob, google_service_account):
    owner = calendar_service_connect(
        organization=acme,
        provider=CalendarProvider.GOOGLE,
        access_mode=AccessMode.READ_WRITE,
        domains=["acme.example", "not-acme.example"],
        connected_by=bob,
    )
    delegate_mode(world, google_service_account, AccessMode.READ_WRITE)
    response = upload_key(client_for(bob), owner, google_service_account, test_user="bob@acme.example")
    assert response.status_code == 302
    assert claim_of(owner, "acme.example").proof == DomainProof.PROVIDER
    assert not claim_of(owner, "not-acme.example").is_proven  # not the customer's: DNS proof only


@pytest.mark.django_db(transaction=True)
def test_microsoft_proves_the_tenants_verified_domains(client_for, contoso, world):  # noqa: F811
    service = microsoft_service(contoso["organization"], contoso["olga"], AccessMode.FREE_BUSY)
    consent_round_trip(client_for(contoso["olga"]), service)
    assert claim_of(service, "contoso.example").proof == DomainProof.PROVIDER
    assert CalendarProfile.objects.filter(calendar_service=service).count() == 3


@pytest.mark.django_db
def test_a_provider_listing_a_domain_someone_else_proved_still_proves_the_others(acme, bob, globex, charlie, root):
    squatter = calendar_service_connect(
        organization=globex,
        provider=CalendarProvider.GOOGLE,
        access_mode=AccessMode.NO_ACCESS,
        domains=["acme.example", "globex.example"],
        connected_by=charlie,
    )
    owner = google_service(acme, bob, mode=AccessMode.NO_ACCESS)
    calendar_domain_vouch(claim=claim_of(owner, "acme.example"), actor=root)
    proven = calendar_service_prove_domains_by_provider(
        service=squatter, provider_domains=["acme.example", "globex.example"], actor=None
    )
    assert proven == ["globex.example"]
    assert claim_of(squatter, "globex.example").is_proven
    assert not claim_of(squatter, "acme.example").is_proven
    assert claim_of(owner, "acme.example").is_proven
