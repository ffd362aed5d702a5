"""The demo's Free/Busy loop in a real browser: an integrator books a Free/Busy organizer, the
invitation lands in the attendee's sandbox mailbox, the attendee clicks Yes there (a real REPLY email
to the reply receiver), and the IT admin sees the answer on the event in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from selenium.webdriver.common.by import By
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
    invitation.find_element(By.CSS_SELECTOR, "button[value=accepted]").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".notices"), "Replied: accepted")
    )
    assert ManagedEventAttendee.objects.get(email="bob@acme.example").status == AttendeeStatus.ACCEPTED

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
