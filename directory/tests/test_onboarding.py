"""Onboarding a page of people costs the same number of queries whatever the page's size; the
directory is the identity proof No Access needs, and nothing else trusts an unproven address."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.services import user_create
from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile
from calendars.services import calendar_domain_vouch, calendar_service_connect, calendar_service_provision
from conftest import proven
from core.choices import AccessMode
from directory.models import DirectoryProvider, DirectoryUser
from directory.onboarding import directory_people_onboard
from directory.providers.base import DirectoryPerson, PersonStatus
from directory.selectors import directory_placement
from directory.services import directory_service_connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_access(acme, bob):
    return proven(
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.NO_ACCESS,
            domains=["acme.example"],
            connected_by=bob,
        )
    )


@pytest.fixture
def directory(acme, bob):
    return directory_service_connect(organization=acme, provider=DirectoryProvider.GOOGLE, connected_by=bob)


def people(start: int, count: int) -> list[tuple[DirectoryPerson, None]]:
    return [
        (
            DirectoryPerson(
                external_id=str(n),
                email=f"person{n}@acme.example",
                name=f"Person {n}",
                status=PersonStatus.ACTIVE,
                unit="/",
            ),
            None,
        )
        for n in range(start, start + count)
    ]


def onboard_counting(directory, page) -> int:
    placement = directory_placement(service=directory, provider_domains=[])
    with CaptureQueriesContext(connection) as queries:
        directory_people_onboard(service=directory, placement=placement, people=page)
    return len(queries)


def test_a_page_of_people_costs_the_same_queries_whatever_its_size(directory, no_access):
    onboard_counting(directory, people(1000, 1))  # content types and such are cached after the first page
    # Sizes small enough that SQLite's 999-parameter limit does not split an insert in two (PostgreSQL
    # never splits them; the benchmark prints the count for pages of 500 there).
    small = onboard_counting(directory, people(0, 5))
    large = onboard_counting(directory, people(100, 20))
    assert small == large
    assert CalendarProfile.objects.filter(calendar_service=no_access).count() == 26


def test_a_page_of_people_who_already_have_accounts_costs_the_same(directory, no_access):
    for n in range(200, 240):
        user_create(email=f"person{n}@acme.example", name="Existing", email_verified=n % 2 == 0)
    onboard_counting(directory, people(1000, 1))
    small = onboard_counting(directory, people(200, 4))
    large = onboard_counting(directory, people(204, 20))
    assert small == large


def test_a_directory_person_in_a_no_access_domain_gets_a_hosted_profile_without_confirming_their_address(
    directory, no_access
):
    onboard_counting(directory, people(1, 1))
    person = User.objects.get(email="person1@acme.example")
    profile = CalendarProfile.objects.get(user=person)
    assert (profile.provider_name, profile.access_mode) == ("cronofy", AccessMode.NO_ACCESS)
    assert profile.calendars.get().is_hosted
    assert EmailAddress.objects.get(user=person).verified  # proven by the directory, no email sent


def test_an_account_whose_address_nobody_proved_gets_no_hosted_profile(acme, bob, no_access):
    squatter = user_create(email="nobody@acme.example", password="pw-nobody-knows", email_verified=False)
    calendar_service_provision(service=no_access)
    assert not CalendarProfile.objects.filter(user=squatter).exists()


def test_a_proven_account_of_a_no_access_domain_gets_its_profile_when_the_domain_is_proven(
    acme, bob, root, django_capture_on_commit_callbacks
):
    proven = user_create(email="proven@acme.example", email_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        service = calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=AccessMode.NO_ACCESS,
            domains=["acme.example"],
            connected_by=bob,
        )
    assert not CalendarProfile.objects.filter(user=proven).exists()  # an unproven claim serves nobody
    with django_capture_on_commit_callbacks(execute=True):
        calendar_domain_vouch(claim=service.domain_claims.get(), actor=root)
    assert CalendarProfile.objects.filter(user=proven, provider_name="cronofy").exists()


def test_the_directory_claims_an_unproven_account_and_clears_its_password(directory, no_access):
    squatter = user_create(email="person7@acme.example", password="set-by-someone-else", email_verified=False)
    onboard_counting(directory, people(7, 1))
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()
    assert EmailAddress.objects.get(user=squatter).verified
    assert DirectoryUser.objects.get(external_id="7").user == squatter
