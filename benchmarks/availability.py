"""How fast `POST /v1/availability` answers, and how much of that is the engine.

For 10 and 50 participants, each with a synced calendar holding a few hundred busy periods over a
35-day window (a fifth of them on Managed Availability rules), it prints the median and p99 in ms of:

- the API call (HTTP handling, validation, the participants' data in a fixed number of queries, the
  engine, the response), for a group that needs everyone and for a group that needs any one of them;
- the engine alone on the same members;
- the floor: the same busy-period rows fetched with one raw SQL query and sorted.

and each figure's ratio to the floor.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")

import django

django.setup()

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment

ROUNDS = 60
SIZES = (10, 50)
BUSY_PER_PERSON = 300
WINDOW_DAYS = 35
START = datetime(2027, 3, 1, tzinfo=UTC)


def timed(action, rounds: int = ROUNDS) -> tuple[float, float]:
    action()  # warm up
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]


def populate(size: int, rng: random.Random) -> tuple[str, list[str], list[int]]:
    from accounts.oauth import application_create, tokens_issue_for
    from accounts.services import user_create
    from calendars.managed_availability import availability_rule_upsert
    from calendars.models import BusyPeriod, Calendar
    from calendars.services import calendar_profile_connect

    application, secret = application_create(name=f"Bench {size}", redirect_uris=["https://bench.example/cb"])
    subs, calendar_ids = [], []
    for number in range(size):
        user = user_create(email=f"p{size}-{number}@bench.example", password="x")
        tokens_issue_for(application=application, user=user, scopes=["free_busy"])
        profile = calendar_profile_connect(
            user=user,
            provider_name="google_free_busy",
            profile_name=user.email,
            provider_account_id=user.email,
            credentials={"kind": "google_user"},
        )
        calendar = Calendar.objects.create(profile=profile, provider_calendar_id=user.email, name=user.email)
        rows = []
        for event in range(BUSY_PER_PERSON):
            day = START + timedelta(days=rng.randrange(WINDOW_DAYS))
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
        if number % 5 == 0:
            availability_rule_upsert(
                user=user,
                rule_id="work",
                tzid="Europe/London",
                calendar_ids=[],
                weekly_periods=[
                    {"day": day, "start_time": "08:00", "end_time": "18:00"}
                    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
                ],
            )
        subs.append(user.public_id)
        calendar_ids.append(calendar.pk)
    return secret, subs, calendar_ids


def request_body(subs: list[str], required: object) -> dict:
    return {
        "participants": [
            {
                "members": [{"sub": sub, "managed_availability": n % 5 == 0} for n, sub in enumerate(subs)],
                "required": required,
            }
        ],
        "required_duration": {"minutes": 30},
        "query_periods": [
            {
                "start": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (START + timedelta(days=WINDOW_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ],
        "buffer": {"before": {"minutes": 10}, "after": {"minutes": 10}},
        "response_format": "periods",
        "max_results": 512,
    }


def main() -> None:
    from accounts.models import Application
    from bookings.api.availability import AvailabilityInput, _member_requests
    from bookings.availability_inputs import availability_members, seconds
    from calendars.availability import Group, Query, available_periods

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    rng = random.Random(2027)
    try:
        print(f"database: {connection.vendor}; {BUSY_PER_PERSON} busy periods per person over {WINDOW_DAYS} days")
        print(f"median and p99 of {ROUNDS} runs, in ms; ratio of medians to the floor")
        print(
            f"{'people':>6} {'required':>8} {'floor':>13} {'engine':>13} {'x':>6} {'API':>15} {'x':>6} "
            f"{'queries':>7} {'periods':>7}"
        )
        for size in SIZES:
            secret, subs, calendar_ids = populate(size, rng)
            application = Application.objects.get(name=f"Bench {size}")
            end = START + timedelta(days=WINDOW_DAYS)

            def floor(calendar_ids: list[int] = calendar_ids, end: datetime = end) -> None:
                with connection.cursor() as cursor:
                    marks = ", ".join(["%s"] * len(calendar_ids))
                    cursor.execute(
                        f'SELECT calendar_id, start, "end" FROM calendars_busyperiod '  # noqa: S608  # placeholders only
                        f'WHERE calendar_id IN ({marks}) AND start < %s AND "end" > %s',
                        [*calendar_ids, end, START],
                    )
                    sorted(cursor.fetchall(), key=lambda row: (row[0], row[1]))

            floor_median, floor_p99 = timed(floor)
            for required in ("all", 1):
                body = request_body(subs, required)
                parsed = AvailabilityInput(data=body)
                parsed.is_valid(raise_exception=True)
                values = parsed.validated_data
                members = availability_members(
                    application=application,
                    requests=_member_requests(values["participants"]),
                    start=START - timedelta(minutes=10),
                    end=end + timedelta(minutes=10),
                )
                query = Query(
                    periods=[(seconds(START), seconds(end))],
                    groups=[
                        Group(members=[members[sub] for sub in subs], required=len(subs) if required == "all" else 1)
                    ],
                    duration=30 * 60,
                    buffer_before=600,
                    buffer_after=600,
                    max_results=512,
                )
                engine_median, engine_p99 = timed(lambda query=query: available_periods(query))
                client = Client()

                def call(client: Client = client, body: dict = body, secret: str = secret) -> None:
                    response = client.post(
                        "/v1/availability",
                        body,
                        content_type="application/json",
                        headers={"Authorization": f"Bearer {secret}"},
                    )
                    if response.status_code != 200:
                        raise SystemExit(f"The API refused the benchmark's request: {response.content!r}")

                api_median, api_p99 = timed(call)
                with CaptureQueriesContext(connection) as queries:
                    call()
                periods = len(available_periods(query))
                print(
                    f"{size:>6} {required!s:>8} {floor_median:>6.2f}/{floor_p99:<6.2f} "
                    f"{engine_median:>6.2f}/{engine_p99:<6.2f} {engine_median / floor_median:>6.1f} "
                    f"{api_median:>7.2f}/{api_p99:<7.2f} {api_median / floor_median:>6.1f} "
                    f"{len(queries):>7} {periods:>7}"
                )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
