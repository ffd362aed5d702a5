"""Enterprise Connect's consent page in a real browser: Acme's admin reads what the application will be
able to do for everyone, chooses the mode for free_busy_write, and the integrator gets its code."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import ServiceAccount
from accounts.oauth import application_create
from conftest import PASSWORD
from core.choices import AccessMode
from tests.browser import SCREENSHOTS
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_grants_enterprise_connect_choosing_free_busy(browser, live_server, acme, bob):
    application, secret = application_create(name="Acme Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": INTEGRATOR_REDIRECT,
            "scope": "service_account/accounts/manage service_account/resources/manage",
            "delegated_scope": "free_busy_write",
            "state": "ec-1",
        }
    )
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/enterprise_connect/oauth/authorize?{query}")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys(bob.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("for your organization"))

    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Allow Acme Scheduler to reach your organization's people" in page
    assert "For Acme" in page and "they will not be asked themselves" in page
    assert "See your organization's meeting rooms and resources" in page
    assert "Free/Busy" in page and "Read-Write" in page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "enterprise-connect-consent.png"))
    browser.find_element(By.ID, f"mode-{AccessMode.FREE_BUSY}").click()
    browser.find_element(By.XPATH, "//button[@value='allow']").click()

    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(INTEGRATOR_REDIRECT))
    returned = parse_qs(urlparse(browser.current_url).query)
    assert returned["state"] == ["ec-1"]
    service_account = ServiceAccount.objects.get(organization=acme, application=application)
    assert service_account.access_mode == AccessMode.FREE_BUSY
    tokens = Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "client_id": application.client_id,
            "client_secret": secret,
            "code": returned["code"][0],
            "redirect_uri": INTEGRATOR_REDIRECT,
        },
    )
    assert tokens.json()["sub"] == service_account.public_id
