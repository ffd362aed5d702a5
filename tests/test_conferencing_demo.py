"""The demo's conferencing: a Free/Busy or No Access booking with `profile_id: "default"` lands in the
attendee's sandbox mailbox with a join link that opens the meeting (the conferencing profiles that
`seed_demo` lists are checked with the rest of its output in tests/test_seed_demo.py)."""

from __future__ import annotations

import email
import io
import json
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from bookings.smtp_receiver import receiver as reply_receiver
from sandbox.mail import mail_server
from sandbox.models import MailMessage, Meeting
from tests.mailserver import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(live_server, sandbox_url, settings):
    mailbox_port, replies_port = free_port(), free_port()
    servers = [mail_server("127.0.0.1", mailbox_port), reply_receiver("127.0.0.1", replies_port)]
    for server in servers:
        server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox_port
    settings.SANDBOX_REPLY_SMTP_HOST, settings.SANDBOX_REPLY_SMTP_PORT = "127.0.0.1", replies_port
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    yield {user["email"]: user for user in json.loads(out.getvalue())["users"]}
    for server in servers:
        server.stop()


@pytest.mark.parametrize("person", ["erin@emea.acme.example", "nina@legal.acme.example"])
def test_a_default_booking_lands_in_the_mailbox_with_a_working_join_link(live_server, demo, person):
    who = demo[person]
    start = (timezone.now() + timedelta(days=3)).replace(hour=14, minute=0, second=0, microsecond=0)
    response = requests.post(
        f"{live_server.url}/v1/calendars/{who['profiles'][0]['calendar_ids'][0]}/events",
        json={
            "event_id": "demo-call",
            "summary": "Demo call",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "attendees": {"invite": [{"email": "guest@partner.example", "display_name": "Guest"}]},
            "conferencing": {"profile_id": "default"},
        },
        headers={"Authorization": f"Bearer {who['access_token']}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    zoom = Meeting.objects.get(provider="zoom", topic="Demo call")
    message = email.message_from_string(MailMessage.objects.get(recipient="guest@partner.example").raw)
    body = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    link = next(word for word in body.decode().split() if f"/sandbox/zoom/j/{zoom.meeting_id}" in word)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "Demo call" in page.text and person in page.text
