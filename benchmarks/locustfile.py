"""The mixed workload of benchmarks/load.py, for locust (headless). It reads the plan load.py wrote
(LOAD_PLAN: credentials, people, calendars, watch channels) and, with no think time, asks:

- availability (the most): POST /v1/availability for 10 random people, application secret;
- free/busy: GET /v1/free_busy of a person over a week, their account token;
- event upserts: POST /v1/calendars/{id}/events on a person's Read-Write calendar (written through
  to the provider by the task clusters, and told to the person's channel);
- provider pushes: POST /push/google as Google sends them, each queueing a calendar sync;
- invitations: POST /v1/calendars/{id}/events on a No Access person's calendar with a guest to
  invite, each queueing an iMIP invitation (DKIM-signed, sent over SMTP by the task clusters).

Channel notifications and invitations are what the task clusters deliver as a result; load.py counts
them at its receivers.

`Integrator` asks all of these in fixed proportions (availability 10, free/busy 3, upserts 2, pushes
1, invitations 1), so writes grow with reads. With WRITES set, load.py runs `Reader`s (availability
and free/busy, 10 to 3, no think time) beside `Writer`s that hold the writes at a fixed rate (upserts,
pushes and invitations, 2 to 1 to 1): how much an integrator can read while calendars change at a
given pace.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, constant, constant_throughput

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115  # read once at import
START = datetime.fromisoformat(PLAN["start"])


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Calls(FastHttpUser):
    """The calls the users below make (an abstract user: locust runs only its subclasses)."""

    abstract = True
    wait_time = constant(0)

    def availability(self) -> None:
        subs = random.sample(PLAN["subs"], 10)
        day = START + timedelta(days=random.randrange(7))
        self.client.post(
            "/v1/availability",
            json={
                "participants": [{"members": [{"sub": sub} for sub in subs], "required": "all"}],
                "required_duration": {"minutes": 30},
                "query_periods": [{"start": z(day), "end": z(day + timedelta(days=28))}],
                "buffer": {"before": {"minutes": 10}, "after": {"minutes": 10}},
            },
            headers={"Authorization": f"Bearer {PLAN['secret']}"},
            name="availability",
        )

    def free_busy(self) -> None:
        person = random.choice(PLAN["people"])
        day = START + timedelta(days=random.randrange(21))
        self.client.get(
            f"/v1/free_busy?tzid=Etc/UTC&from={day:%Y-%m-%d}&to={day + timedelta(days=7):%Y-%m-%d}",
            headers={"Authorization": f"Bearer {person['token']}"},
            name="free_busy",
        )

    def event_upsert(self) -> None:
        self._book(random.choice(PLAN["people"]), {"event_id": f"load-{random.randrange(20)}"}, name="event_upsert")

    def provider_push(self) -> None:
        person = random.choice(PLAN["people"])
        self.client.post(
            "/push/google",
            headers={
                "X-Goog-Channel-ID": person["channel_id"],
                "X-Goog-Channel-Token": person["channel_token"],
                "X-Goog-Resource-State": "exists",
            },
            name="provider_push",
        )

    def invitation(self) -> None:
        guest = random.randrange(1000)
        invite = [{"email": f"guest{guest}@example.com", "display_name": f"Guest {guest}"}]
        event = {"event_id": f"invite-{random.randrange(20)}", "attendees": {"invite": invite}}
        self._book(random.choice(PLAN["organizers"]), event, name="invitation")

    def _book(self, person: dict, event: dict, *, name: str) -> None:
        """Upsert a 30-minute event in the person's calendar at a random working hour of the 4 weeks."""
        begins = START + timedelta(days=random.randrange(28), hours=random.randrange(8, 18))
        self.client.post(
            f"/v1/calendars/{person['calendar']}/events",
            json={
                "summary": "Load test",
                "start": z(begins),
                "end": z(begins + timedelta(minutes=30)),
                "tzid": "Etc/UTC",
                **event,
            },
            headers={"Authorization": f"Bearer {person['token']}"},
            name=name,
        )


class Integrator(Calls):
    """Reads and writes in fixed proportions, with no think time."""

    tasks = {
        Calls.availability: 10,
        Calls.free_busy: 3,
        Calls.event_upsert: 2,
        Calls.provider_push: 1,
        Calls.invitation: 1,
    }


class Reader(Calls):
    """Reads only, with no think time (run beside Writers when WRITES is set)."""

    tasks = {Calls.availability: 10, Calls.free_busy: 3}


class Writer(Calls):
    """Writes at a fixed pace: LOAD_WRITERS of them, each LOAD_WRITES_PER_USER a second."""

    fixed_count = int(os.environ.get("LOAD_WRITERS", "0"))
    wait_time = constant_throughput(float(os.environ.get("LOAD_WRITES_PER_USER", "1")))
    tasks = {Calls.event_upsert: 2, Calls.provider_push: 1, Calls.invitation: 1}
