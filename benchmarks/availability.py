"""How fast `POST /v1/availability` answers, against an honest floor measured in the same run.

Each participant has a synced calendar holding ~300 busy periods over a 35-day window (a fifth of
them on Managed Availability rules). For 10 and 50 participants, for a group that needs everyone
and one that needs any one of them, it prints the median and p99 in ms of:

- `floor`: the integer-seconds floor: the same busy-period rows the API reads, fetched with one raw
  SQL query as epoch seconds (`extract(epoch ...)::bigint`, strftime('%s') on SQLite) and sorted;
  nothing can answer without reading them, and reading them as integers is the cheapest way.
- `dt floor`: the same rows read as `timestamptz` (decoded into Python datetimes), for comparison.
- `engine`: the engine alone on the same members.
- `API`: the call in-process (Django's test client: validation, the participants' data in a fixed
  number of queries, the engine, the response), in a process whose garbage collector is tuned as
  the servers' are (core/runtime.py) and, like production, without WhiteNoise's per-request file
  lookups that the test settings turn on.
- `HTTP`: the same call over HTTP to gunicorn (production settings, DEBUG off, 2 sync workers),
  one request at a time.

For 200 participants (more than the API's 50-member limit) it times the in-process path the API
takes after validation: the loader and the engine. Samples of all measures of a row are taken
interleaved (one of each per round, in a rotating order), so the machine's load weighs on all alike;
ratios are of medians to the integer-seconds floor. `queries` is the in-process call's query count,
which must not grow with the people.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> .venv/bin/python benchmarks/availability.py
    ROUNDS=20 SIZES=10 ...   # a quick run
"""

from __future__ import annotations

import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings_test")
os.environ.setdefault("RSA_KEY_BITS", "2048")  # production's key size, not the test suite's

import django

django.setup()

from django.conf import settings

from core.runtime import freeze_loaded_code, tune_garbage_collection

tune_garbage_collection()  # as the servers' processes do (cronofy_site/wsgi.py): the in-process figures are theirs
# Production's static files: the test settings have WhiteNoise look for a file on every request (0.5 ms).
settings.WHITENOISE_AUTOREFRESH = settings.WHITENOISE_USE_FINDERS = False

import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.support import Gunicorn, bench_database, interleaved, load_note, person_with_busy_periods

ROUNDS = int(os.environ.get("ROUNDS", "100"))
SIZES = tuple(int(size) for size in os.environ.get("SIZES", "10,50,200").split(","))
API_LIMIT = 50  # the API's MAX_MEMBERS: larger groups are timed in-process only
BUSY_PER_PERSON = 300
WINDOW_DAYS = 35
START = datetime(2027, 3, 1, tzinfo=UTC)
END = START + timedelta(days=WINDOW_DAYS)


def populate(size: int, rng: random.Random) -> tuple[str, list[str], list[int]]:
    from accounts.oauth import application_create
    from calendars.managed_availability import availability_rule_upsert

    application, secret = application_create(name=f"Bench {size}", redirect_uris=["https://bench.example/cb"])
    subs, calendar_ids = [], []
    for number in range(size):
        user, calendar = person_with_busy_periods(
            application=application,
            email=f"p{size}-{number}@bench.example",
            rng=rng,
            start=START,
            days=WINDOW_DAYS,
            busy=BUSY_PER_PERSON,
        )
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


def floors(calendar_ids: list[int]) -> tuple:
    """The integer-seconds floor and the datetime floor: the busy rows the API reads, one query each."""
    marks = ", ".join(["%s"] * len(calendar_ids))
    where = f"WHERE calendar_id IN ({marks}) AND start < %s AND \"end\" > %s AND status IN ('busy', 'tentative')"
    if connection.vendor == "postgresql":
        epoch = 'FLOOR(EXTRACT(EPOCH FROM start))::bigint, FLOOR(EXTRACT(EPOCH FROM "end"))::bigint'
    else:
        epoch = "CAST(strftime('%%s', start) AS INTEGER), CAST(strftime('%%s', \"end\") AS INTEGER)"
    parameters = [*calendar_ids, END, START]

    def integer_floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT calendar_id, {epoch} FROM calendars_busyperiod {where}", parameters)  # noqa: S608
            return len(sorted(cursor.fetchall()))

    def datetime_floor() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT calendar_id, start, "end" FROM calendars_busyperiod {where}', parameters)  # noqa: S608
            return len(sorted(cursor.fetchall()))

    return integer_floor, datetime_floor


def main() -> None:
    from accounts.models import Application
    from bookings.api.availability import AvailabilityInput, _member_requests
    from bookings.availability_inputs import availability_members, seconds
    from calendars.availability import Group, Query, available_periods

    rng = random.Random(2027)
    with bench_database():
        populated = {size: populate(size, rng) for size in SIZES}
        freeze_loaded_code()  # as the servers' workers do once loaded (cronofy_site/wsgi.py)
        rows = []
        with Gunicorn(workers=2) as server:
            http = requests.Session()
            for size in SIZES:
                secret, subs, calendar_ids = populated[size]
                application = Application.objects.get(name=f"Bench {size}")
                integer_floor, datetime_floor = floors(calendar_ids)
                for required in ("all", 1):
                    body = request_body(subs, required)
                    if size <= API_LIMIT:  # the API would refuse larger groups
                        parsed = AvailabilityInput(data=body)
                        parsed.is_valid(raise_exception=True)
                        member_requests = _member_requests(parsed.validated_data["participants"])
                    else:
                        member_requests = _member_requests(body["participants"])

                    def load_members(member_requests=member_requests, application=application) -> dict:
                        return availability_members(
                            application=application,
                            requests=member_requests,
                            start=START - timedelta(minutes=10),
                            end=END + timedelta(minutes=10),
                        )

                    def query_for(members: dict, subs=subs, required=required) -> Query:
                        return Query(
                            periods=[(seconds(START), seconds(END))],
                            groups=[
                                Group(
                                    members=[members[sub] for sub in subs],
                                    required=len(subs) if required == "all" else 1,
                                )
                            ],
                            duration=30 * 60,
                            buffer_before=600,
                            buffer_after=600,
                            max_results=512,
                        )

                    query = query_for(load_members())
                    measures = {
                        "floor": integer_floor,
                        "dt floor": datetime_floor,
                        "engine": lambda query=query: available_periods(query),
                    }
                    if size <= API_LIMIT:
                        client = Client()
                        headers = {"Authorization": f"Bearer {secret}"}

                        def call(client=client, body=body, headers=headers) -> None:
                            response = client.post(
                                "/v1/availability", body, content_type="application/json", headers=headers
                            )
                            if response.status_code != 200:
                                raise SystemExit(f"The API refused the benchmark's request: {response.content!r}")

                        def over_http(body=body, headers=headers, url=f"{server.url}/v1/availability") -> None:
                            response = http.post(url, json=body, headers=headers, timeout=30)
                            if response.status_code != 200:
                                raise SystemExit(f"gunicorn refused the benchmark's request: {response.text!r}")

                        measures["API"] = call
                        measures["HTTP"] = over_http
                    else:

                        def call(load_members=load_members, query_for=query_for) -> None:
                            available_periods(query_for(load_members()))

                        measures["API"] = call
                    samples = interleaved(measures, rounds=ROUNDS)
                    with CaptureQueriesContext(connection) as queries:
                        call()
                    rows.append((size, required, samples, len(queries), len(available_periods(query))))
                    print(f"  measured {size} people, required {required}", file=sys.stderr)
        print(f"database: {connection.vendor}; {BUSY_PER_PERSON} busy periods per person over {WINDOW_DAYS} days")
        print(f"machine: {load_note()} (after the run)")
        print(f"median/p99 of {ROUNDS} interleaved samples, in ms; x = ratio of medians to the integer-seconds floor")
        print(
            f"{'people':>6} {'required':>8} {'floor':>13} {'dt floor':>13} {'x':>5} {'engine':>13} {'x':>5} "
            f"{'API':>13} {'x':>5} {'HTTP':>13} {'x':>5} {'queries':>7} {'periods':>7}"
        )
        for size, required, samples, queries, periods in rows:
            floor = samples["floor"].median

            def cell(name: str, samples=samples, floor=floor) -> str:
                if name not in samples:
                    return f"{'-':>13} {'-':>5}"
                found = samples[name]
                return f"{found.median:>6.1f}/{found.p99:<6.1f} {found.median / floor:>5.1f}"

            api_label = "" if size <= API_LIMIT else "  (API: loader + engine in-process; over the API's limit)"
            print(
                f"{size:>6} {required!s:>8} {samples['floor'].median:>6.1f}/{samples['floor'].p99:<6.1f} "
                f"{cell('dt floor')} {cell('engine')} {cell('API')} {cell('HTTP')} {queries:>7} {periods:>7}{api_label}"
            )


if __name__ == "__main__":
    main()
