"""The IT-admin console in a real browser (headless Chromium from the system's packages)."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from calendars.services import calendar_service_authorize
from conftest import PASSWORD
from core.choices import AccessMode
from tests.browser import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(browser: webdriver.Chrome, live_server, email: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("IT admin console"))


def test_an_organization_admin_sees_their_services_modes_and_what_is_shared(
    browser, live_server, acme, bob, acme_services, globex_service
):
    calendar_service_authorize(
        service=acme_services[AccessMode.READ_WRITE],
        credentials={"k": "v"},
        actor=bob,
        granted_scopes=["email", "profile", "https://www.googleapis.com/auth/calendar"],
    )
    sign_in(browser, live_server, bob.email)

    browser.find_element(By.LINK_TEXT, "Organizations").click()
    assert "Globex" not in browser.find_element(By.ID, "result_list").text
    browser.find_element(By.LINK_TEXT, "Acme").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("Acme"))

    services = browser.find_element(By.ID, "calendarservices-group")
    rows = services.find_elements(By.CSS_SELECTOR, "tbody tr.has_original")
    assert len(rows) == 3
    lines = sorted(row.text for row in rows)
    assert any("acme.example" in line and "Read-Write" in line and "Connected" in line for line in lines), lines
    assert any(
        "emea.acme.example" in line and "Free/Busy" in line and "Awaiting authorization" in line for line in lines
    ), lines
    assert any("legal.acme.example" in line and "No Access" in line for line in lines), lines

    shared = browser.find_element(By.CSS_SELECTOR, ".data-shared-section")
    assert "see when you are busy" not in shared.text  # Microsoft Free/Busy: Graph has no free/busy-only scope
    assert "Calendars.ReadBasic.All" in shared.text
    assert "never titles, descriptions, locations or attendees" in shared.text
    assert "No provider scopes: this connection gives no access to the provider." in shared.text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "organization.png"))

    browser.get(f"{live_server.url}/admin/calendars/calendarservice/{acme_services[AccessMode.FREE_BUSY].pk}/change/")
    panel = browser.find_element(By.CSS_SELECTOR, ".data-shared")
    assert "Free/Busy: Only when people are free or busy is seen" in panel.text
    browser.save_screenshot(str(SCREENSHOTS / "calendar_service.png"))


def test_the_outsider_admin_finds_nothing_of_acme(browser, live_server, charlie, acme_services, globex_service):
    sign_in(browser, live_server, charlie.email)
    browser.get(f"{live_server.url}/admin/calendars/calendarservice/")
    listing = browser.find_element(By.ID, "result_list").text
    assert "globex.example" in listing
    assert "acme.example" not in listing
    browser.get(f"{live_server.url}/admin/calendars/calendarservice/{acme_services[AccessMode.READ_WRITE].pk}/change/")
    assert "acme.example" not in browser.page_source
    assert "Not Found" in browser.page_source or "404" in browser.title
