"""The invitation sweep against a real SMTP server (aiosmtpd): one connection for the whole sweep,
database round trips that do not grow with the number of messages, a dropped connection reopened
without losing or repeating a message, and workers sweeping at once taking different rows."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dkim
import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.oauth import application_create
from bookings import imip
from bookings.dkim_signing import dns_value
from bookings.invitation_delivery import (
    INVITATIONS,
    InvitationSweep,
    SerialisedMessage,
    invitation_wire,
    invitations_send,
)
from bookings.models import Invitation
from bookings.services import managed_event_upsert
from bookings.tests.test_invitations import DKIM_KEY, event_input, nina, signing  # noqa: F401  # signing: a fixture
from tests.e2e import INTEGRATOR_REDIRECT
from tests.mailserver import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Sessions:
    """What the server accepted, with the client's address and port: one per SMTP connection."""

    received: list[tuple[tuple[str, int], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd's hook
        self.received.append((session.peer, envelope.original_content))
        return "250 OK"

    @property
    def connections(self) -> int:
        return len({peer for peer, _ in self.received})


@pytest.fixture
def app(db):
    return application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])[0]


@pytest.fixture
def smtp(settings) -> Iterator[Sessions]:
    sessions = Sessions()
    port = free_port()
    controller = Controller(sessions, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sessions
    controller.stop()


def queued(settings, app, calendar, *, events: int, first: int = 0) -> list[int]:
    """Book `events` events (two invitations each: the organizer's and Casey's), then put their
    invitations back in the outbox unsent, as a backlog for the sweep."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for number in range(first, first + events):
        managed_event_upsert(application=app, calendar=calendar, data=event_input(event_id=f"interview-{number}"))
    Invitation.objects.update(sent_at=None, attempts=0, next_attempt_at=timezone.now())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    return list(Invitation.objects.order_by("pk").values_list("pk", flat=True))


def verifies(data: bytes) -> bool:
    record = dns_value(DKIM_KEY).encode()
    return dkim.verify(data, dnsfunc=lambda name, timeout=5: record if name.startswith(b"s2026._domainkey.") else None)


def test_a_sweep_sends_over_one_connection_with_round_trips_constant_in_messages(settings, smtp, app):
    calendar = nina()
    queued(settings, app, calendar, events=2)
    with CaptureQueriesContext(connection) as few:
        assert invitations_send() == 4
    Invitation.objects.all().delete()
    queued(settings, app, calendar, events=10, first=2)
    smtp.received.clear()
    with CaptureQueriesContext(connection) as many:
        assert invitations_send() == 20
    assert len(many) == len(few)
    assert smtp.connections == 1 and len(smtp.received) == 20
    assert all(verifies(data) for _, data in smtp.received)
    assert all(row.sent_at and row.attempts == 1 and not row.last_error for row in Invitation.objects.all())


def test_a_dropped_connection_is_reopened_and_nothing_is_lost_or_repeated(settings, smtp, app):
    first, second, third, fourth = queued(settings, app, nina(), events=2)
    with InvitationSweep() as sweep:
        assert sweep.run(invitation_ids=[first, second]) == 2
        sweep.connection.connection.sock.shutdown(socket.SHUT_RDWR)  # the connection dropped between messages
        assert sweep.run(invitation_ids=[third, fourth]) == 2
    assert len(smtp.received) == 4 and smtp.connections == 2
    assert sorted(data.split(b"Message-ID: ")[1][:20] for _, data in smtp.received) == sorted(
        row.message_id.encode()[:20] for row in Invitation.objects.all()
    )
    assert all(row.sent_at and row.attempts == 1 for row in Invitation.objects.all())


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_workers_sweeping_at_once_skip_the_rows_another_holds(settings, app):
    ids = queued(settings, app, nina(), events=3)
    held, release, done = threading.Event(), threading.Event(), []

    def other_worker() -> None:
        try:
            with transaction.atomic():
                done.extend(Invitation.objects.select_for_update().filter(pk__in=ids[:4]).values_list("pk", flat=True))
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(10)
        assert sorted(INVITATIONS.claim_batch(limit=100)) == ids[4:]  # not waiting for the other's rows
    finally:
        release.set()
        thread.join(10)
    assert sorted(done) == ids[:4]


def _parts(data: bytes) -> list[tuple]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    headers = [(k, str(v).strip()) for k, v in message.items() if k not in {"Date", "Content-Type", "DKIM-Signature"}]
    found = [headers]
    for part in message.walk():
        params = sorted((k, v) for k, v in part.get_params() if k != "boundary")
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        found.append((part.get_content_type(), params, part["Content-Transfer-Encoding"], payload))
    return found


@pytest.mark.parametrize(
    ("subject", "name", "body"),
    [
        ("Invitation: Interview @ Wed 24 Mar 2027 10:00 UTC", "Nina Legal", "Hello\n\nSee you there.\n"),
        ("Réunion — " + "un sujet qui ne tient pas sur une ligne " * 4, "Nïna Légal", "Ünïcode  body\r\nwith CRLF\r\n"),
    ],
)
def test_the_written_bytes_are_the_message_django_builds(subject, name, body):
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Réunion\r\nEND:VCALENDAR\r\n"
    message = imip.InvitationEmail(
        ics=ics,
        method="REQUEST",
        html=f"<p>{body}</p>\n",
        subject=subject,
        body=body,
        from_email="invitations@scheduling.example",
        to=["casey@example.com"],
        reply_to=["nina@legal.acme.example"],
        headers={
            "From": imip.sender(imip.Party("nina@legal.acme.example", name), "invitations@scheduling.example"),
            "Message-ID": "<interview-7.1rabc@replies.scheduling.example>",
        },
        dkim_key=None,
    )
    written = invitation_wire(message)
    assert all(len(line) <= 998 for line in written.split(b"\r\n"))
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert _parts(written) == _parts(message.message().as_bytes(linesep="\r\n"))


def test_a_serialised_message_asked_for_other_line_endings_is_generated_again():
    """Readers other than the SMTP backend (the locmem outbox, a debugging dump) may ask for LF line
    endings: the parsed message is generated again rather than the CRLF wire bytes handed back."""
    wire = b"Subject: Interview\r\nFrom: nina@legal.acme.example\r\n\r\nSee you there.\r\n"
    serialised = SerialisedMessage(wire)
    assert serialised.as_bytes(linesep="\r\n") is wire
    assert serialised.as_bytes() == b"Subject: Interview\nFrom: nina@legal.acme.example\n\nSee you there.\n"
    assert serialised.as_bytes(unixfrom=True).startswith(b"From nobody ")
