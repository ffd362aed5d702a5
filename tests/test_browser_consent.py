"""The consent pages in a real browser: a person connects Google in Read-Write, then Microsoft in
Free/Busy, reading what each mode means before choosing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.oauth import application_create
from calendars.models import CalendarProfile
from conftest import PASSWORD, make_user
from core.choices import AccessMode
from tests.browser import SCREENSHOTS
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def start(browser, live_server, application, email: str) -> None:
    browser.delete_all_cookies()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": INTEGRATOR_REDIRECT,
            "scope": "read_account list_calendars create_event delete_event free_busy_write",
            "state": "s-1",
        }
    )
    browser.get(f"{live_server.url}/oauth/authorize?{query}")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose your calendar"))


def wait_for_integrator(browser) -> dict[str, list[str]]:
    # The integrator's host does not exist; the browser stops on its error page with the address.
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(INTEGRATOR_REDIRECT))
    return parse_qs(urlparse(browser.current_url).query)


@pytest.fixture
def application(world):
    make_user("alice@acme.example", "Alice")
    make_user("erin@contoso.example", "Erin")
    return application_create(name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])[0]


def test_read_write_with_google_says_events_are_written_natively(browser, live_server, application):
    start(browser, live_server, application, "alice@acme.example")
    browser.find_element(By.XPATH, "//button[@value='google']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("how much access"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "How much access should Acme Scheduler have?" in page
    assert "Events it books are created directly in your calendar" in page
    assert "Events it books arrive as email invitations" in page
    assert "meeting rooms cannot be invited" in page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "consent_modes.png"))
    browser.find_element(By.ID, "mode-read_write").click()
    browser.find_element(By.XPATH, "//button[@value='continue']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Choose an account"))
    browser.find_element(By.XPATH, "//button[@value='alice@acme.example']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("wants access"))
    granted = [box.get_attribute("value") for box in browser.find_elements(By.NAME, "granted")]
    assert granted == ["https://www.googleapis.com/auth/calendar"]
    browser.find_element(By.XPATH, "//button[@value='allow']").click()
    assert "code" in wait_for_integrator(browser)
    assert CalendarProfile.objects.get(user__email="alice@acme.example").access_mode == AccessMode.READ_WRITE


def test_free_busy_with_microsoft_asks_only_for_read_basic(browser, live_server, application):
    start(browser, live_server, application, "erin@contoso.example")
    browser.find_element(By.XPATH, "//button[@value='microsoft']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("how much access"))
    browser.find_element(By.CSS_SELECTOR, "label[for='mode-free_busy'] details summary").click()
    scopes = browser.find_element(By.CSS_SELECTOR, "label[for='mode-free_busy'] details").text
    assert "Calendars.ReadBasic" in scopes
    assert "Calendars.ReadWrite" not in scopes
    assert (
        "never titles, descriptions, locations or attendees"
        in browser.find_element(By.CSS_SELECTOR, "label[for='mode-free_busy']").text
    )
    browser.find_element(By.ID, "mode-free_busy").click()
    browser.find_element(By.XPATH, "//button[@value='continue']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Pick an account"))
    browser.find_element(By.XPATH, "//button[@value='erin@contoso.example']").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Permissions requested"))
    assert "Calendars.ReadBasic" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.XPATH, "//button[@value='accept']").click()
    assert "code" in wait_for_integrator(browser)
    profile = CalendarProfile.objects.get(user__email="erin@contoso.example")
    assert profile.provider_name == "ms_graph_free_busy"
