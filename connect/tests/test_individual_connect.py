"""Individual Connect end to end: an integrator sends a person to /oauth/authorize, they sign in,
choose provider and access mode, consent at the (sandbox) provider, and the integrator exchanges the
code at /oauth/token. Real HTTP throughout: this system and the sandbox on the live server, allauth
and the provider libraries as in production."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests
from django.core import mail

from accounts.models import Grant
from accounts.oauth import application_create
from calendars.models import CalendarProfile
from calendars.scopes import Flow, requested_scopes
from conftest import make_user
from core.choices import AccessMode
from tests.e2e import INTEGRATOR_REDIRECT, Browser, callback_params, sandbox_authorize_query

pytestmark = pytest.mark.django_db(transaction=True)

ALL = "read_account list_calendars read_events create_event delete_event free_busy_write"


@pytest.fixture
def integrator(world):
    application, secret = application_create(
        name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )
    return application, secret


@pytest.fixture
def people(world):
    return {"alice": make_user("alice@acme.example", "Alice"), "erin": make_user("erin@contoso.example", "Erin")}


def authorize_url(application, *, scope: str = ALL, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": INTEGRATOR_REDIRECT,
        "scope": scope,
        "state": "state-123",
        **extra,
    }
    return "/oauth/authorize?" + urlencode(params)


def connect(
    live_server,
    application,
    email: str,
    *,
    provider: str | None = None,
    mode: str | None = None,
    scope: str = ALL,
    untick: tuple[str, ...] = (),
    decline_at_provider: bool = False,
    **extra: str,
):
    """The whole consent as the person clicks through it; returns the browser and the callback query."""
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, scope=scope, **extra)), email)
    if "Which calendar do you use?" in page.text:
        page = browser.submit(page, {"provider": provider})
    answer = {"action": "continue", **({"access_mode": mode} if mode else {})}
    page = browser.submit(page, answer)
    if page.is_redirect:
        return browser, callback_params(page)  # No Access: straight back to the integrator
    page = browser.submit(page, {"account": email})
    if "/sandbox/google/" in page.url:
        ticked = [s for s in re.findall(r'name="granted" value="([^"]+)"', page.text) if s not in untick]
        page = browser.submit(page, {"granted": ticked, "decision": "deny" if decline_at_provider else "allow"})
    else:
        page = browser.submit(page, {"decision": "cancel" if decline_at_provider else "accept"})
    return browser, callback_params(page)


def exchange(
    live_server, application, secret: str, code: str, *, redirect_uri: str = INTEGRATOR_REDIRECT, as_json: bool = True
) -> requests.Response:
    body = {
        "client_id": application.client_id,
        "client_secret": secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    if as_json:
        return requests.post(f"{live_server.url}/oauth/token", json=body, timeout=20)
    return requests.post(f"{live_server.url}/oauth/token", data=body, timeout=20)


@pytest.mark.parametrize(
    ("email", "provider", "mode", "provider_name"),
    [
        ("alice@acme.example", "google", AccessMode.READ_WRITE, "google"),
        ("alice@acme.example", "google", AccessMode.FREE_BUSY, "google_free_busy"),
        ("erin@contoso.example", "microsoft", AccessMode.READ_WRITE, "office365"),
        ("erin@contoso.example", "microsoft", AccessMode.FREE_BUSY, "ms_graph_free_busy"),
    ],
)
def test_a_person_connects_in_the_mode_they_choose_and_the_provider_is_asked_for_exactly_its_scopes(
    live_server, integrator, people, email, provider, mode, provider_name
):
    application, secret = integrator
    browser, callback = connect(live_server, application, email, provider=provider, mode=mode)
    assert callback["state"] == "state-123"
    asked = sandbox_authorize_query(browser)["scope"][0].split()
    assert sorted(asked) == sorted(requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=provider, access_mode=mode))

    tokens = exchange(live_server, application, secret, callback["code"]).json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["sub"] == tokens["account_id"] == people[email.split("@")[0]].public_id
    assert tokens["linking_profile"]["provider_name"] == provider_name
    assert set(tokens["scope"].split()) >= {"read_account", "read_free_busy", "create_event"}

    profile = CalendarProfile.objects.get(public_id=tokens["linking_profile"]["profile_id"])
    assert profile.access_mode == mode
    assert sorted(profile.granted_scopes) == sorted(asked)
    assert profile.credentials["refresh_token"]
    assert profile.credentials["access_token"]
    assert [calendar.is_primary for calendar in profile.calendars.all()] == [True]  # listed by the first sync
    # allauth's own notices ("signed in", "account connected") do not trail the person onto our next page.
    assert 'class="messages"' not in browser.go("GET", "/").text


def test_a_person_who_unticks_a_scope_at_google_gets_a_profile_that_says_so(live_server, integrator, people):
    application, _ = integrator
    unticked = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
    connect(
        live_server, application, "alice@acme.example", provider="google", mode=AccessMode.FREE_BUSY, untick=(unticked,)
    )
    profile = CalendarProfile.objects.get(user__email="alice@acme.example")
    assert unticked not in profile.granted_scopes
    assert "https://www.googleapis.com/auth/calendar.events.freebusy" in profile.granted_scopes
    assert profile.status == "relink_required"  # the first sync could not list calendars without that scope


@pytest.mark.parametrize(
    ("provider_name", "expected"),
    [("google_free_busy", "google_free_busy"), ("ms_graph_free_busy", "ms_graph_free_busy")],
)
def test_provider_name_forces_free_busy_and_skips_both_choices(
    live_server, integrator, people, provider_name, expected
):
    application, secret = integrator
    email = "alice@acme.example" if provider_name.startswith("google") else "erin@contoso.example"
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, provider_name=provider_name)), email)
    assert "Which calendar do you use?" not in page.text
    assert 'type="radio"' not in page.text
    assert "Free/Busy" in page.text
    _, callback = connect(live_server, application, email, provider_name=provider_name)
    assert (
        exchange(live_server, application, secret, callback["code"]).json()["linking_profile"]["provider_name"]
        == expected
    )


def test_without_free_busy_write_there_is_no_mode_choice_and_read_write_is_used(live_server, integrator, people):
    application, secret = integrator
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application, scope="read_write")), "alice@acme.example")
    page = browser.submit(page, {"provider": "google"})
    assert 'type="radio"' not in page.text
    _, callback = connect(live_server, application, "alice@acme.example", provider="google", scope="read_write")
    assert (
        exchange(live_server, application, secret, callback["code"]).json()["linking_profile"]["provider_name"]
        == "google"
    )


def test_no_access_gives_a_hosted_calendar_to_a_proven_email_address(live_server, integrator, people):
    application, secret = integrator
    _, callback = connect(live_server, application, "alice@acme.example", provider_name="cronofy")
    tokens = exchange(live_server, application, secret, callback["code"]).json()
    assert tokens["linking_profile"]["provider_name"] == "cronofy"
    profile = CalendarProfile.objects.get(public_id=tokens["linking_profile"]["profile_id"])
    assert profile.credentials is None
    assert profile.calendars.get().is_primary


def test_no_access_waits_for_the_email_confirmation_link(live_server, integrator, world):
    from allauth.account.models import EmailAddress

    application, secret = integrator
    person = make_user("newcomer@acme.example")
    EmailAddress.objects.filter(user=person).update(verified=False)
    browser = Browser(live_server.url)
    page = browser.sign_in(
        browser.go("GET", authorize_url(application, provider_name="cronofy")), "newcomer@acme.example"
    )
    assert "verification email" in page.text  # signing in is not enough: the address must be proven
    assert not CalendarProfile.objects.filter(user=person).exists()  # no profile before the proof
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page = browser.submit(browser.go("GET", link), {})  # confirm: signed in, back on the consent page
    assert "No Access" in page.text
    callback = callback_params(browser.submit(page, {"action": "continue"}))
    tokens = exchange(live_server, application, secret, callback["code"]).json()
    assert tokens["linking_profile"]["provider_name"] == "cronofy"


def test_no_access_is_refused_for_an_application_that_does_not_offer_it(live_server, world, people):
    application, _ = application_create(name="Plain", redirect_uris=[INTEGRATOR_REDIRECT])
    response = requests.get(
        f"{live_server.url}{authorize_url(application, provider_name='cronofy')}", allow_redirects=False, timeout=20
    )
    params = callback_params(response)
    assert params["error"] == "invalid_request"
    assert params["state"] == "state-123"


def test_declining_on_our_page_or_at_the_provider_returns_access_denied(live_server, integrator, people):
    application, _ = integrator
    browser = Browser(live_server.url)
    page = browser.sign_in(browser.go("GET", authorize_url(application)), "alice@acme.example")
    declined = browser.submit(page, {"action": "decline"})
    assert callback_params(declined) == {"error": "access_denied", "state": "state-123"}
    _, callback = connect(
        live_server,
        application,
        "alice@acme.example",
        provider="google",
        mode=AccessMode.READ_WRITE,
        decline_at_provider=True,
    )
    assert callback == {"error": "access_denied", "state": "state-123"}
    _, callback = connect(
        live_server,
        application,
        "erin@contoso.example",
        provider="microsoft",
        mode=AccessMode.FREE_BUSY,
        decline_at_provider=True,
    )
    assert callback == {"error": "access_denied", "state": "state-123"}
    assert not CalendarProfile.objects.exists()


def test_bad_authorization_requests(live_server, integrator):
    application, _ = integrator
    unknown = requests.get(
        f"{live_server.url}/oauth/authorize?client_id=nope&redirect_uri={INTEGRATOR_REDIRECT}"
        "&response_type=code&scope=read_account",
        timeout=20,
        allow_redirects=False,
    )
    assert unknown.status_code == 400
    assert "This link doesn't work" in unknown.text
    foreign = requests.get(
        f"{live_server.url}/oauth/authorize?client_id={application.client_id}"
        "&redirect_uri=https://evil.example/cb&response_type=code&scope=read_account",
        timeout=20,
        allow_redirects=False,
    )
    assert foreign.status_code == 400  # never redirected to an unregistered address
    bad_scope = requests.get(
        f"{live_server.url}{authorize_url(application, scope='read_everything')}", timeout=20, allow_redirects=False
    )
    assert callback_params(bad_scope)["error"] == "invalid_scope"


def test_codes_are_single_use_and_bound_to_the_redirect_uri(live_server, integrator, people):
    application, secret = integrator
    _, callback = connect(live_server, application, "alice@acme.example", provider="google", mode=AccessMode.READ_WRITE)
    wrong = exchange(live_server, application, secret, callback["code"], redirect_uri="https://integrator.example/x")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    first = exchange(live_server, application, secret, callback["code"], as_json=False)
    assert first.status_code == 200
    again = exchange(live_server, application, secret, callback["code"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # The replay revoked what the code had produced.
    assert (
        requests.get(
            f"{live_server.url}/v1/account",
            timeout=20,
            headers={"Authorization": f"Bearer {first.json()['access_token']}"},
        ).status_code
        == 401
    )
    bad_secret = exchange(live_server, application, "wrong", callback["code"])
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "invalid_client"


def test_refresh_rotates_and_revoke_ends_access(live_server, integrator, people):
    application, secret = integrator
    _, callback = connect(live_server, application, "alice@acme.example", provider="google", mode=AccessMode.READ_WRITE)
    first = exchange(live_server, application, secret, callback["code"]).json()
    token_url = f"{live_server.url}/oauth/token"
    refreshed = requests.post(
        token_url,
        json={
            "client_id": application.client_id,
            "client_secret": secret,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },
        timeout=20,
    ).json()
    assert refreshed["access_token"] != first["access_token"]
    assert "linking_profile" not in refreshed
    stale = requests.post(
        token_url,
        data={
            "client_id": application.client_id,
            "client_secret": secret,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },
        timeout=20,
    )
    assert stale.status_code == 400
    assert stale.json()["error"] == "invalid_grant"
    headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert requests.get(f"{live_server.url}/v1/account", headers=headers, timeout=20).status_code == 200
    revoked = requests.post(
        f"{live_server.url}/oauth/token/revoke",
        json={"client_id": application.client_id, "client_secret": secret, "token": refreshed["refresh_token"]},
        timeout=20,
    )
    assert revoked.status_code == 200
    assert requests.get(f"{live_server.url}/v1/account", headers=headers, timeout=20).status_code == 401
    assert Grant.objects.get().revoked_at is not None


def test_another_application_cannot_use_or_revoke_this_grant(live_server, integrator, people):
    application, secret = integrator
    other, other_secret = application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])
    _, callback = connect(live_server, application, "alice@acme.example", provider="google", mode=AccessMode.READ_WRITE)
    tokens = exchange(live_server, application, secret, callback["code"]).json()
    stolen = requests.post(
        f"{live_server.url}/oauth/token",
        json={
            "client_id": other.client_id,
            "client_secret": other_secret,
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
        timeout=20,
    )
    assert stolen.status_code == 400
    requests.post(
        f"{live_server.url}/oauth/token/revoke",
        json={"client_id": other.client_id, "client_secret": other_secret, "sub": tokens["sub"]},
        timeout=20,
    )
    assert Grant.objects.get(application=application).revoked_at is None
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{live_server.url}/v1/account", headers=headers, timeout=20).status_code == 200


def test_several_profiles_link_to_one_account_unless_avoid_linking(live_server, integrator, people):
    application, secret = integrator
    browser, _first = connect(
        live_server, application, "alice@acme.example", provider="google", mode=AccessMode.READ_WRITE
    )
    page = browser.go("GET", authorize_url(application, provider_name="cronofy"))
    assert "/accounts/login/" not in page.url  # same browser, same account
    second = browser.submit(page, {"action": "continue"})
    tokens = exchange(live_server, application, secret, callback_params(second)["code"]).json()
    assert tokens["sub"] == people["alice"].public_id
    assert CalendarProfile.objects.filter(user=people["alice"]).count() == 2
    page = browser.go("GET", authorize_url(application, avoid_linking="true"))
    assert "/accounts/login/" in page.url  # signed out: the person says who they are again


def test_answering_the_provider_again_after_cancelling_offers_to_start_again(live_server, integrator, people):
    """Cancel at the provider (the application hears access_denied), press Back and continue there: the
    provider's late answer belongs to no flow. The page says so and offers to start again or go back."""
    application, _ = integrator
    browser, callback = connect(
        live_server,
        application,
        "alice@acme.example",
        provider="google",
        mode=AccessMode.READ_WRITE,
        decline_at_provider=True,
    )
    assert callback == {"error": "access_denied", "state": "state-123"}
    chooser_url = next(url for url in browser.visited if "/sandbox/google/o/oauth2/v2/auth?" in url)

    page = browser.go("GET", chooser_url)  # Back, to the provider's pages
    page = browser.submit(page, {"account": "alice@acme.example"})
    granted = re.findall(r'name="granted" value="([^"]+)"', page.text)
    page = browser.submit(page, {"granted": granted, "decision": "allow"})  # ...and Continue

    assert page.status_code == 400
    assert "This connection was already ended" in page.text
    assert "Third-Party Login Failure" not in page.text
    restart = re.search(r'id="start-again" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    back = re.search(r'id="back-to-application" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert back.startswith(INTEGRATOR_REDIRECT) and "error=access_denied" in back and "state=state-123" in back
    again = browser.go("GET", restart)
    assert again.status_code == 200 and "/oauth/consent/" in again.url  # a new flow, same request
    assert not CalendarProfile.objects.exists()
