"""Enterprise Connect end to end through the official pycronofy SDK against the running server: Acme's
Google Workspace is connected Read-Write (domain-wide delegation at the sandbox) and Acme's admin has
granted the integrator a service account; the integrator asks for people by email
(`authorize_with_service_account`, `authorize_multiple_accounts_via_service_account`), a real local
HTTP receiver gets each code at its callback URL, the SDK exchanges it, and the account token reads
free/busy and books an event that lands in the person's calendar at the provider (their mode: Read-Write,
written natively)."""

from __future__ import annotations

import json
from datetime import timedelta

import pycronofy
import pytest
from django.utils import timezone

from accounts.models import Grant, ServiceAccountAuthorization
from accounts.oauth import application_create, service_account_create, service_account_tokens_issue
from conftest import make_user
from connect.tasks import service_account_callbacks_retry
from core.choices import AccessMode
from sandbox.models import Calendar as SandboxCalendar
from sandbox.models import Event, Fault, Person, Provider
from tests.e2e import INTEGRATOR_REDIRECT, acme_workspace, delegate_acme_workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enterprise(world, acme, bob, google_service_account):
    """Acme's Workspace in Read-Write, provisioned; the integrator's service account for Acme."""
    alice = make_user("alice@acme.example", "Alice")
    service = acme_workspace(acme, bob, AccessMode.READ_WRITE)
    delegate_acme_workspace(world, service, google_service_account, test_subject=alice.email, actor=bob)
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    service_account = service_account_create(
        organization=acme,
        application=application,
        scopes=["service_account/accounts/manage", "service_account/resources/manage"],
        delegated_scopes=["read_write"],
        actor=bob,
    )
    token = service_account_tokens_issue(service_account=service_account).access_token
    return {"alice": alice, "application": application, "secret": secret, "token": token}


def sdk(live_server, **credentials) -> pycronofy.Client:
    client = pycronofy.Client(**credentials)
    client.request_handler.base_url = live_server.url
    return client


def callbacks(receiver) -> dict[str, dict]:
    """The answers the receiver got, by state."""
    answers = [json.loads(received.body)["authorization"] for received in receiver.requests]
    return {answer["state"]: answer for answer in answers}


def account_client(live_server, enterprise, code: str, receiver) -> pycronofy.Client:
    client = sdk(live_server, client_id=enterprise["application"].client_id, client_secret=enterprise["secret"])
    client.get_authorization_from_code(code, redirect_uri=receiver.url)
    return client


def test_pycronofy_authorizes_one_person_through_the_service_account(live_server, world, enterprise, receiver):
    service_account = sdk(live_server, access_token=enterprise["token"])
    assert service_account.userinfo()["cronofy.type"] == "service_account"

    service_account.authorize_with_service_account("alice@acme.example", "read_write", receiver.url, state="one")

    answer = callbacks(receiver)["one"]
    assert "code" in answer, answer
    alice = account_client(live_server, enterprise, answer["code"], receiver)
    profiles = alice.list_profiles()
    assert [profile["provider_name"] for profile in profiles] == ["google"]
    busy = list(alice.read_free_busy(from_date=world.monday, to_date=world.monday + timedelta(days=2), tzid="Etc/UTC"))
    assert busy, "Alice's synced busy time comes through the organization's connection"
    calendar_id = next(c["calendar_id"] for c in alice.list_calendars() if c["calendar_primary"])
    start = world.monday + timedelta(days=3, hours=10)
    alice.upsert_event(
        calendar_id,
        {
            "event_id": "enterprise-1",
            "summary": "Intro call",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    # Read-Write: written into Alice's calendar at the provider, not sent by email.
    assert Event.objects.filter(calendar__owner__email="alice@acme.example", summary="Intro call").exists()
    grant = Grant.objects.get(user=enterprise["alice"], application=enterprise["application"])
    assert grant.service_account is not None


def test_pycronofy_authorizes_a_batch_and_reports_each_outcome(live_server, world, enterprise, receiver):
    make_user("ivan@initech.example", "Ivan")  # not one of Acme's people
    service_account = sdk(live_server, access_token=enterprise["token"])

    service_account.authorize_multiple_accounts_via_service_account(
        [
            {"email": "alice@acme.example", "scope": "free_busy", "callback_url": receiver.url, "state": "alice"},
            {"email": "bob@acme.example", "scope": "read_write", "callback_url": receiver.url, "state": "bob"},
            {"email": "ivan@initech.example", "scope": "free_busy", "callback_url": receiver.url, "state": "ivan"},
        ]
    )

    answers = callbacks(receiver)
    assert answers["ivan"]["error"] == "unknown_account" and "code" not in answers["ivan"]
    bob = account_client(live_server, enterprise, answers["bob"]["code"], receiver)
    assert bob.account()["email"] == "bob@acme.example"
    alice = account_client(live_server, enterprise, answers["alice"]["code"], receiver)
    assert list(alice.read_free_busy(from_date=world.monday, to_date=world.monday + timedelta(days=2), tzid="Etc/UTC"))
    with pytest.raises(pycronofy.exceptions.PyCronofyRequestError) as refused:
        alice.read_events(from_date=world.monday, to_date=world.monday + timedelta(days=2), tzid="Etc/UTC")
    assert refused.value.response.status_code == 403  # free_busy was asked: no events


def carol_joins_acmes_workspace(world) -> None:
    """Carol is added to Acme's Workspace and signs up here after Acme's people were provisioned: the
    provider knows her, the product has no profile of hers yet."""
    carol = Person.objects.create(
        tenant=world.tenants["acme"], email="carol@acme.example", name="Carol", external_id="100000000000000000009"
    )
    SandboxCalendar.objects.create(
        owner=carol, calendar_id=carol.email, name=carol.email, is_primary=True, time_zone="Europe/London"
    )
    make_user("carol@acme.example", "Carol")


def google_is_down() -> Fault:
    return Fault.objects.create(
        provider=Provider.GOOGLE, operation="calendar.calendarList.list", kind=Fault.Kind.SERVER_ERROR, times=0
    )


def ask_for_carol(live_server, enterprise, receiver) -> None:
    sdk(live_server, access_token=enterprise["token"]).authorize_with_service_account(
        "carol@acme.example", "read_write", receiver.url, state="carol"
    )


def test_a_provider_outage_leaves_the_request_undecided_until_google_answers(live_server, world, enterprise, receiver):
    carol_joins_acmes_workspace(world)
    outage = google_is_down()
    ask_for_carol(live_server, enterprise, receiver)
    row = ServiceAccountAuthorization.objects.get(email="carol@acme.example")
    assert row.outcome == ServiceAccountAuthorization.Outcome.PENDING and not receiver.requests

    outage.delete()
    ServiceAccountAuthorization.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    service_account_callbacks_retry()  # the sweep of requests left undecided

    answer = callbacks(receiver)["carol"]
    assert "code" in answer, answer
    assert account_client(live_server, enterprise, answer["code"], receiver).account()["email"] == "carol@acme.example"


def test_a_request_whose_provider_stays_down_for_a_day_is_answered(live_server, world, enterprise, receiver):
    carol_joins_acmes_workspace(world)
    google_is_down()
    ask_for_carol(live_server, enterprise, receiver)
    ServiceAccountAuthorization.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    service_account_callbacks_retry()

    answer = callbacks(receiver)["carol"]
    assert answer["error"] == "unknown_account" and "cannot be asked right now" in answer["error_description"]
