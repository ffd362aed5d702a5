"""The demo's Free/Busy loop in a real browser: an integrator books a Free/Busy organizer, the
invitation lands in the attendee's sandbox mailbox, the attendee clicks Yes there (a real REPLY email
to the reply receiver), and the IT admin sees the answer on the event in the console."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from allauth.account.models import EmailAddress
from django.core.mail import send_mail
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Role
from accounts.oauth import application_create, tokens_issue_for
from accounts.services import membership_set
from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee
from bookings.smtp_receiver import receiver as reply_receiver
from calendars.tasks import profile_first_sync
from conftest import make_user
from sandbox.mail import mail_server
from tests.browser import SCREENSHOTS
from tests.e2e import INTEGRATOR_REDIRECT, connected_profile
from tests.mailserver import free_port
from tests.test_browser_admin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mail(settings):
    """The sandbox's mail server (everybody's mailboxes) and ours for replies, on free ports."""
    mailbox_port, replies_port = free_port(), free_port()
    servers = [mail_server("127.0.0.1", mailbox_port), reply_receiver("127.0.0.1", replies_port)]
    for server in servers:
        server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox_port
    settings.SANDBOX_REPLY_SMTP_HOST, settings.SANDBOX_REPLY_SMTP_PORT = "127.0.0.1", replies_port
    # The sandbox's mailboxes send from loopback, as in the demo: the explicitly trusted relay.
    settings.INVITATIONS_REPLY_TRUSTED_NETWORKS = ["127.0.0.0/8"]
    yield
    for server in servers:
        server.stop()


def looks(button: WebElement) -> tuple[str, str, str]:
    """How a button is drawn: its background, text colour and border."""
    return tuple(button.value_of_css_property(name) for name in ("background-color", "color", "border-top-color"))


def test_the_free_busy_loop_from_booking_to_the_admin(browser, live_server, world, mail, acme, bob):
    alice = make_user("alice@acme.example", "Alice")
    membership_set(organization=acme, user=alice, role=Role.MEMBER, actor=None)
    profile = connected_profile(world, alice, "alice", mode="free_busy")
    profile_first_sync(profile.pk)
    application, _ = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    token = tokens_issue_for(application=application, user=alice, scopes=["free_busy_write"]).access_token
    start = world.monday + timedelta(days=1, hours=15)
    booked = requests.post(
        f"{live_server.url}/v1/calendars/{profile.calendars.get().public_id}/events",
        json={
            "event_id": "demo-1",
            "summary": "Partnership call",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tzid": "America/New_York",
            "attendees": {"invite": [{"email": "bob@acme.example", "display_name": "Bob"}]},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert booked.status_code == 202

    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/sandbox/mail/bob@acme.example/")
    invitation = browser.find_element(By.CSS_SELECTOR, "article.mail")
    assert "Invitation: Partnership call" in invitation.text
    # The subject tells the time in New York, where the event is, with the offset in force that day.
    local = start.astimezone(ZoneInfo("America/New_York"))
    offset = "UTC\u221205:00" if local.utcoffset() == timedelta(hours=-5) else "UTC\u221204:00"
    assert f"{local:%H:%M} \u2013 " in invitation.text and f"(America/New_York, {offset})" in invitation.text
    # The mailbox's own summary of the invitation reads its DTSTART in the event's zone too.
    assert f"{local:%H:%M} {local:%Z}" in invitation.text  # 10:00 EST
    # Nothing is answered yet, so no answer looks chosen: Yes is drawn exactly like Maybe and No.
    buttons = {b.get_attribute("value"): b for b in invitation.find_elements(By.CSS_SELECTOR, "form.rsvp button")}
    assert list(buttons) == ["accepted", "tentative", "declined"]
    assert [b.get_attribute("aria-pressed") for b in buttons.values()] == ["false", "false", "false"]
    assert len({looks(b) for b in buttons.values()}) == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "sandbox-mailbox-invitation-unanswered.png"))
    buttons["accepted"].click()
    WebDriverWait(browser, 10).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".notices"), "Replied: accepted")
    )
    assert ManagedEventAttendee.objects.get(email="bob@acme.example").status == AttendeeStatus.ACCEPTED
    # Once answered, only the answer given looks chosen.
    answered = {
        b.get_attribute("value"): b for b in browser.find_elements(By.CSS_SELECTOR, "article.mail form.rsvp button")
    }
    assert answered["accepted"].get_attribute("aria-pressed") == "true"
    assert "You answered: Yes" in browser.find_element(By.CSS_SELECTOR, "article.mail").text
    assert looks(answered["accepted"]) != looks(answered["tentative"]) == looks(answered["declined"])
    browser.save_screenshot(str(SCREENSHOTS / "sandbox-mailbox-invitation-answered.png"))

    browser.get(f"{live_server.url}/sandbox/mail/alice@acme.example/")
    assert "Bob has accepted: Partnership call" in browser.find_element(By.TAG_NAME, "main").text  # her copy, refreshed

    sign_in(browser, live_server, bob.email)
    event = ManagedEvent.objects.get()
    browser.get(f"{live_server.url}/admin/bookings/managedevent/{event.pk}/change/")
    attendees = browser.find_element(By.ID, "attendees-group").text
    assert "bob@acme.example" in attendees and "Accepted" in attendees
    invitations = browser.find_element(By.ID, "invitations-group").text
    assert invitations.count("Sent") >= 3  # alice and bob, then alice's refreshed copy
    assert "Applied" in browser.find_element(By.ID, "replies-group").text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "free-busy-loop-admin.png"))


def test_the_email_confirmation_link_in_the_sandbox_mailbox_is_clickable(browser, live_server, mail):
    """Someone signs up, opens the confirmation email in the sandbox mailbox and clicks its link,
    as they would in any mail client: the plain-text body's URL is a link, and nothing else is markup."""
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/accounts/signup/")
    browser.find_element(By.NAME, "email").send_keys("dana@newcomer.example")
    for name in ("password1", "password2"):
        browser.find_element(By.NAME, name).send_keys("a long passphrase 2027")
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: "/accounts/confirm-email/" in b.current_url)

    browser.get(f"{live_server.url}/sandbox/mail/dana@newcomer.example/")
    message = browser.find_element(By.CSS_SELECTOR, "article.mail")
    assert not message.find_elements(By.CSS_SELECTOR, "form.rsvp")  # not an invitation: nothing to answer
    links = message.find_elements(By.CSS_SELECTOR, "pre.body a")
    [link] = [a for a in links if "/accounts/confirm-email/" in a.get_attribute("href")]
    href = link.get_attribute("href")
    assert href.startswith(f"{live_server.url}/accounts/confirm-email/") and link.text == href
    assert link.get_attribute("rel") == "nofollow"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "sandbox-mailbox-confirmation-link.png"))

    link.click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url == href)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: "/accounts/confirm-email/" not in b.current_url)
    assert EmailAddress.objects.get(email="dana@newcomer.example").verified


def test_urls_in_a_plain_text_mail_are_links_and_the_rest_stays_text(browser, live_server, mail):
    """Linkifying is safe: markup in a body is shown as text, and only http(s) URLs become links."""
    send_mail(
        "Hello",
        'Read <b>this</b> <script>document.title="owned"</script> javascript:alert(1) https://example.com/a?b=1&c=2',
        "someone@example.net",
        ["erin@plain.example"],
    )
    browser.get(f"{live_server.url}/sandbox/mail/erin@plain.example/")
    body = browser.find_element(By.CSS_SELECTOR, "pre.body")
    assert browser.title != "owned" and not body.find_elements(By.TAG_NAME, "b")
    assert "<b>this</b>" in body.get_attribute("textContent")
    assert [a.get_attribute("href") for a in body.find_elements(By.TAG_NAME, "a")] == ["https://example.com/a?b=1&c=2"]
