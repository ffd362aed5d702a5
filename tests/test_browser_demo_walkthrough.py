"""docs/organization-connections.md's demo walkthrough, followed in a real browser (headless Chromium)
on the demo `seed_demo` makes: Bob, Acme's IT admin, moves Acme's Google Workspace service to
Free/Busy and connects it again himself: the key downloaded from the sandbox's Cloud console, the
Free/Busy scopes delegated in the sandbox's Admin console, the key uploaded in the console. No
superuser, no sandbox record edited by hand. Screenshots of each step go to var/screenshots/."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import ConnectionStatus
from calendars.models import CalendarService
from core.choices import AccessMode
from sandbox.models import DelegationGrant, Tenant
from tests.browser import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FREE_BUSY_SCOPES = (
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
)


def shot(browser: webdriver.Chrome, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def wait_for_text(browser: webdriver.Chrome, text: str, timeout: int = 60) -> None:
    # The page may be replaced while it is read (a form posted, a redirect followed): read it again then.
    WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: text in driver.find_element(By.TAG_NAME, "body").text
    )


def downloaded(folder: Path, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = [f for f in folder.iterdir() if f.suffix == ".json"]
        if files:
            return files[0]
        time.sleep(0.2)
    raise AssertionError(f"No key file was downloaded into {folder}.")


@pytest.fixture
def demo(live_server, sandbox_url):
    call_command("seed_demo", "--json", stdout=io.StringIO())


def test_an_it_admin_connects_google_in_free_busy_with_the_sandboxs_consoles(browser, live_server, demo, tmp_path):
    service = CalendarService.objects.get(provider="google", domain_claims__domain="acme.example")
    acme_workspace = Tenant.objects.get(name="Acme Corporation", provider="google")
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})

    # 1. Bob signs in to the console (the demo's password) and opens Acme's Google Workspace service.
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/")
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys("bob@acme.example")
    browser.find_element(By.NAME, "password").send_keys(settings.DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.title_contains("IT admin console"))
    browser.find_element(By.LINK_TEXT, "Calendar services").click()
    browser.find_element(By.LINK_TEXT, str(service)).click()

    # 2. Change access mode: preview, then confirm.
    browser.find_element(By.LINK_TEXT, "Change access mode").click()
    browser.find_element(By.CSS_SELECTOR, f"input[name=access_mode][value={AccessMode.FREE_BUSY}]").click()
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_text(browser, "What changing Read-Write to Free/Busy does")
    shot(browser, "walkthrough_1_mode_change_preview")
    browser.find_element(By.NAME, "confirm").click()
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_text(browser, "The service is now Free/Busy.")
    assert "Awaiting authorization" in browser.find_element(By.TAG_NAME, "body").text

    # 3. Upload the service account key: the page says where to get a key and what to delegate.
    browser.find_element(By.LINK_TEXT, "Upload the service account key").click()
    to_delegate = browser.find_element(By.ID, "scopes-to-delegate").get_attribute("value").split(",")
    assert set(FREE_BUSY_SCOPES) <= set(to_delegate)
    assert "https://www.googleapis.com/auth/calendar" not in to_delegate
    assert browser.find_element(By.NAME, "test_user").get_attribute("value") == "bob@acme.example"
    shot(browser, "walkthrough_2_upload_key_page")
    upload_page = browser.current_url
    cloud_console = browser.find_element(By.ID, "cloud-console-link").get_attribute("href")
    admin_console = browser.find_element(By.ID, "admin-console-link").get_attribute("href")

    # 4. The Google Cloud console (the sandbox's): sign in as Acme's Workspace admin, download the key.
    browser.get(cloud_console)
    wait_for_text(browser, "Choose an account")
    browser.find_element(By.CSS_SELECTOR, "button[value='bob@acme.example']").click()
    wait_for_text(browser, "Service accounts")
    row = browser.find_element(By.CSS_SELECTOR, "#service-accounts tbody tr")
    client_id = row.find_element(By.CSS_SELECTOR, ".client-id").text
    shot(browser, "walkthrough_3_cloud_console_service_accounts")
    row.find_element(By.CSS_SELECTOR, "a.download-key").click()
    key_file = downloaded(tmp_path)
    key = json.loads(key_file.read_text())
    assert key["type"] == "service_account" and key["client_id"] == client_id

    # 5. The Google Admin console: edit the client's delegation, adding the Free/Busy scopes.
    browser.get(admin_console)
    wait_for_text(browser, "Domain-wide delegation")
    browser.find_element(By.CSS_SELECTOR, f"#delegations tr[data-client-id='{client_id}'] a").click()
    scopes = browser.find_element(By.ID, "scopes")
    kept = [s for s in scopes.get_attribute("value").split(",") if s]
    scopes.clear()
    scopes.send_keys(",".join(dict.fromkeys([*kept, *to_delegate])))
    shot(browser, "walkthrough_4_admin_console_delegation")
    browser.find_element(By.CSS_SELECTOR, "#delegation-form button[value=authorize]").click()
    wait_for_text(browser, f"Client {client_id} authorized.")
    granted = DelegationGrant.objects.get(tenant=acme_workspace, service_account__unique_id=client_id).scopes
    assert set(FREE_BUSY_SCOPES) <= set(granted)
    assert set(kept) <= set(granted)  # what the directory and Meet services use stays delegated

    # 6. Back in the console: upload the key, test with Bob, connected in Free/Busy.
    browser.get(upload_page)
    browser.find_element(By.NAME, "key_file").send_keys(str(key_file))
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_text(browser, "Domain-wide delegation verified: the service is connected.")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Free/Busy" in page and "Connected" in page
    assert acme_workspace.external_id in page  # Provider tenant: the Workspace customer, not the key's id
    shot(browser, "walkthrough_5_connected_free_busy")
    service.refresh_from_db()
    assert service.status == ConnectionStatus.ACTIVE and service.access_mode == AccessMode.FREE_BUSY
    assert service.external_id == acme_workspace.external_id
    assert set(FREE_BUSY_SCOPES) <= set(service.granted_scopes)
