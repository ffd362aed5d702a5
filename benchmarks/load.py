"""How much one machine serves: a mixed workload against the production setup, with locust.

It runs, on this machine, what README's production section describes: gunicorn (production
settings, DEBUG off) on PostgreSQL, a Redis server as the task broker and cache, and two task
clusters (`manage.py qcluster`) on that broker; the sandbox providers are served by the same
gunicorn, so provider calls are real HTTP. Then locust (headless, benchmarks/locustfile.py) drives,
for a bounded time and with no think time, a mix of availability queries (10 people with ~300 busy
periods each, over 4 weeks), free/busy reads, event upserts (written through to the sandbox's
Google Calendar by the clusters), Google push notifications (each queueing a calendar sync that
reads the sandbox) and events booked for No Access people with a guest (each queueing an iMIP
invitation, DKIM-signed with a 2048-bit key, that the clusters send over SMTP to a local aiosmtpd
server). Channel notifications (one channel per person, to a local receiver) are what the clusters
deliver as a result of the upserts and syncs.

It prints, per operation, requests, throughput, p50/p99 in ms and errors; the channel
notifications and invitations received, and what was left undelivered at the end. PostgreSQL only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> .venv/bin/python benchmarks/load.py
    DURATION=30 USERS=8 WORKERS=3 ...   # knobs (seconds, locust users, gunicorn workers)
    WRITES=8 ...   # reads with no think time beside writes held at 8 a second (see locustfile.py)
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.support import (
    BIN,
    ROOT,
    Gunicorn,
    Process,
    bench_database,
    free_port,
    load_note,
    person_with_busy_periods,
    server_environment,
)

# The site's address is fixed before Django reads its settings: the sandbox lives at it.
PORT = free_port()
SITE = f"http://127.0.0.1:{PORT}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's
os.environ["SITE_URL"] = SITE
os.environ["SANDBOX_URL"] = f"{SITE}/sandbox"

import django

django.setup()

from django.db import connection

DURATION = int(os.environ.get("DURATION", "60"))
USERS = int(os.environ.get("USERS", "12"))
WORKERS = int(os.environ.get("WORKERS", "3"))
CLUSTER_WORKERS = os.environ.get("CLUSTER_WORKERS", "2")
# Writes a second (upserts, pushes, invitations), held by WRITERS paced users; 0: the proportional mix.
WRITES = float(os.environ.get("WRITES", "0"))
WRITERS = 4
AVAILABILITY_PEOPLE = 50
SYNCED_PEOPLE = 10
ORGANIZERS = 10
BUSY_PER_PERSON = 300
START = datetime(2027, 3, 1, tzinfo=UTC)


class Receiver:
    """The integrator's channel endpoint: counts the notifications delivered to it."""

    def __init__(self) -> None:
        self.received = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    receiver.received += 1
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notifications"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class MailReceiver:
    """The guests' mail server (aiosmtpd, in a thread): counts the messages it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd's hook
        self.received += 1
        return "250 OK"


def populate(receiver_url: str) -> dict:
    """The application, 50 people with busy periods for availability, and 10 people connected to
    the sandbox's Google Calendar with Read-Write (their tokens, calendars, push channels and
    notification channels)."""
    from accounts.oauth import application_create, tokens_issue_for
    from accounts.services import user_create
    from calendars.choices import profile_provider_name
    from calendars.models import Calendar, Channel, ProviderWatch
    from calendars.scopes import Flow, requested_scopes
    from calendars.services import calendar_profile_connect
    from calendars.watches import _digest
    from sandbox import tokens
    from sandbox.models import Calendar as SandboxCalendar
    from sandbox.models import Person, Provider, Tenant, Token
    from sandbox.seed import sandbox_clients

    rng = random.Random(2027)
    application, secret = application_create(name="Load", redirect_uris=["https://load.example/cb"])
    subs = []
    for number in range(AVAILABILITY_PEOPLE):
        user, _ = person_with_busy_periods(
            application=application,
            email=f"a{number}@load.example",
            rng=rng,
            start=START,
            days=35,
            busy=BUSY_PER_PERSON,
        )
        subs.append(user.public_id)

    clients = sandbox_clients()
    tenant = Tenant.objects.create(
        provider=Provider.GOOGLE, name="Load", external_id="C0load", domains=["load.example"]
    )
    scopes = requested_scopes(Flow.INDIVIDUAL_CONSENT, provider="google", access_mode="read_write")
    people = []
    for number in range(SYNCED_PEOPLE):
        email = f"s{number}@load.example"
        who = Person.objects.create(tenant=tenant, email=email, name=f"Synced {number}", external_id=f"2{number:020}")
        SandboxCalendar.objects.create(owner=who, calendar_id=email, name=email, is_primary=True, time_zone="Etc/UTC")
        access, _ = tokens.issue(
            kind=Token.Kind.ACCESS,
            provider=Provider.GOOGLE,
            client=clients["google"],
            person=who,
            scopes=scopes,
            seconds=86400,
        )
        refresh, _ = tokens.issue(
            kind=Token.Kind.REFRESH, provider=Provider.GOOGLE, client=clients["google"], person=who, scopes=scopes
        )
        user = user_create(email=email)
        grant_token = tokens_issue_for(application=application, user=user, scopes=["read_write"])
        profile = calendar_profile_connect(
            user=user,
            provider_name=profile_provider_name(platform="google", access_mode="read_write"),
            profile_name=email,
            provider_account_id=who.external_id,
            credentials={
                "kind": "google_user",
                "access_token": access,
                "refresh_token": refresh,
                "scopes": scopes,
                "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
            granted_scopes=scopes,
        )
        calendar = Calendar.objects.create(
            profile=profile, provider_calendar_id=email, name=email, is_primary=True, time_zone="Etc/UTC"
        )
        channel_id, channel_token = f"load-{number}", f"load-token-{number}"
        ProviderWatch.objects.create(
            profile=profile,
            calendar=calendar,
            provider="google",
            channel_id=channel_id,
            token_digest=_digest(channel_token),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        Channel.objects.create(grant=grant_token.grant, callback_url=receiver_url, calendar_ids=[], only_managed=False)
        people.append(
            {
                "token": grant_token.access_token,
                "calendar": calendar.public_id,
                "channel_id": channel_id,
                "channel_token": channel_token,
            }
        )
    organizers = []
    for number in range(ORGANIZERS):
        user = user_create(email=f"n{number}@load.example")
        profile = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=user.email)
        token = tokens_issue_for(application=application, user=user, scopes=["read_write", "free_busy_write"])
        organizers.append({"token": token.access_token, "calendar": profile.calendars.get().public_id})
    return {"secret": secret, "subs": subs, "people": people, "organizers": organizers, "start": START.isoformat()}


def stats(prefix: str) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as found:
        return list(csv.DictReader(found))


def main() -> None:
    from bookings.dkim_signing import generate_private_key
    from bookings.models import Invitation
    from calendars.models import ChannelNotification

    if connection.vendor != "postgresql":
        raise SystemExit("The load test runs on PostgreSQL: set DATABASE_URL.")
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    work = Path(tempfile.mkdtemp(prefix="load-"))
    receiver = Receiver()
    mail = MailReceiver()
    with bench_database():
        plan = populate(receiver.url)
        (work / "plan.json").write_text(json.dumps(plan))
        environment = {
            "REDIS_URL": redis_url,
            "SITE_URL": SITE,
            "SANDBOX_ENABLED": "1",
            "SANDBOX_URL": f"{SITE}/sandbox",
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            "Q_WORKERS": CLUSTER_WORKERS,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(mail.port),
            "INVITATIONS_FROM_EMAIL": "invitations@load.example",
            "INVITATIONS_DKIM_PRIVATE_KEY": generate_private_key().replace("\n", "\\n"),
            # Cronofy's limits are per application (500 a minute): one application here stands for
            # the many integrators a machine serves, so its limits are lifted for the run.
            "API_RATE_BURST": "100000/s",
            "API_RATE_SUSTAINED": "10000000/min",
        }
        redis = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        cluster = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
        with (
            Process(redis),
            Gunicorn(workers=WORKERS, port=PORT, **environment) as server,
            Process(cluster, environment=server_environment(**environment)),
            Process(cluster, environment=server_environment(**environment)),
        ):
            time.sleep(3)  # the clusters start their workers
            prefix = str(work / "locust")
            users, classes = (USERS + WRITERS, ["Reader", "Writer"]) if WRITES else (USERS, ["Integrator"])
            subprocess.run(  # noqa: S603  # our own argv
                [
                    str(BIN / "locust"),
                    "-f",
                    str(ROOT / "benchmarks" / "locustfile.py"),
                    "--headless",
                    "--users",
                    str(users),
                    "--spawn-rate",
                    str(users),
                    "--run-time",
                    f"{DURATION}s",
                    "--host",
                    server.url,
                    "--csv",
                    prefix,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    *classes,
                ],
                env={
                    **os.environ,
                    "LOAD_PLAN": str(work / "plan.json"),
                    "LOAD_WRITERS": str(WRITERS),
                    "LOAD_WRITES_PER_USER": str(WRITES / WRITERS or 1),
                },
                check=False,
                stdout=subprocess.DEVNULL,
            )
            received_during, mailed_during = receiver.received, mail.received
            time.sleep(10)  # let the clusters finish what the run queued
            load = load_note()
            pending = ChannelNotification.objects.filter(delivered_at__isnull=True).count()
            unsent = Invitation.objects.filter(sent_at__isnull=True).count()
        rows = stats(prefix)
        mix = f" and {WRITERS} writing {WRITES:g} a second in all" if WRITES else " (the proportional mix)"
        print(
            f"load: {DURATION} s, {USERS} locust users without think time{mix}, gunicorn {WORKERS} sync workers, "
            f"2 task clusters x {CLUSTER_WORKERS} workers on Redis, PostgreSQL; machine: {load}"
        )
        print(f"{'operation':<15} {'requests':>8} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}")
        for row in rows:
            print(
                f"{row['Name']:<15} {int(row['Request Count']):>8} {float(row['Requests/s']):>7.1f} "
                f"{row['50%']:>7} {row['99%']:>7} {int(row['Failure Count']):>7}"
            )
        print(
            f"channel notifications received: {received_during} during the run, {receiver.received} within 10 s "
            f"after it; {pending} not delivered"
        )
        print(
            f"invitations received over SMTP: {mailed_during} during the run, {mail.received} within 10 s after it; "
            f"{unsent} not sent"
        )
    mail.controller.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
