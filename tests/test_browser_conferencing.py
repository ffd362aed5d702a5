"""Connecting Zoom in the IT-admin console, in a real browser (headless Chromium): the service page
says what to do, the credentials page says which scopes, the test meeting runs, and the linked people
and what is shared appear."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from conferencing.models import ConferencingService
from tests.browser import SCREENSHOTS
from tests.test_browser_admin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bob_connects_zoom_and_sees_who_is_linked(browser, live_server, acme, bob, alice, conferencing_world):
    sign_in(browser, live_server, bob.email)
    browser.get(f"{live_server.url}/admin/conferencing/conferencingservice/add/")
    Select(browser.find_element(By.NAME, "organization")).select_by_visible_text("Acme")
    Select(browser.find_element(By.NAME, "provider")).select_by_visible_text("Zoom")
    browser.find_element(By.NAME, "_save").click()
    WebDriverWait(browser, 10).until(lambda _: ConferencingService.objects.exists())

    browser.get(
        f"{live_server.url}/admin/conferencing/conferencingservice/{ConferencingService.objects.get().pk}/change/"
    )
    browser.find_element(By.LINK_TEXT, "Enter the Zoom app's credentials").click()
    page = browser.find_element(By.ID, "content").text
    assert "meeting:write:admin" in page and "user:read:admin" in page and "Server-to-Server OAuth" in page
    app = conferencing_world.zoom_app
    browser.find_element(By.NAME, "account_id").send_keys(app.account.account_id)
    browser.find_element(By.NAME, "client_id").send_keys(app.client_id)
    browser.find_element(By.NAME, "client_secret").send_keys(app.client_secret)
    test_user = browser.find_element(By.NAME, "test_user")
    test_user.clear()
    test_user.send_keys("alice@acme.example")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][value='Check and connect']").click()

    WebDriverWait(browser, 20).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".messagelist"), "Zoom is connected")
    )
    content = browser.find_element(By.ID, "content").text
    assert "Connected" in content and "2 people linked" in content
    assert "alice@acme.example" in content and "bob@acme.example" in content
    assert "Nothing from meetings people create themselves" in content
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "conferencing-zoom-connected.png"))
