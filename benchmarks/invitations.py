"""How fast invitations leave through the outbox, against the wire.

It books events for a No Access organizer (each invites two people, so three invitations each), then,
round after round, interleaves:

- the floor: the very same messages (rendered, serialised and DKIM-signed beforehand) sent with plain
  smtplib over one connection to a local aiosmtpd server;
- the outbox swept by one worker in this process: claim in batches, build and sign each message,
  hand it over one SMTP connection, record in batches;
- on PostgreSQL, the outbox swept by several worker processes at once (SKIP LOCKED shares the rows).

Before each outbox run every invitation is put back in the outbox unsent. It prints invitations per
second (median over the rounds) and the ratio of each to the floor of the same rounds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME \
        .venv/bin/python benchmarks/invitations.py [events] [rounds] [workers]

The database used is NAME_invitations, created and destroyed by the script.
"""

from __future__ import annotations

import multiprocessing
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment
from django.utils import timezone

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 150
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 else 4

WORKER = """
import sys
sys.path.insert(0, {root!r})
import django
django.setup()
from django.db import connection
from bookings.invitation_delivery import invitations_send
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
print(invitations_send(), flush=True)
"""


class _Counter:
    """Counts the recipients the SMTP server accepted, in memory shared with this process."""

    def __init__(self) -> None:
        self.shared = multiprocessing.get_context("fork").Value("i", 0)

    @property
    def count(self) -> int:
        return self.shared.value

    @count.setter
    def count(self, value: int) -> None:
        self.shared.value = value

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        with self.shared.get_lock():
            self.shared.value += len(envelope.rcpt_tos)
        return "250 OK"


def _serve(counter: _Counter, port: int, ready) -> None:
    """The SMTP server, in a process of its own as a real one would be (in this process it would
    compete with the sweep for the interpreter lock and slow both)."""
    from aiosmtpd.controller import Controller

    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    threading.Event().wait()


def _unsent() -> None:
    from bookings.models import Invitation

    Invitation.objects.update(sent_at=None, next_attempt_at=timezone.now(), attempts=0, last_error="")


def _workers_sweep(count: int, env: dict[str, str]) -> tuple[float, int]:
    """Start `count` worker processes, let them get ready, then time them sweeping at once."""
    workers = [
        subprocess.Popen(  # noqa: S603  # this interpreter running our own worker code
            [sys.executable, "-c", WORKER.format(root=str(ROOT))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(count)
    ]
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("a worker did not start")
    began = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    sent = sum(int(worker.stdout.readline()) for worker in workers)
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.wait(timeout=30)
    return seconds, sent


def main() -> None:
    from accounts.oauth import application_create
    from accounts.services import user_create
    from bookings.dkim_signing import generate_private_key
    from bookings.invitation_delivery import SEND_RELATIONS, InvitationSweep, invitations_send
    from bookings.models import Invitation
    from bookings.services import EventInput, Invitee, managed_event_upsert
    from calendars.services import calendar_profile_connect

    counter = _Counter()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    server = context.Process(target=_serve, args=(counter, port, ready), daemon=True)
    server.start()  # before any database connection exists, so the fork shares none
    ready.wait(30)
    setup_test_environment()
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_invitations"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    pem = generate_private_key()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.INVITATIONS_FROM_EMAIL = "invitations@scheduling.example"
    settings.INVITATIONS_DKIM_PRIVATE_KEY = pem
    database = connection.settings_dict
    worker_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "EMAIL_BACKEND": settings.EMAIL_BACKEND,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "INVITATIONS_FROM_EMAIL": settings.INVITATIONS_FROM_EMAIL,
        "INVITATIONS_DKIM_PRIVATE_KEY": pem.replace("\n", "\\n"),
    }
    try:
        application, _ = application_create(name="Bench", redirect_uris=["https://bench.example/cb"])
        user = user_create(email="nina@bench.example", name="Nina", password="x")
        calendar = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=user.email).calendars.get()
        start = datetime(2027, 3, 1, 9, tzinfo=UTC)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # booking sends: not timed
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
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        total = Invitation.objects.count()
        with InvitationSweep() as sweep:  # the same messages the outbox sends, signed
            prebuilt = [
                (
                    settings.INVITATIONS_FROM_EMAIL,
                    [row.recipient],
                    sweep.prepare(row).message().as_bytes(linesep="\r\n"),
                )
                for row in Invitation.objects.select_related(*SEND_RELATIONS)
            ]

        floor, single, several = [], [], []
        for _ in range(ROUNDS):
            counter.count = 0
            began = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for sender, recipients, data in prebuilt:
                    smtp.sendmail(sender, recipients, data)
            floor.append(time.perf_counter() - began)

            _unsent()
            counter.count = 0
            began = time.perf_counter()
            sent = invitations_send()
            single.append(time.perf_counter() - began)
            if not counter.count == sent == total == Invitation.objects.filter(sent_at__isnull=False).count():
                raise SystemExit(f"Not every invitation went out: {counter.count} received, {sent} sent, {total}")

            if postgres and WORKERS > 1:
                _unsent()
                counter.count = 0
                seconds, sent = _workers_sweep(WORKERS, worker_env)
                several.append(seconds)
                if not counter.count == sent == total == Invitation.objects.filter(sent_at__isnull=False).count():
                    raise SystemExit(f"Workers did not send each once: {counter.count} received, {sent} sent")

        floor_s = statistics.median(floor)
        print(
            f"database: {connection.vendor}; {total} invitations ({EVENTS} events x 3 recipients), DKIM-signed; "
            f"{ROUNDS} interleaved rounds, medians"
        )
        rows = [("floor (prebuilt, smtplib, one connection)", floor)]
        rows.append(("outbox, one worker (claim, build, sign, send, record)", single))
        if several:
            rows.append((f"outbox, {WORKERS} worker processes at once", several))
        for label, seconds in rows:
            median = statistics.median(seconds)
            print(f"{label:<55} {total / median:>8.1f} invitations/s   {floor_s / median:.2f}x the floor's rate")
    finally:
        server.terminate()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
