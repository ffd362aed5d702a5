"""The access mode as one switch, in the calendars layer: the policy's ranks and withheld scopes, the
organization's ceiling in the profile services, one live profile per provider account (enforced by the
database), tokens' effective scopes at request time, and revocations of replaced grants that survive a
provider outage."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import api_scopes
from accounts.oauth import access_token_authenticate, application_create, tokens_issue_for
from calendars.access_modes import (
    POLICIES,
    RESTRICTABLE_API_SCOPES,
    modes_allowed_under,
    policy_for,
    withheld_api_scopes_for,
)
from calendars.choices import CalendarProvider, ProfileStatus
from calendars.models import CalendarProfile, ProviderGrantRevocation
from calendars.revocations import provider_grant_revoke
from calendars.services import (
    calendar_profile_change_mode,
    calendar_profile_connect,
    calendar_service_authorize,
    calendar_service_connect,
)
from conftest import make_user, vouched
from core.choices import AccessMode
from sandbox.models import Fault, Provider, Token
from sandbox.tokens import token_hash
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile

RW, FB, NA = AccessMode.READ_WRITE, AccessMode.FREE_BUSY, AccessMode.NO_ACCESS


def own_google(user, mode: str = RW, *, account: str = "g-alice", name: str = "alice@acme.example"):
    return calendar_profile_connect(
        user=user,
        provider_name="google" if mode == RW else "google_free_busy",
        profile_name=name,
        provider_account_id=account,
        credentials={"kind": "microsoft_delegated", "refresh_token": "r"},  # nothing to revoke at a provider
    )


def acme_service(acme, bob, mode: str, domain: str = "acme.example"):
    return vouched(
        calendar_service_connect(
            organization=acme, provider=CalendarProvider.GOOGLE, access_mode=mode, domains=[domain], connected_by=bob
        )
    )


#
# The policy
#


def test_a_ceiling_allows_its_own_mode_and_the_ones_below():
    assert modes_allowed_under(RW, AccessMode.values) == [RW, FB, NA]
    assert modes_allowed_under(FB, AccessMode.values) == [FB, NA]
    assert modes_allowed_under(NA, AccessMode.values) == [NA]
    assert modes_allowed_under(None, [RW]) == [RW]


def test_no_mode_below_read_write_lets_an_application_read_events():
    for mode, policy in POLICIES.items():
        assert (api_scopes.READ_EVENTS in policy.effective_api_scopes(["read_only"])) == (mode == RW)
    assert api_scopes.READ_EVENTS in RESTRICTABLE_API_SCOPES
    assert api_scopes.READ_FREE_BUSY not in RESTRICTABLE_API_SCOPES


def test_a_scope_works_when_one_of_the_persons_calendars_allows_it_and_never_above_the_ceiling():
    assert api_scopes.READ_EVENTS not in withheld_api_scopes_for(modes=[RW, NA], ceiling=None)
    assert api_scopes.READ_EVENTS in withheld_api_scopes_for(modes=[FB, NA], ceiling=None)
    assert api_scopes.READ_EVENTS in withheld_api_scopes_for(modes=[RW], ceiling=FB)
    assert withheld_api_scopes_for(modes=[], ceiling=None) == frozenset()


def test_every_mode_says_what_it_means_in_the_persons_words():
    for policy in POLICIES.values():
        assert policy.person_facts and "{organization}" in policy.ceiling_notice
        assert policy.label == AccessMode(policy.mode).label
    assert policy_for(FB).ceiling_text(organization="Acme") == "Acme allows only free/busy access to your calendar."


#
# The organization's ceiling in the services
#


@pytest.mark.django_db
def test_a_personal_connection_above_the_organizations_mode_is_refused(alice, acme, bob):
    acme_service(acme, bob, FB)
    with pytest.raises(ValidationError) as refused:
        own_google(alice, RW)
    assert refused.value.code == "above_ceiling"
    assert refused.value.messages == ["Acme allows only free/busy access to your calendar."]
    assert own_google(alice, FB).access_mode == FB


@pytest.mark.django_db
def test_the_calendar_accounts_domain_is_a_ceiling_too(acme, bob):
    acme_service(acme, bob, NA)
    outsider = make_user("alice.at.home@gmail.example")
    with pytest.raises(ValidationError):
        own_google(outsider, FB, name="alice@acme.example")
    assert own_google(outsider, RW, name="alice.at.home@gmail.example").access_mode == RW


@pytest.mark.django_db
def test_an_account_the_organization_connects_gets_no_personal_connection_beside_it(alice, acme, bob):
    service = acme_service(acme, bob, RW)
    calendar_service_authorize(service=service, credentials={"kind": "x"}, granted_scopes=[], actor=bob)
    with pytest.raises(ValidationError) as refused:
        own_google(alice, RW)
    assert refused.value.code == "organization_governed"


@pytest.mark.django_db
def test_the_person_cannot_raise_their_own_mode_without_the_provider(alice):
    profile = own_google(alice, FB)
    with pytest.raises(ValidationError) as refused:
        calendar_profile_change_mode(profile=profile, access_mode=RW, actor=alice)
    assert refused.value.code == "needs_provider_consent"


@pytest.mark.django_db
def test_the_person_cannot_change_the_organizations_connection(alice, acme_services):
    profile = calendar_profile_connect(
        user=alice, provider_name="cronofy", profile_name=alice.email, calendar_service=acme_services[NA]
    )
    with pytest.raises(ValidationError) as refused:
        calendar_profile_change_mode(profile=profile, access_mode=NA, actor=alice)
    assert refused.value.code == "organization_governed"


@pytest.mark.django_db
def test_the_database_keeps_one_live_profile_per_provider_account_whatever_its_mode(alice):
    own_google(alice, RW)
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarProfile.objects.create(
            user=alice,
            provider_name="google_free_busy",
            access_mode=FB,
            profile_name=alice.email,
            provider_account_id="g-alice",
        )
    CalendarProfile.objects.update(status=ProfileStatus.DISCONNECTED)
    CalendarProfile.objects.create(  # a disconnected one does not count
        user=alice,
        provider_name="google_free_busy",
        access_mode=FB,
        profile_name=alice.email,
        provider_account_id="g-alice",
    )


@pytest.mark.django_db
def test_reconnecting_in_another_mode_keeps_the_same_profile(alice):
    first = own_google(alice, RW)
    second = own_google(alice, FB)
    assert second.pk == first.pk
    assert CalendarProfile.objects.filter(user=alice).count() == 1


#
# Tokens follow the mode at request time
#


@pytest.mark.django_db
def test_a_token_reads_events_only_while_a_calendar_of_the_person_lets_it(alice):
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=alice, scopes=["read_only"]).access_token
    profile = own_google(alice, RW)
    assert access_token_authenticate(token).allows(api_scopes.READ_EVENTS)
    calendar_profile_change_mode(profile=profile, access_mode=NA, actor=alice)
    context = access_token_authenticate(token)
    assert not context.allows(api_scopes.READ_EVENTS)
    assert context.allows(api_scopes.READ_FREE_BUSY)


#
# Revoking a replaced grant survives the provider's outage
#


@pytest.mark.django_db(transaction=True)
def test_a_revocation_waits_out_a_provider_outage_and_then_forgets_the_credentials(live_server, world):
    alice = make_user("alice@acme.example", "Alice")
    profile = connected_profile(world, alice, "alice", mode=RW)
    refresh = profile.credentials["refresh_token"]
    Fault.objects.create(provider=Provider.GOOGLE, operation="revoke", kind=Fault.Kind.SERVER_ERROR, times=1)

    calendar_profile_change_mode(profile=profile, access_mode=NA, actor=alice)

    revocation = ProviderGrantRevocation.objects.get()
    assert revocation.revoked_at is None and revocation.attempts == 1
    assert revocation.credentials["refresh_token"] == refresh  # kept, encrypted, for the next attempt
    assert Token.objects.get(value_hash=token_hash(refresh)).revoked_at is None
    ProviderGrantRevocation.objects.update(next_attempt_at=timezone.now())
    provider_grant_revoke(revocation_id=revocation.pk)
    revocation.refresh_from_db()
    assert revocation.revoked_at is not None and revocation.credentials is None
    assert Token.objects.get(value_hash=token_hash(refresh)).revoked_at is not None
