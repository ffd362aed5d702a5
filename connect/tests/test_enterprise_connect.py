"""Enterprise Connect: an organization's admin grants an application access to its people once; the
integrator then asks for each person by email and hears back at its callback URL (a real local HTTP
receiver, through the outbound guard), with a code that exchanges at /oauth/token for an account token
bounded by the delegated scope and the person's calendar service's mode. Revoking the service account
ends every delegated token at once; an admin grants only for the organizations they administer."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from allauth.idp.oidc.models import Token
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Grant, ServiceAccount, ServiceAccountAuthorization
from accounts.oauth import service_account_create, service_account_revoke, service_account_tokens_issue
from bookings.models import ManagedEvent
from calendars.models import CalendarProfile
from calendars.notifications import channel_create
from calendars.services import calendar_service_authorize, calendar_service_change_mode, calendar_service_provision
from conftest import make_user
from connect.enterprise import service_account_authorization_resolve
from connect.tasks import service_account_callbacks_retry
from core.choices import AccessMode

pytestmark = pytest.mark.django_db

MANAGE = ["service_account/accounts/manage", "service_account/resources/manage"]


@pytest.fixture
def acme_live(acme_services, bob):
    """Acme's Read-Write (acme.example) and Free/Busy (emea.acme.example) services authorized, its No
    Access one (legal.acme.example) live as it is."""
    for mode in (AccessMode.READ_WRITE, AccessMode.FREE_BUSY):
        calendar_service_authorize(
            service=acme_services[mode], credentials={"kind": "test"}, granted_scopes=[], actor=bob
        )
    return acme_services


@pytest.fixture
def people(alice, acme_live):
    """Acme's people, provisioned through its services as the organization's directory would have done:
    Enterprise Connect reaches the people the organization's grant already serves."""
    everyone = {
        "alice": alice,
        "fay": make_user("fay@emea.acme.example", "Fay"),
        "lee": make_user("lee@legal.acme.example", "Lee"),
    }
    for service in acme_live.values():
        calendar_service_provision(service=service)
    return everyone


def grant(organization, integrator, *, delegated=("read_write",), mode="", actor=None, scopes=MANAGE):
    service_account = service_account_create(
        organization=organization,
        application=integrator.application,
        scopes=list(scopes),
        delegated_scopes=list(delegated),
        access_mode=mode,
        actor=actor,
    )
    return service_account, service_account_tokens_issue(service_account=service_account).access_token


def ask(token: str, body: dict) -> object:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post("/v1/service_account_authorizations", body, format="json")


def ask_and_resolve(token: str, receiver, **entry) -> dict:
    """One authorization asked through the API, resolved by the task, and the body the receiver got."""
    receiver.requests.clear()
    response = ask(token, {"callback_url": receiver.url, "state": "s-1", **entry})
    assert response.status_code == 202, response.content
    row = ServiceAccountAuthorization.objects.latest("pk")
    service_account_authorization_resolve(authorization_id=row.pk)
    assert len(receiver.requests) == 1
    return json.loads(receiver.requests[0].body)["authorization"]


def exchange(integrator, code: str, redirect_uri: str):
    return Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "client_id": integrator.application.client_id,
            "client_secret": integrator.secret,
            "code": code,
            "redirect_uri": redirect_uri,
        },
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_read_write_person_is_granted_through_the_organizations_grant(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, actor=bob)

    answer = ask_and_resolve(token, receiver, email="Alice@Acme.example", scope="read_write")

    assert answer["state"] == "s-1" and "error" not in answer
    tokens = exchange(integrator, answer["code"], receiver.url)
    assert tokens.status_code == 200, tokens.content
    body = tokens.json()
    assert body["sub"] == people["alice"].public_id
    assert body["linking_profile"]["provider_name"] == "google"
    assert "read_events" in body["scope"].split()
    assert Client().get("/v1/account", headers=bearer(body["access_token"])).status_code == 200
    grant_row = Grant.objects.get(user=people["alice"], application=integrator.application)
    assert grant_row.service_account.organization == acme
    # The person gave no consent: the trail says the organization's grant covers them.
    authorized = AuditEvent.objects.get(action="application_authorized", target_id=str(grant_row.pk))
    assert "Acme's Enterprise Connect grant" in authorized.changes["covered_by"]
    assert AuditEvent.objects.filter(action="service_account_authorization_granted", organization=acme).exists()
    # The code goes once, to the callback URL only.
    assert exchange(integrator, answer["code"], receiver.url).status_code == 400


def test_a_scope_above_the_delegated_one_is_unable_to_grant_scope(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, delegated=("free_busy",), actor=bob)

    answer = ask_and_resolve(token, receiver, email="alice@acme.example", scope="read_write")

    assert answer["error"] == "unable_to_grant_scope"
    assert answer["state"] == "s-1" and "code" not in answer
    assert not Token.objects.filter(type=Token.Type.AUTHORIZATION_CODE).exists()
    assert not Grant.objects.filter(user=people["alice"]).exists()


def test_a_person_outside_the_granting_organization_gets_nothing(
    acme, globex, charlie, globex_service, people, integrator, receiver
):
    calendar_service_authorize(service=globex_service, credentials={"kind": "test"}, granted_scopes=[], actor=charlie)
    _, token = grant(globex, integrator, actor=charlie)
    profiles_before = CalendarProfile.objects.count()

    for email in ("alice@acme.example", "nobody@acme.example", "ghost@globex.example"):
        answer = ask_and_resolve(token, receiver, email=email, scope="free_busy")
        assert answer["error"] == "unknown_account", (email, answer)
        assert "alice" not in json.dumps(answer).replace(email, "")

    assert not Token.objects.filter(type=Token.Type.AUTHORIZATION_CODE).exists()
    assert not Grant.objects.exists()
    assert CalendarProfile.objects.count() == profiles_before


def test_a_free_busy_person_asked_read_write_gets_what_the_mode_allows(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, actor=bob)

    answer = ask_and_resolve(token, receiver, email="fay@emea.acme.example", scope="read_write")

    body = exchange(integrator, answer["code"], receiver.url).json()
    assert body["linking_profile"]["provider_name"] == "ms_graph_free_busy"
    granted = set(body["scope"].split())
    assert {"read_free_busy", "create_event"} <= granted
    assert not {"read_events", "create_calendar", "change_participation_status"} & granted
    assert Client().get("/v1/events", {"tzid": "Etc/UTC"}, headers=bearer(body["access_token"])).status_code == 403
    assert Client().get("/v1/free_busy", {"tzid": "Etc/UTC"}, headers=bearer(body["access_token"])).status_code == 200


def test_a_no_access_person_is_linked_as_cronofy_and_booked_by_email(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, actor=bob)
    answer = ask_and_resolve(token, receiver, email="lee@legal.acme.example", scope="free_busy_write")
    body = exchange(integrator, answer["code"], receiver.url).json()
    assert body["linking_profile"]["provider_name"] == "cronofy"

    calendar = CalendarProfile.objects.get(public_id=body["linking_profile"]["profile_id"]).calendars.get()
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    booked = Client().post(
        f"/v1/calendars/{calendar.public_id}/events",
        json.dumps(
            {
                "event_id": "ec-1",
                "summary": "Intro",
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ),
        content_type="application/json",
        headers=bearer(body["access_token"]),
    )
    assert booked.status_code == 202, booked.content
    event = ManagedEvent.objects.get(event_id="ec-1")
    assert event.delivery_mode == "email"  # the person's mode: an invitation, not a native write
    assert event.invitations.filter(recipient="lee@legal.acme.example").exists()


def test_the_admins_free_busy_choice_bounds_read_write_people(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, delegated=("free_busy_write",), mode=AccessMode.FREE_BUSY, actor=bob)
    answer = ask_and_resolve(token, receiver, email="alice@acme.example", scope="free_busy_write")
    body = exchange(integrator, answer["code"], receiver.url).json()
    assert "read_events" not in body["scope"].split()
    assert Client().get("/v1/events", {"tzid": "Etc/UTC"}, headers=bearer(body["access_token"])).status_code == 403


def test_revoking_the_service_account_ends_every_delegated_token_at_once(acme, bob, people, integrator, receiver):
    service_account, token = grant(acme, integrator, actor=bob)
    issued = []
    for email in ("alice@acme.example", "fay@emea.acme.example"):
        answer = ask_and_resolve(token, receiver, email=email, scope="free_busy")
        issued.append(exchange(integrator, answer["code"], receiver.url).json())
    for body in issued:
        assert Client().get("/v1/account", headers=bearer(body["access_token"])).status_code == 200

    revoked = Client().post(
        "/oauth/token/revoke",
        {"client_id": integrator.application.client_id, "client_secret": integrator.secret, "token": token},
    )

    assert revoked.status_code == 200
    service_account.refresh_from_db()
    assert service_account.revoked_at is not None
    for body in issued:
        assert Client().get("/v1/account", headers=bearer(body["access_token"])).status_code == 401
        refreshed = Client().post(
            "/oauth/token",
            {
                "grant_type": "refresh_token",
                "client_id": integrator.application.client_id,
                "client_secret": integrator.secret,
                "refresh_token": body["refresh_token"],
            },
        )
        assert refreshed.status_code == 400
    assert Client().get("/v1/userinfo", headers=bearer(token)).status_code == 401
    # Nothing was walked: the grants themselves are untouched, the service account's revocation decides.
    assert Grant.objects.filter(service_account=service_account, revoked_at__isnull=True).count() == 2
    assert AuditEvent.objects.filter(action="service_account_revoked", organization=acme).exists()


def test_codes_issued_before_a_revocation_exchange_for_nothing(acme, bob, people, integrator, receiver):
    service_account, token = grant(acme, integrator, actor=bob)
    answer = ask_and_resolve(token, receiver, email="alice@acme.example", scope="free_busy")
    service_account_revoke(service_account=service_account, actor=bob)
    assert exchange(integrator, answer["code"], receiver.url).status_code == 400


def test_a_mode_change_reaches_delegated_tokens_at_once(acme, bob, people, integrator, receiver, acme_live):
    _, token = grant(acme, integrator, actor=bob)
    answer = ask_and_resolve(token, receiver, email="alice@acme.example", scope="read_write")
    access = exchange(integrator, answer["code"], receiver.url).json()["access_token"]
    assert Client().get("/v1/events", {"tzid": "Etc/UTC"}, headers=bearer(access)).status_code == 200

    grant_row = Grant.objects.get(user=people["alice"])
    channel = channel_create(grant=grant_row, callback_url=receiver.url, calendar_ids=[], only_managed=False)

    calendar_service_change_mode(service=acme_live[AccessMode.READ_WRITE], access_mode=AccessMode.FREE_BUSY, actor=bob)

    assert Client().get("/v1/events", {"tzid": "Etc/UTC"}, headers=bearer(access)).status_code == 403
    told = list(channel.notifications.order_by("pk").values_list("kind", flat=True))
    assert told == ["verification", "change", "profile_disconnected"]


#
# The admin's decision: /enterprise_connect/oauth/authorize
#


def authorize_url(integrator, **params) -> str:
    query = {
        "response_type": "code",
        "client_id": integrator.application.client_id,
        "redirect_uri": "https://integrator.example/callback",
        "scope": "service_account/accounts/manage service_account/resources/manage",
        "delegated_scope": "free_busy_write",
        "state": "xyz",
        **params,
    }
    return reverse("enterprise-authorize") + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_an_admin_consents_and_the_code_exchanges_for_a_service_account_token(acme, bob, acme_live, integrator):
    browser = Client()
    browser.force_login(bob)
    page = browser.get(authorize_url(integrator), follow=True)
    text = page.content.decode()
    assert page.status_code == 200 and "Acme" in text and "Free/Busy" in text and "Read-Write" in text

    done = browser.post(page.redirect_chain[-1][0], {"action": "allow", "access_mode": AccessMode.FREE_BUSY})

    location = urlparse(done["Location"])
    query = parse_qs(location.query)
    assert location.netloc == "integrator.example" and query["state"] == ["xyz"]
    service_account = ServiceAccount.objects.get(organization=acme, application=integrator.application)
    assert service_account.access_mode == AccessMode.FREE_BUSY and service_account.granted_by == bob
    tokens = exchange(integrator, query["code"][0], "https://integrator.example/callback")
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["sub"] == service_account.public_id
    access = tokens.json()["access_token"]
    userinfo = Client().get("/v1/userinfo", headers=bearer(access)).json()
    assert userinfo["cronofy.type"] == "service_account"
    assert userinfo["sub"] == service_account.public_id and userinfo["email"] == bob.email
    assert userinfo["cronofy.data"]["authorization"] == {
        "scope": "service_account/accounts/manage service_account/resources/manage",
        "status": "active",
        "delegated_scope": "free_busy_write",
    }
    assert userinfo["cronofy.data"]["service_account"]["domain"] == "acme.example"
    # A service account reads no calendar of its own.
    assert Client().get("/v1/account", headers=bearer(access)).status_code == 401
    assert Client().get("/v1/resources", headers=bearer(access)).json() == {"resources": []}
    refreshed = Client().post(
        "/oauth/token",
        {
            "grant_type": "refresh_token",
            "client_id": integrator.application.client_id,
            "client_secret": integrator.secret,
            "refresh_token": tokens.json()["refresh_token"],
        },
    )
    assert refreshed.status_code == 200 and refreshed.json()["sub"] == service_account.public_id
    assert Client().get("/v1/userinfo", headers=bearer(refreshed.json()["access_token"])).status_code == 200


def test_a_second_organizations_admin_cannot_grant_the_first_organizations_people(
    acme, globex, charlie, people, integrator, receiver
):
    browser = Client()
    browser.force_login(charlie)
    page = browser.get(authorize_url(integrator, delegated_scope="read_write"), follow=True)
    text = page.content.decode()
    assert "Globex" in text and "Acme" not in text

    refused = browser.post(page.redirect_chain[-1][0], {"action": "allow", "organization": acme.public_id})
    assert refused.status_code == 400
    assert not ServiceAccount.objects.exists()

    done = browser.post(page.redirect_chain[-1][0], {"action": "allow", "organization": globex.public_id})
    code = parse_qs(urlparse(done["Location"]).query)["code"][0]
    token = exchange(integrator, code, "https://integrator.example/callback").json()["access_token"]
    answer = ask_and_resolve(token, receiver, email="alice@acme.example", scope="read_write")
    assert answer["error"] == "unknown_account"
    assert not Grant.objects.exists()


def test_a_person_who_administers_nothing_cannot_grant(alice, integrator):
    browser = Client()
    browser.force_login(alice)
    page = browser.get(authorize_url(integrator), follow=True)
    assert page.status_code == 403
    declined = browser.post(page.redirect_chain[-1][0], {"action": "decline"})
    assert "error=access_denied" in declined["Location"]


def test_the_authorize_request_is_checked(integrator):
    assert Client().get(authorize_url(integrator, redirect_uri="https://evil.example/cb")).status_code == 400
    bad_scope = Client().get(authorize_url(integrator, scope="read_events"))
    assert "error=invalid_scope" in bad_scope["Location"]
    no_delegated = Client().get(authorize_url(integrator, delegated_scope=""))
    assert "error=invalid_scope" in no_delegated["Location"]


#
# POST /v1/service_account_authorizations: input
#


def test_batches_of_one_to_fifty_are_accepted_and_bad_input_is_422(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, actor=bob)
    entry = {"email": "alice@acme.example", "scope": "free_busy", "callback_url": receiver.url}

    assert ask(token, {"service_account_authorizations": [entry] * 50, "state": "b"}).status_code == 202
    assert ServiceAccountAuthorization.objects.filter(state="b").count() == 50
    too_many = ask(token, {"service_account_authorizations": [entry] * 51})
    assert too_many.status_code == 422 and "service_account_authorizations" in too_many.json()["errors"]
    assert ask(token, {"service_account_authorizations": [entry], **entry}).status_code == 422
    assert ask(token, {"service_account_authorizations": []}).status_code == 422
    assert ask(token, {**entry, "scope": "take_over"}).status_code == 422
    assert ask(token, {**entry, "callback_url": "https://10.0.0.8/cb"}).status_code == 422
    assert ServiceAccountAuthorization.objects.count() == 50  # nothing half-written


def test_only_a_service_accounts_token_asks(acme, bob, people, integrator, receiver, api_client_for):
    entry = {"email": "alice@acme.example", "scope": "free_busy", "callback_url": receiver.url}
    account_client = api_client_for(people["alice"])
    assert account_client.post("/v1/service_account_authorizations", entry, format="json").status_code == 401
    _, token = grant(acme, integrator, actor=bob, scopes=["service_account/resources/manage"])
    assert ask(token, entry).status_code == 403


def test_a_batch_is_recorded_in_a_constant_number_of_queries(
    acme, bob, people, integrator, receiver, django_assert_max_num_queries
):
    _, token = grant(acme, integrator, actor=bob)
    entry = {"email": "alice@acme.example", "scope": "free_busy", "callback_url": receiver.url}
    ask(token, {"service_account_authorizations": [entry]})  # warm: the first request loads what it caches
    with django_assert_max_num_queries(8) as one:
        assert ask(token, {"service_account_authorizations": [entry]}).status_code == 202
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert ask(token, {"service_account_authorizations": [entry] * 50}).status_code == 202


def test_a_failed_callback_is_tried_again_and_a_lost_request_is_picked_up(acme, bob, people, integrator, receiver):
    _, token = grant(acme, integrator, actor=bob)
    receiver.fail_next = 1
    ask_and_resolve(token, receiver, email="alice@acme.example", scope="free_busy")
    row = ServiceAccountAuthorization.objects.get()
    assert row.delivered_at is None and row.last_error == "HTTP 500" and row.attempts == 1
    ServiceAccountAuthorization.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert (
        ask(token, {"email": "fay@emea.acme.example", "scope": "free_busy", "callback_url": receiver.url}).status_code
        == 202
    )
    lost = ServiceAccountAuthorization.objects.latest("pk")
    ServiceAccountAuthorization.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    service_account_callbacks_retry()

    row.refresh_from_db()
    lost.refresh_from_db()
    assert row.delivered_at is not None and row.attempts == 2
    assert lost.outcome == ServiceAccountAuthorization.Outcome.GRANTED and lost.delivered_at is not None
    assert len(receiver.requests) == 3
