"""Calendar sync at scale, both providers, through the sandbox's real HTTP endpoints and the real
client libraries (google-api-python-client for Google, requests against Graph), as the product runs it.

For each size (1,000 and 10,000 events by default) and each provider, one person's calendar is filled
in the sandbox (singles over the sync window and a weekly series per hundred events), a Free/Busy
profile is connected, and it times:

- the first sync (the calendar listed, every event read, busy periods written);
- the periodic round with nothing changed: what the daily poll runs a day after a full round (it used
  to be a full re-read; now incremental while the cursor's window covers Cronofy's);
- a forced full round with nothing changed (what a lost cursor or an operator's resync costs).

It prints seconds, the provider ratio (Microsoft / Google first sync), growth from the small to the
large size, and each round against the first sync of the same calendar. Figures vary with the
machine's load; ratios are taken within one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME .venv/bin/python benchmarks/sync.py [sizes...]

The database used is NAME_sync, created and destroyed by the script.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import setup_test_environment
from django.utils import timezone
from django_q.conf import Conf

SIZES = [int(value) for value in sys.argv[1:]] or [1000, 10000]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve() -> str:
    from django.core.wsgi import get_wsgi_application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server(
        "127.0.0.1", port, get_wsgi_application(), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def _fill(calendar, count: int) -> None:
    """`count` event rows: singles spread over the sync window, and one weekly series (8 occurrences)
    per hundred, numbered as the sandbox numbers changes."""
    from sandbox.models import ChangeCounter, Event

    ChangeCounter.objects.get_or_create(pk=1)
    base = ChangeCounter.objects.get(pk=1).value
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=40)
    rows = []
    for number in range(count):
        start = first + timedelta(hours=9 + (number * 7) % 9, days=(number * 13) % 230)
        series = number % 100 == 0
        rows.append(
            Event(
                calendar=calendar,
                event_id=f"bench{calendar.pk}x{number}",
                ical_uid=f"bench{calendar.pk}x{number}@sandbox",
                summary=f"Meeting {number}",
                start=start,
                end=start + timedelta(minutes=30),
                time_zone="Europe/London",
                recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"] if series else [],
                organizer_email=calendar.owner.email,
                organizer_name=calendar.owner.name,
                change_seq=base + number + 1,
            )
        )
    Event.objects.bulk_create(rows, batch_size=1000)
    ChangeCounter.objects.filter(pk=1).update(value=base + count)


def _timed(function, *args: object, **kwargs: object) -> float:
    began = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - began


def main() -> None:
    from accounts.services import user_create
    from calendars.models import BusyPeriod, Calendar
    from calendars.sync import profile_sync
    from calendars.tasks import profile_first_sync
    from sandbox.models import Calendar as SandboxCalendar
    from sandbox.models import Person, Provider, Tenant
    from sandbox.seed import sandbox_clients
    from sandbox.testing import World
    from tests.e2e import connected_profile

    setup_test_environment()
    if connection.vendor == "postgresql":
        connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_sync"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    Conf.SYNC = True
    base = _serve()
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_URL = f"{base}/sandbox"
    settings.PROVIDER_MAX_RETRY_WAIT = 5
    settings.SITE_URL = base
    try:
        clients = sandbox_clients()
        tenants = {
            "google": Tenant.objects.create(
                provider=Provider.GOOGLE, name="Bench G", external_id="C0bench", domains=["g.bench.example"]
            ),
            "microsoft": Tenant.objects.create(
                provider=Provider.MICROSOFT,
                name="Bench M",
                external_id="7d1c0a4e-5b2f-4c3d-8e9a-0f1b2c3d4e99",
                domains=["m.bench.example"],
            ),
        }
        results: dict[tuple[str, int], dict[str, float]] = {}
        for size in SIZES:
            for platform in ("google", "microsoft"):
                key = f"{platform[0]}{size}"
                domain = tenants[platform].domains[0]
                person = Person.objects.create(
                    tenant=tenants[platform],
                    email=f"{key}@{domain}",
                    name=f"Person {key}",
                    external_id=(
                        f"1000000000000{size:08d}" if platform == "google" else f"b0000000-0000-4000-8000-{size:012d}"
                    ),
                    time_zone="Europe/London",
                )
                sandbox_calendar = SandboxCalendar.objects.create(
                    owner=person,
                    calendar_id=person.email if platform == "google" else f"AAMkCal{key}AAA=",
                    name=person.email,
                    is_primary=True,
                    time_zone="Europe/London",
                )
                _fill(sandbox_calendar, size)
                world = World(
                    tenants=tenants, people={key: person}, calendars={}, events={}, clients=clients, monday=None
                )
                user = user_create(email=f"{key}@app.bench.example", name=key, password="x")
                profile = connected_profile(world, user, key, mode="free_busy")
                figures = results[(platform, size)] = {}
                figures["first"] = _timed(profile_first_sync, profile.pk)
                periods = BusyPeriod.objects.filter(calendar__profile=profile).count()
                Calendar.objects.filter(profile=profile).update(full_synced_at=timezone.now() - timedelta(hours=25))
                profile.refresh_from_db()
                figures["periodic"] = _timed(profile_sync, profile=profile)
                figures["forced"] = _timed(profile_sync, profile=profile, full=True)
                figures["periods"] = periods
                print(
                    f"{platform:<10} {size:>6} events ({periods} busy periods): first sync {figures['first']:7.2f} s, "
                    f"periodic round (no change) {figures['periodic']:6.2f} s = "
                    f"{figures['periodic'] / figures['first']:.1%} of it, forced full round (no change) "
                    f"{figures['forced']:6.2f} s = {figures['forced'] / figures['first']:.0%}",
                    flush=True,
                )
        print(f"\ndatabase: {connection.vendor}; taken {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        for size in SIZES:
            ratio = results[("microsoft", size)]["first"] / results[("google", size)]["first"]
            print(f"first sync at {size}: Microsoft / Google = {ratio:.2f}")
        if len(SIZES) > 1:
            small, large = SIZES[0], SIZES[-1]
            for platform in ("google", "microsoft"):
                growth = results[(platform, large)]["first"] / results[(platform, small)]["first"]
                print(f"{platform} first sync, {large} / {small} events: {growth:.1f}x (linear: {large / small:.0f}x)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
