"""How fast invitations leave through the outbox.

It books events for a No Access organizer (each invites two people, so three invitations each),
puts the invitations back in the outbox unsent, then times the worker's sweep sending them to a local SMTP
server (aiosmtpd): claim, render the MIME message, DKIM-sign it, hand it over, record it. The floor
is the same messages, built beforehand, sent with plain smtplib over one connection. It prints
invitations per second for both and their ratio.
"""

from __future__ import annotations

import os
import smtplib
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment
from django.utils import timezone

EVENTS = 150


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


def main() -> None:
    from aiosmtpd.controller import Controller

    from accounts.oauth import application_create
    from accounts.services import user_create
    from bookings.dkim_signing import generate_private_key
    from bookings.invitations import invitation_email, invitations_due
    from bookings.models import Invitation
    from bookings.services import EventInput, Invitee, managed_event_upsert
    from bookings.tasks import invitations_retry
    from calendars.services import calendar_profile_connect

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    counter = _Counter()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.INVITATIONS_FROM_EMAIL = "invitations@scheduling.example"
    settings.INVITATIONS_DKIM_PRIVATE_KEY = generate_private_key()
    try:
        application, _ = application_create(name="Bench", redirect_uris=["https://bench.example/cb"])
        user = user_create(email="nina@bench.example", name="Nina", password="x")
        calendar = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=user.email).calendars.get()
        start = datetime(2027, 3, 1, 9, tzinfo=UTC)
        for number in range(EVENTS):
            managed_event_upsert(
                application=application,
                calendar=calendar,
                data=EventInput(
                    event_id=f"bench-{number}",
                    summary=f"Interview {number}",
                    start=start + timedelta(hours=number),
                    end=start + timedelta(hours=number, minutes=45),
                    tzid="Europe/London",
                    invite=[
                        Invitee(f"candidate{number}@example.com", "Candidate"),
                        Invitee("panel@example.com", "Panel"),
                    ],
                ),
            )
        total = Invitation.objects.count()
        prebuilt = [
            (settings.INVITATIONS_FROM_EMAIL, [row.recipient], invitation_email(row).message().as_bytes(linesep="\r\n"))
            for row in Invitation.objects.select_related("event__calendar__profile__user")
        ]

        began = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for sender, recipients, data in prebuilt:
                smtp.sendmail(sender, recipients, data)
        floor_seconds = time.perf_counter() - began

        # Booking sent them already (tasks run inline here): put them back in the outbox, unsent, and
        # time the worker's sweep alone.
        counter.count = 0
        Invitation.objects.update(sent_at=None, next_attempt_at=timezone.now(), attempts=0)
        began = time.perf_counter()
        while invitations_due():
            invitations_retry()
        outbox_seconds = time.perf_counter() - began
        sent = Invitation.objects.filter(sent_at__isnull=False).count()
        if not counter.count == sent == total:
            raise SystemExit(f"Not every invitation went out: {counter.count} received, {sent} sent, {total} queued")

        print(f"database: {connection.vendor}; {total} invitations ({EVENTS} events x 3 recipients), DKIM-signed")
        print(f"{'floor (prebuilt, smtplib, one connection)':<45} {total / floor_seconds:>8.1f} invitations/s")
        print(f"{'outbox + worker (claim, render, sign, send)':<45} {total / outbox_seconds:>8.1f} invitations/s")
        print(f"{'ratio (floor / outbox)':<45} {outbox_seconds / floor_seconds:>8.1f}")
    finally:
        controller.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
