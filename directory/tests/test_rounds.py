"""A person's life in each directory, through the sandbox and the provider's real client library:
onboarded, renamed, moved to another unit, suspended, deleted, and back again; the threshold that stops
a round; a provider outage mid-round; what an offboarded person's tokens answer."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import AuditEvent, Membership
from accounts.oauth import application_create, tokens_issue_for
from accounts.services import organization_create
from calendars.models import CalendarProfile, ChannelNotification
from calendars.notifications import channel_create
from directory.models import DirectoryService, DirectoryUser, RoundStatus
from directory.rounds import directory_round, directory_round_confirm
from directory.services import directory_unit_mapping_set
from directory.tests.fixtures import account
from sandbox import directory as sandbox_directory
from sandbox.models import Fault, Provider

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Case:
    service: DirectoryService
    tenant: object
    key: str  # how the sandbox names the person
    email: str
    other_domain_email: str  # an address of the same tenant on a domain the organization does not serve
    unit: str  # a unit or department to move them to


@pytest.fixture(params=["google", "microsoft", "successfactors"])
def case(request, directories, world) -> Case:
    if request.param == "google":
        service, tenant, key, email = (
            directories.google,
            world.tenants["acme"],
            "alice@acme.example",
            "alice@acme.example",
        )
        unit = "/Sales"
    elif request.param == "microsoft":
        service, tenant, key, email = (
            directories.microsoft,
            world.tenants["contoso"],
            "erin@contoso.example",
            "erin@contoso.example",
        )
        unit = "Sales"
    else:
        service, tenant, key, email = directories.successfactors, directories.sf_company, "alice", "alice@acme.example"
        unit = "Sales"
    DirectoryService.objects.filter(pk=service.pk).update(offboarding_threshold=100)
    service.refresh_from_db()
    return Case(service, tenant, key, email, "someone@elsewhere.example", unit)


def run(service: DirectoryService, **kwargs):
    outcome = directory_round(service=DirectoryService.objects.get(pk=service.pk), **kwargs)
    assert outcome.round.status in (RoundStatus.SUCCEEDED, RoundStatus.PREVIEWED, RoundStatus.WAITING), (
        outcome.round.errors
    )
    return outcome.round


def test_a_person_is_onboarded_with_an_account_a_membership_and_a_profile(case, acme):
    done = run(case.service)
    person = account(case.email)
    assert person is not None and person.is_active
    assert person.emailaddress_set.get().verified  # the directory proved the address
    assert Membership.objects.filter(user=person, organization=acme).exists()
    assert (
        CalendarProfile.objects.filter(user=person, calendar_service__organization=acme)
        .exclude(status="disconnected")
        .exists()
    )
    assert case.email in [entry["email"] for entry in done.changes["onboard"]]
    assert AuditEvent.objects.filter(action="onboarded", target_id=str(person.pk)).exists()


def test_a_second_round_without_changes_changes_nothing(case):
    run(case.service)
    accounts_before = DirectoryUser.objects.filter(service=case.service).count()
    again = run(case.service)
    assert again.counts["onboard"] == 0 and again.counts["offboard"] == 0
    assert DirectoryUser.objects.filter(service=case.service).count() == accounts_before


def test_a_renamed_person_keeps_their_account_under_the_new_address(case):
    run(case.service)
    person = account(case.email)
    new_email = case.email.replace("@", ".new@")
    sandbox_directory.person_rename(tenant=case.tenant, key=case.key, email=new_email, name="Alice Renamed")
    done = run(case.service)
    person.refresh_from_db()
    assert (person.email, person.name) == (new_email, "Alice Renamed")
    assert done.counts["rename"] == 1
    profile = CalendarProfile.objects.exclude(status="disconnected").get(user=person)
    assert profile.profile_name == new_email


def test_a_person_moved_to_another_unit_moves_membership(case, acme, bob):
    sales = organization_create(name="Acme Sales", parent=acme, actor=bob)
    directory_unit_mapping_set(service=case.service, source=case.unit, organization=sales, actor=bob)
    run(case.service)
    person = account(case.email)
    assert Membership.objects.filter(user=person, organization=acme).exists()
    sandbox_directory.person_move(tenant=case.tenant, key=case.key, unit=case.unit)
    done = run(case.service)
    assert done.counts["move"] == 1
    assert Membership.objects.filter(user=person, organization=sales).exists()
    assert not Membership.objects.filter(user=person, organization=acme).exists()


@pytest.mark.parametrize("change", ["suspend", "delete"])
def test_a_suspended_or_deleted_person_is_offboarded(case, change):
    run(case.service)
    person = account(case.email)
    getattr(sandbox_directory, f"person_{change}")(tenant=case.tenant, key=case.key)
    done = run(case.service)
    person.refresh_from_db()
    assert done.counts["offboard"] == 1, done.changes
    assert not person.is_active
    assert not Membership.objects.filter(user=person).exists()
    assert not CalendarProfile.objects.filter(user=person).exclude(status="disconnected").exists()
    assert AuditEvent.objects.filter(action="offboarded", target_id=str(person.pk)).exists()


def test_a_person_brought_back_is_onboarded_again(case, acme):
    run(case.service)
    sandbox_directory.person_suspend(tenant=case.tenant, key=case.key)
    run(case.service)
    sandbox_directory.person_suspend(tenant=case.tenant, key=case.key, suspended=False)
    done = run(case.service)
    person = account(case.email)
    assert done.counts["reactivate"] == 1
    assert person.is_active
    assert Membership.objects.filter(user=person, organization=acme).exists()
    assert CalendarProfile.objects.filter(user=person).exclude(status="disconnected").count() == 1


def test_an_offboarded_persons_tokens_answer_401(case):
    run(case.service)
    person = account(case.email)
    application, _ = application_create(name="Scheduler", redirect_uris=["https://integrator.example/cb"])
    tokens = tokens_issue_for(application=application, user=person, scopes=["read_account"])
    api = Client()
    assert api.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}").status_code == 200
    sandbox_directory.person_suspend(tenant=case.tenant, key=case.key)
    run(case.service)
    assert api.get("/v1/account", HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}").status_code == 401
    refreshed = api.post(
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": application.client_id},
    )
    assert refreshed.status_code in (400, 401)
    assert person.grants.get().revoked_at is not None


def test_a_round_that_would_offboard_too_many_stops_and_waits_for_confirmation(case, bob):
    run(case.service)
    DirectoryService.objects.filter(pk=case.service.pk).update(offboarding_threshold=10)
    person = account(case.email)
    sandbox_directory.person_suspend(tenant=case.tenant, key=case.key)
    stopped = run(case.service)
    person.refresh_from_db()
    assert stopped.status == RoundStatus.WAITING
    assert person.is_active  # nothing happened
    assert [entry["email"] for entry in stopped.changes["offboard"]] == [case.email]
    directory_round_confirm(round_=stopped, actor=bob)
    done = run(case.service, offboarding_allowed=stopped.counts["offboard"])
    person.refresh_from_db()
    assert done.status == RoundStatus.SUCCEEDED
    assert not person.is_active


def test_a_provider_outage_mid_round_changes_nothing(case, settings):
    run(case.service)
    settings.DIRECTORY_PAGE_SIZE = 1
    sandbox_directory.person_suspend(tenant=case.tenant, key=case.key)
    sandbox_directory.person_add(tenant=case.tenant, email=case.email.replace("@", ".newcomer@"), name="New Comer")
    provider = Provider.SUCCESSFACTORS if case.service.provider == "successfactors" else case.service.provider
    operation = {"google": "directory.users.list", "microsoft": "graph.users.delta", "successfactors": "odata.User"}
    # The first page answers, the next ones fail for longer than the round's retries.
    Fault.objects.create(
        provider=provider,
        operation=operation[case.service.provider],
        kind=Fault.Kind.UNAVAILABLE,
        times=0,
        after=1,
        retry_after=0,
    )
    before = sorted(
        DirectoryUser.objects.filter(service=case.service).values_list("external_id", "status", "offboarded_at")
    )
    outcome = directory_round(service=DirectoryService.objects.get(pk=case.service.pk))
    outcome.round.refresh_from_db()
    assert outcome.round.people_read >= 1  # the first page had come in
    assert outcome.round.status == RoundStatus.FAILED
    assert outcome.retryable
    assert account(case.email).is_active
    assert account(case.email.replace("@", ".newcomer@")) is None
    after = sorted(
        DirectoryUser.objects.filter(service=case.service).values_list("external_id", "status", "offboarded_at")
    )
    assert after == before


def test_a_preview_says_what_would_happen_and_changes_nothing(case):
    preview = run(case.service, dry_run=True)
    assert preview.status == RoundStatus.PREVIEWED
    assert case.email in [entry["email"] for entry in preview.changes["onboard"]]
    assert account(case.email) is None or not DirectoryUser.objects.filter(service=case.service).exists()
    assert preview.summary().startswith("would onboard")


def test_an_offboarded_persons_channels_are_told_profile_disconnected_before_access_ends(case, receiver):
    run(case.service)
    person = account(case.email)
    application, _ = application_create(name="Scheduler", redirect_uris=["https://integrator.example/cb"])
    tokens = tokens_issue_for(application=application, user=person, scopes=["read_free_busy"])
    channel = channel_create(grant=tokens.grant, callback_url=receiver.url, calendar_ids=[], only_managed=False)
    sandbox_directory.person_delete(tenant=case.tenant, key=case.key)
    run(case.service)
    told = ChannelNotification.objects.get(channel=channel, kind="profile_disconnected")
    assert told.delivered_at is not None
    assert any(body["notification"]["type"] == "profile_disconnected" for body in receiver.json_bodies())
