"""The organization's access mode is a ceiling on every path to a person's calendar: consent, a calendar
account of the organization's domain picked at the provider, relink. Where the organization holds the
grant, the person consents only to the application. End to end: this system and the sandbox providers
on the live server."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.oauth import application_create
from calendars.choices import ProfileStatus
from calendars.models import CalendarProfile
from calendars.scopes import Flow, requested_scopes
from conftest import make_user
from connect.tests.test_individual_connect import ALL, authorize_url, connect, exchange
from core.choices import AccessMode
from sandbox.models import Token
from sandbox.tokens import token_hash
from tests.e2e import (
    INTEGRATOR_REDIRECT,
    Browser,
    acme_workspace,
    callback_params,
    connected_profile,
    delegate_acme_workspace,
    sandbox_authorize_query,
)

pytestmark = pytest.mark.django_db(transaction=True)

G = "https://www.googleapis.com/auth/"


@pytest.fixture
def integrator(world):
    return application_create(
        name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )


@pytest.fixture
def alice(world):
    return make_user("alice@acme.example", "Alice")


def provider_visited(browser: Browser) -> bool:
    return any("/sandbox/" in url for url in browser.visited)


def test_a_free_busy_organization_offers_free_busy_at_most_and_says_why(live_server, integrator, alice, acme, bob):
    application, secret = integrator
    acme_workspace(acme, bob, AccessMode.FREE_BUSY)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), alice.email)
    assert "Acme allows only free/busy access to your calendar." in page.text
    page = browser.submit(page, {"provider": "google"})
    assert 'value="read_write"' not in page.text
    assert "Read-Write" not in page.text
    forged = browser.submit(page, {"action": "continue", "access_mode": AccessMode.READ_WRITE})
    assert forged.status_code == 400
    assert not provider_visited(browser)

    browser, callback = connect(live_server, application, alice.email, provider="google", mode=AccessMode.FREE_BUSY)
    assert exchange(live_server, application, secret, callback["code"]).json()["linking_profile"]["provider_name"] == (
        "google_free_busy"
    )
    assert G + "calendar" not in sandbox_authorize_query(browser)["scope"][0].split()


def test_a_no_access_organizations_people_give_no_provider_consent_at_all(live_server, integrator, alice, acme, bob):
    application, secret = integrator
    service = acme_workspace(acme, bob, AccessMode.NO_ACCESS)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), alice.email)
    assert "Which calendar do you use?" not in page.text
    assert "Acme allows no access to your calendar: you set your availability here." in page.text
    callback = callback_params(browser.submit(page, {"action": "continue"}))
    assert not provider_visited(browser)
    tokens = exchange(live_server, application, secret, callback["code"]).json()
    assert tokens["linking_profile"]["provider_name"] == "cronofy"
    profile = CalendarProfile.objects.get(user=alice)
    assert profile.calendar_service == service  # the organization's, not a second personal one


def test_forcing_a_provider_mode_in_a_no_access_organization_gives_no_provider_consent(
    live_server, integrator, alice, acme, bob
):
    application, _ = integrator
    acme_workspace(acme, bob, AccessMode.NO_ACCESS)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, provider_name="google_free_busy")), alice.email)
    assert "Acme allows no access to your calendar" in page.text
    assert browser.submit(page, {"action": "continue", "access_mode": AccessMode.FREE_BUSY}).status_code == 400
    callback = callback_params(browser.submit(page, {"action": "continue"}))
    assert "code" in callback
    assert not provider_visited(browser)
    assert CalendarProfile.objects.get(user=alice).access_mode == AccessMode.NO_ACCESS


def test_an_application_without_the_organizations_mode_is_refused_in_plain_words(live_server, world, alice, acme, bob):
    application, _ = application_create(
        name="Busy Finder", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=[AccessMode.READ_WRITE]
    )
    acme_workspace(acme, bob, AccessMode.NO_ACCESS)
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), alice.email)
    assert "Acme allows no access to your calendar" in page.text
    assert "Busy Finder does not offer that." in page.text
    assert callback_params(browser.submit(page, {"action": "decline"}))["error"] == "access_denied"
    assert not CalendarProfile.objects.filter(calendar_service__isnull=True).exists()  # only Acme's own


def test_a_calendar_account_of_the_organizations_domain_is_capped_whoever_signs_in(live_server, integrator, acme, bob):
    application, _ = integrator
    acme_workspace(acme, bob, AccessMode.FREE_BUSY)
    make_user("alice.at.home@gmail.example", "Alice at home")
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), "alice.at.home@gmail.example")
    page = browser.submit(
        browser.submit(page, {"provider": "google"}), {"action": "continue", "access_mode": "read_write"}
    )
    page = browser.submit(page, {"account": "alice@acme.example"})  # her work account, at Google
    page = browser.submit(page, {"granted": [G + "calendar"], "decision": "allow"})
    assert page.status_code == 400
    assert "Acme allows only free/busy access to your calendar." in page.text
    assert not CalendarProfile.objects.exists()


def test_where_the_organization_holds_the_grant_the_person_consents_only_to_the_application(
    live_server, integrator, alice, acme, bob, world, google_service_account
):
    application, secret = integrator
    service = acme_workspace(acme, bob, AccessMode.READ_WRITE)
    delegate_acme_workspace(world, service, google_service_account, test_subject=alice.email, actor=bob)
    organization_profile = CalendarProfile.objects.get(user=alice)

    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), alice.email)
    assert "Acme has connected your calendar already" in page.text
    assert "Which calendar do you use?" not in page.text
    callback = callback_params(browser.submit(page, {"action": "continue"}))
    assert not provider_visited(browser)
    tokens = exchange(live_server, application, secret, callback["code"]).json()
    assert tokens["linking_profile"]["profile_id"] == organization_profile.public_id
    assert tokens["linking_profile"]["provider_name"] == "google"
    assert CalendarProfile.objects.filter(user=alice).count() == 1


def test_a_relink_never_asks_for_more_than_the_organization_allows(live_server, integrator, alice, acme, bob, world):
    own = connected_profile(world, alice, "alice", mode=AccessMode.READ_WRITE)
    old_refresh = own.credentials["refresh_token"]
    acme_workspace(acme, bob, AccessMode.FREE_BUSY)  # Acme's choice comes after Alice's own connection
    own.refresh_from_db()
    assert (own.access_mode, own.status) == (AccessMode.FREE_BUSY, ProfileStatus.RELINK_REQUIRED)
    assert Token.objects.get(value_hash=token_hash(old_refresh)).revoked_at is not None  # revoked at Google

    browser = Browser(live_server.url)
    login = browser.go("GET", f"/profiles/{own.public_id}/relink?mode=read_write")
    page = browser.sign_in(login, alice.email)
    assert "Free/Busy access" in page.text
    page = browser.submit(page, {"mode": "read_write"})
    page = browser.submit(page, {"account": alice.email})
    asked = sandbox_authorize_query(browser)["scope"][0].split()
    assert sorted(asked) == sorted(provider_scopes_of(AccessMode.FREE_BUSY))
    browser.submit(page, {"granted": [s for s in asked if s.startswith(G)], "decision": "allow"})
    own.refresh_from_db()
    assert (own.access_mode, own.status) == (AccessMode.FREE_BUSY, ProfileStatus.CONNECTED)
    assert CalendarProfile.objects.filter(user=alice).count() == 1


def provider_scopes_of(mode: str) -> list[str]:
    return requested_scopes(Flow.INDIVIDUAL_CONSENT, provider="google", access_mode=mode)


def test_microsoft_free_busy_consent_is_given_to_the_least_privileged_app_registration(live_server, integrator, world):
    application, _ = integrator
    erin = make_user("erin@contoso.example", "Erin")
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, scope=ALL)), erin.email)
    page = browser.submit(
        browser.submit(page, {"provider": "microsoft"}), {"action": "continue", "access_mode": "free_busy"}
    )
    page = browser.submit(page, {"account": erin.email})
    assert "Scheduling (Free/Busy)" in page.text
    assert "Scheduling (Read-Write)" not in page.text
    assert sandbox_authorize_query(browser)["client_id"] == [settings.MICROSOFT_FREE_BUSY_CLIENT_ID]
    assert "code" in callback_params(browser.submit(page, {"decision": "accept"}))
    profile = CalendarProfile.objects.get(user=erin)
    assert profile.credentials["client_id"] == settings.MICROSOFT_FREE_BUSY_CLIENT_ID
    assert profile.calendars.filter(is_primary=True).exists()  # the first sync ran with that registration's tokens


def test_microsoft_read_write_consent_is_given_to_the_read_write_app_registration(live_server, integrator, world):
    application, _ = integrator
    erin = make_user("erin@contoso.example", "Erin")
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, scope=ALL)), erin.email)
    page = browser.submit(
        browser.submit(page, {"provider": "microsoft"}), {"action": "continue", "access_mode": "read_write"}
    )
    page = browser.submit(page, {"account": erin.email})
    assert "Scheduling (Read-Write)" in page.text
    assert sandbox_authorize_query(browser)["client_id"] == [settings.MICROSOFT_CLIENT_ID]


def test_someone_who_signed_up_with_the_domains_address_gets_no_stray_profile(
    live_server, integrator, alice, acme, bob, world, google_service_account
):
    """Zoe signed up here by herself with an acme.example address; Acme's Workspace has no user Zoe. The
    organization's grant can act for nobody of that name: she is told so, and no profile is made that
    would only ever wait for a relink (nor is Acme's service blamed)."""
    application, _ = integrator
    service = acme_workspace(acme, bob, AccessMode.READ_WRITE)
    delegate_acme_workspace(world, service, google_service_account, test_subject=alice.email, actor=bob)
    zoe = make_user("zoe@acme.example", "Zoe")

    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), zoe.email)
    assert "Acme has connected your calendar already" in page.text
    page = browser.submit(page, {"action": "continue"})

    assert page.status_code == 400
    assert "Your calendar was not connected" in page.text
    assert "has no user zoe@acme.example" in page.text
    assert not CalendarProfile.objects.filter(user=zoe).exists()
    assert not CalendarProfile.objects.filter(status=ProfileStatus.RELINK_REQUIRED).exists()
    service.refresh_from_db()
    assert service.status == "active"
