"""The console's details and the consent's dead end, in a real browser (headless Chromium), with a
screenshot of each changed page under var/screenshots/: the Google key check telling an unknown test
user from missing scopes, a self-signed-up person who gets no stray profile, a person's own
connections through integrators on their console page, and answering the provider again after
cancelling."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.oauth import application_create, tokens_issue_for
from calendars.choices import CalendarProvider, ProfileStatus
from calendars.models import CalendarProfile
from calendars.scopes import Flow, requested_scopes
from calendars.services import calendar_profile_connect, calendar_service_authorize_google, calendar_service_connect
from conftest import PASSWORD, make_user, vouched
from core.choices import AccessMode
from sandbox.models import DelegationGrant
from tests.browser import SCREENSHOTS
from tests.e2e import INTEGRATOR_REDIRECT
from tests.test_browser_admin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(browser: webdriver.Chrome, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def body(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def wait_for_text(browser: webdriver.Chrome, text: str, timeout: int = 30) -> None:
    # The page may be replaced while it is read (a form posted, a redirect followed): read it again then.
    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: text in body(driver)
    )


def google_service(acme, bob, mode: str, domain: str = "acme.example"):
    return vouched(
        calendar_service_connect(
            organization=acme, provider=CalendarProvider.GOOGLE, access_mode=mode, domains=[domain], connected_by=bob
        )
    )


def delegate(world, account, mode: str) -> None:
    DelegationGrant.objects.update_or_create(
        tenant=world.tenants["acme"],
        service_account=account,
        defaults={"scopes": requested_scopes(Flow.ORGANIZATION_CALENDAR, provider="google", access_mode=mode)},
    )


def start_consent(
    browser: webdriver.Chrome, live_server, application, email: str, scope: str = "read_account list_calendars"
) -> None:
    browser.delete_all_cookies()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": INTEGRATOR_REDIRECT,
            "scope": scope,
            "state": "s-1",
        }
    )
    browser.get(f"{live_server.url}/oauth/authorize?{query}")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def test_the_key_check_names_an_unknown_test_user_and_offers_no_foreign_default(
    browser, live_server, world, google_service_account, acme, bob
):
    service = google_service(acme, bob, AccessMode.FREE_BUSY)
    delegate(world, google_service_account, AccessMode.FREE_BUSY)
    key_file = SCREENSHOTS.parent / "tmp-key.json"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps(google_service_account.key))
    sign_in(browser, live_server, bob.email)
    browser.get(f"{live_server.url}/admin/calendars/calendarservice/{service.pk}/authorize-google/")
    test_user = browser.find_element(By.NAME, "test_user")
    test_user.clear()
    test_user.send_keys("nobody@acme.example")
    browser.find_element(By.NAME, "key_file").send_keys(str(key_file.resolve()))
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_text(browser, "Google Workspace has no user nobody@acme.example")
    assert "Missing:" not in body(browser)
    shot(browser, "console_google_unknown_test_user")

    # A service of a domain Bob is no user of: the field is empty, with a suggestion.
    legal = google_service(acme, bob, AccessMode.READ_WRITE, domain="legal.acme.example")
    browser.get(f"{live_server.url}/admin/calendars/calendarservice/{legal.pk}/authorize-google/")
    field = browser.find_element(By.NAME, "test_user")
    assert field.get_attribute("value") == ""
    assert field.get_attribute("placeholder") == "admin@legal.acme.example"
    shot(browser, "console_google_test_user_suggested")
    key_file.unlink()


def test_someone_who_signed_up_by_themselves_is_told_and_gets_no_stray_profile(
    browser, live_server, world, google_service_account, acme, bob
):
    service = google_service(acme, bob, AccessMode.READ_WRITE)
    delegate(world, google_service_account, AccessMode.READ_WRITE)
    calendar_service_authorize_google(
        service=service, key=google_service_account.key, test_subject=bob.email, actor=bob
    )
    zoe = make_user("zoe@acme.example", "Zoe")
    application, _ = application_create(name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    start_consent(browser, live_server, application, zoe.email)
    wait_for_text(browser, "Acme has connected your calendar already")
    browser.find_element(By.XPATH, "//button[@value='continue']").click()
    wait_for_text(browser, "Your calendar was not connected")
    assert "has no user zoe@acme.example" in body(browser)
    shot(browser, "consent_not_a_workspace_user")
    assert not CalendarProfile.objects.filter(user=zoe).exists()
    assert not CalendarProfile.objects.filter(status=ProfileStatus.RELINK_REQUIRED).exists()


def test_a_persons_page_shows_their_own_connections_through_integrators(
    browser, live_server, acme, bob, alice, acme_services
):
    calendar_profile_connect(
        user=alice,
        provider_name="google_free_busy",
        profile_name="alice.home@gmail.example",
        provider_account_id="google-alice-home",
    )
    calendar_profile_connect(user=alice, provider_name="cronofy", profile_name=alice.email)
    application, _ = application_create(name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    tokens_issue_for(application=application, user=alice, scopes=["read_free_busy"])
    sign_in(browser, live_server, bob.email)
    browser.get(f"{live_server.url}/admin/accounts/user/{alice.pk}/change/")
    panel = browser.find_element(By.ID, "own-connections").text
    assert "alice.home@gmail.example" in panel and "Free/Busy" in panel and "Acme Scheduler (" in panel
    assert "Read-Write (Acme) · within it" in panel
    browser.execute_script("document.getElementById('own-connections').scrollIntoView()")
    shot(browser, "console_person_own_connections")


def test_continuing_at_the_provider_after_cancelling_offers_to_start_again(browser, live_server, world, acme):
    make_user("alice@acme.example", "Alice")
    application, _ = application_create(name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    start_consent(
        browser, live_server, application, "alice@acme.example", scope="read_account list_calendars free_busy_write"
    )
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose your calendar"))
    browser.find_element(By.XPATH, "//button[@value='google']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("how much access"))
    browser.find_element(By.XPATH, "//button[@value='continue']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose an account"))
    browser.find_element(By.XPATH, "//button[@value='alice@acme.example']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("wants access"))
    browser.find_element(By.XPATH, "//button[@value='deny']").click()  # Cancel at the provider
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(INTEGRATOR_REDIRECT))
    assert "error=access_denied" in browser.current_url

    browser.back()  # Back to the provider's pages...
    browser.back()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose an account"))
    browser.find_element(By.XPATH, "//button[@value='alice@acme.example']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("wants access"))
    browser.find_element(By.XPATH, "//button[@value='allow']").click()  # ...and Continue
    wait_for_text(browser, "This connection was already ended")
    assert "Third-Party Login Failure" not in body(browser)
    shot(browser, "consent_provider_answer_after_cancelling")
    browser.find_element(By.ID, "start-again").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose your calendar"))
    assert not CalendarProfile.objects.exists()
