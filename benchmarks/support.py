"""What the benchmarks share: their own database, samples taken interleaved, and a real gunicorn.

- `bench_database()` creates (and afterwards destroys) a database named after DATABASE_URL's with
  `_bench` appended, so a benchmark never touches the database it was pointed at.
- `interleaved()` takes samples of several measures in rounds, one of each per round in a rotating
  order, so a load spike on this shared machine lands on every measure alike and the ratios hold.
- `person_with_busy_periods()` makes an account of an application with a Free/Busy calendar full of
  busy periods, as availability and load query them.
- `Gunicorn` serves the site from a subprocess, with the production settings (DEBUG off) against the
  benchmark's database, the way README's production section runs it.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def bench_database() -> Iterator[None]:
    """A fresh, migrated database for this run (`<name>_bench`), destroyed afterwards."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if connection.vendor == "postgresql":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def database_url() -> str:
    """The URL of the database the benchmark is using now (for servers it starts)."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(**extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) with the test keys, against the benchmark's database."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cronofy_site.settings",
        "DEBUG": "0",
        "DATABASE_URL": database_url(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "PYTHONPATH": str(ROOT),
    }
    environment.update(extra)
    return environment


class Gunicorn:
    """`gunicorn cronofy_site.wsgi` on a free loopback port, as long as the `with` block lasts."""

    def __init__(self, *, workers: int = 2, threads: int = 1, port: int | None = None, **environment: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(BIN / "gunicorn"),
            "cronofy_site.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ]
        self.environment = server_environment(**environment)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.environment)  # noqa: S603  # our own argv
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310  # loopback
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise SystemExit("gunicorn did not answer /healthz within a minute")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Process:
    """A helper process (a task cluster, a Redis server) for as long as the `with` block lasts."""

    def __init__(self, command: list[str], *, environment: dict[str, str] | None = None) -> None:
        self.command, self.environment = command, environment
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Process:
        self.process = subprocess.Popen(  # noqa: S603  # our own argv
            self.command, cwd=ROOT, env=self.environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Samples:
    name: str
    timings: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.timings)

    @property
    def p99(self) -> float:
        ordered = sorted(self.timings)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def interleaved(measures: dict[str, Callable[[], object]], *, rounds: int, warmups: int = 4) -> dict[str, Samples]:
    """Milliseconds per call of each measure: `warmups` calls each first (enough for every gunicorn
    worker of a measure over HTTP to have answered once: a worker's first request imports and
    connects), then `rounds` rounds taking one sample of every measure in an order that rotates every
    round."""
    names = list(measures)
    for _ in range(warmups):
        for name in names:
            measures[name]()
    found = {name: Samples(name, []) for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            measures[name]()
            found[name].timings.append((time.perf_counter() - start) * 1000)
    return found


def load_note() -> str:
    """The machine's load when the figures were taken (they vary with it; the ratios much less)."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.1f} (1 min) {five:.1f} (5 min)"


def person_with_busy_periods(
    *, application: Any, email: str, rng: random.Random, start: datetime, days: int, busy: int
) -> tuple[Any, Any]:
    """An account that granted `application` free/busy access, with a Google Free/Busy profile, one
    calendar and `busy` busy periods at random working hours over `days` days from `start` (30 minutes
    to 2 hours long, a quarter of them tentative). Returns the user and the calendar."""
    from accounts.oauth import tokens_issue_for
    from accounts.services import user_create
    from calendars.models import BusyPeriod, Calendar
    from calendars.services import calendar_profile_connect

    user = user_create(email=email, password="x")
    tokens_issue_for(application=application, user=user, scopes=["free_busy"])
    profile = calendar_profile_connect(
        user=user,
        provider_name="google_free_busy",
        profile_name=email,
        provider_account_id=email,
        credentials={"kind": "google_user"},
    )
    calendar = Calendar.objects.create(profile=profile, provider_calendar_id=email, name=email)
    rows = []
    for event in range(busy):
        day = start + timedelta(days=rng.randrange(days))
        begins = day + timedelta(hours=rng.randrange(7, 18), minutes=rng.choice((0, 15, 30, 45)))
        rows.append(
            BusyPeriod(
                calendar=calendar,
                provider_event_id=f"e{event}",
                start=begins,
                end=begins + timedelta(minutes=rng.choice((30, 45, 60, 90, 120))),
                status=rng.choice(("busy", "busy", "busy", "tentative")),
                updated_at=begins,
            )
        )
    BusyPeriod.objects.bulk_create(rows)
    return user, calendar
