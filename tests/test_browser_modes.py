"""The access modes in a real browser: a person connects in each mode and reads what the consent page
says of it, reconnects lower and finds one calendar on their own page, and sets working hours there
that `/v1/availability` then honours."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts.oauth import application_create, tokens_issue_for
from calendars.models import CalendarProfile
from calendars.services import calendar_profile_connect
from conftest import PASSWORD, make_user
from core.choices import AccessMode
from tests.browser import SCREENSHOTS
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = zoneinfo.ZoneInfo("Europe/London")
SCOPE = "read_account list_calendars read_events read_free_busy create_event delete_event free_busy_write"


@pytest.fixture
def application(world):
    make_user("alice@acme.example", "Alice")
    make_user("erin@contoso.example", "Erin")
    return application_create(
        name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT], offered_access_modes=list(AccessMode.values)
    )[0]


def wait(browser, condition, seconds: int = 10):
    # While a submitted form navigates, Chrome may answer a read of the old page's element with an
    # inspector error ("Node with given id does not belong to the document") instead of a stale
    # reference: both only mean "not yet", so the condition is tried again until it holds or times out.
    return WebDriverWait(browser, seconds, ignored_exceptions=(WebDriverException,)).until(condition)


def sign_in(browser, email: str) -> None:
    wait(browser, expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def start(browser, live_server, application, email: str, *, signed_in: bool = False) -> None:
    if not signed_in:
        browser.get(f"{live_server.url}/healthz")  # cookies are deleted for the page's own site
        browser.delete_all_cookies()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": INTEGRATOR_REDIRECT,
            "scope": SCOPE,
            "state": "s-1",
        }
    )
    browser.get(f"{live_server.url}/oauth/authorize?{query}")
    if not signed_in:
        sign_in(browser, email)
    wait(browser, expected_conditions.title_contains("Choose your calendar"))


def mode_lists(browser, mode: str) -> tuple[list[str], list[str]]:
    label = browser.find_element(By.CSS_SELECTOR, f"label[data-mode='{mode}']")
    can = [li.text for li in label.find_elements(By.CSS_SELECTOR, ".mode-permissions li")]
    cannot = [li.text for li in label.find_elements(By.CSS_SELECTOR, ".mode-withheld li")]
    return can, cannot


def back_at_integrator(browser) -> None:
    wait(browser, lambda b: b.current_url.startswith(INTEGRATOR_REDIRECT), 15)
    assert "code=" in browser.current_url


def choose_and_continue(browser, mode: str) -> None:
    radios = browser.find_elements(By.ID, f"mode-{mode}")
    if radios and radios[0].get_attribute("type") == "radio":
        radios[0].click()
    browser.find_element(By.XPATH, "//button[@value='continue']").click()


def test_connecting_in_each_mode_says_what_the_mode_lets_the_application_do(browser, live_server, application):
    # Read-Write, with Google
    start(browser, live_server, application, "alice@acme.example")
    browser.find_element(By.XPATH, "//button[@value='google']").click()
    wait(browser, expected_conditions.title_contains("how much access"))
    can, cannot = mode_lists(browser, AccessMode.READ_WRITE)
    assert "See the events in your calendars" in can and cannot == []
    can, cannot = mode_lists(browser, AccessMode.FREE_BUSY)
    assert "See when you are free or busy, never what your events are" in can
    assert "See the events in your calendars" not in can
    assert cannot == ["See the events in your calendars"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "consent_mode_words.png"))
    choose_and_continue(browser, AccessMode.READ_WRITE)
    wait(browser, expected_conditions.title_contains("Choose an account"))
    browser.find_element(By.XPATH, "//button[@value='alice@acme.example']").click()
    wait(browser, expected_conditions.title_contains("wants access"))
    browser.find_element(By.XPATH, "//button[@value='allow']").click()
    back_at_integrator(browser)

    # Free/Busy, with Microsoft: the least-privileged app registration asks
    start(browser, live_server, application, "erin@contoso.example")
    browser.find_element(By.XPATH, "//button[@value='microsoft']").click()
    wait(browser, expected_conditions.title_contains("how much access"))
    choose_and_continue(browser, AccessMode.FREE_BUSY)
    wait(browser, expected_conditions.title_contains("Pick an account"))
    browser.find_element(By.XPATH, "//button[@value='erin@contoso.example']").click()
    wait(browser, expected_conditions.title_contains("Permissions requested"))
    consent = browser.find_element(By.TAG_NAME, "main").text
    assert "Scheduling (Free/Busy)" in consent and "Calendars.ReadBasic" in consent
    browser.find_element(By.XPATH, "//button[@value='accept']").click()
    back_at_integrator(browser)

    # No Access: offered on Connect a calendar, no provider at all
    start(browser, live_server, application, "alice@acme.example")
    browser.find_element(By.XPATH, "//button[@value='no_access']").click()
    wait(browser, expected_conditions.title_contains("Review access"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "cannot see or change your calendar at all" in page
    assert "when you are busy" not in page.lower()
    can, cannot = mode_lists(browser, AccessMode.NO_ACCESS)
    assert "See when you are available, from the hours you set here and the events it books" in can
    assert cannot == ["See the events in your calendars"]
    choose_and_continue(browser, AccessMode.NO_ACCESS)
    back_at_integrator(browser)
    assert set(CalendarProfile.objects.values_list("provider_name", flat=True)) == {
        "google",
        "ms_graph_free_busy",
        "cronofy",
    }


def test_reconnecting_lower_leaves_one_calendar_on_the_persons_own_page(browser, live_server, application):
    for mode in (AccessMode.READ_WRITE, AccessMode.FREE_BUSY):
        start(browser, live_server, application, "alice@acme.example", signed_in=mode == AccessMode.FREE_BUSY)
        browser.find_element(By.XPATH, "//button[@value='google']").click()
        wait(browser, expected_conditions.title_contains("how much access"))
        choose_and_continue(browser, mode)
        wait(browser, expected_conditions.title_contains("Choose an account"))
        browser.find_element(By.XPATH, "//button[@value='alice@acme.example']").click()
        wait(browser, expected_conditions.title_contains("wants access"))
        browser.find_element(By.XPATH, "//button[@value='allow']").click()
        back_at_integrator(browser)

    browser.get(f"{live_server.url}/my/calendars/")
    wait(browser, expected_conditions.title_contains("My calendars"))
    cards = browser.find_elements(By.CSS_SELECTOR, "article.profile")
    assert len(cards) == 1
    assert "Free/Busy" in cards[0].text and "Read-Write" not in cards[0].find_element(By.CSS_SELECTOR, ".badge").text
    assert CalendarProfile.objects.filter(user__email="alice@acme.example").count() == 1


def set_time(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value.replace(":", ""))
    if field.get_attribute("value") != value:  # a 12-hour locale wants AM/PM typed too
        field.send_keys("AM" if int(value[:2]) < 12 else "PM")
    assert field.get_attribute("value") == value


def test_working_hours_set_on_the_own_page_are_what_v1_availability_offers(browser, live_server, world):
    nina = make_user("nina@legal.acme.example", "Nina")
    calendar_profile_connect(user=nina, provider_name="cronofy", profile_name=nina.email)
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    tokens_issue_for(application=application, user=nina, scopes=["free_busy"])

    browser.get(f"{live_server.url}/healthz")
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/my/calendars/")
    sign_in(browser, nina.email)
    wait(browser, expected_conditions.title_contains("My calendars"))
    Select(browser.find_element(By.NAME, "tzid")).select_by_value("Europe/London")
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday"):
        set_time(browser, f"{day}_start", "10:00")
        set_time(browser, f"{day}_end", "12:00")
    browser.find_element(By.XPATH, "//button[text()='Save working hours']").click()
    wait(browser, expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".messages"), "saved"))
    week = browser.find_element(By.CSS_SELECTOR, "ol.week").text
    assert "Available 10:00 to 12:00" in week
    browser.save_screenshot(str(SCREENSHOTS / "own_page_week.png"))

    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday()) + timedelta(weeks=1)
    query_start = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
    response = requests.post(
        f"{live_server.url}/v1/availability",
        json={
            "participants": [{"members": [{"sub": nina.public_id}], "required": "all"}],
            "required_duration": {"minutes": 60},
            "query_periods": [
                {
                    "start": query_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end": (query_start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
            "tzid": "Europe/London",
        },
        headers={"Authorization": f"Bearer {secret}"},
        timeout=20,
    )
    assert response.status_code == 200, response.text
    offered = response.json()["available_periods"]
    assert len(offered) == 5
    for period in offered:
        start = datetime.fromisoformat(period["start"].replace("Z", "+00:00")).astimezone(LONDON)
        end = datetime.fromisoformat(period["end"].replace("Z", "+00:00")).astimezone(LONDON)
        assert (start.strftime("%H:%M"), end.strftime("%H:%M")) == ("10:00", "12:00")
