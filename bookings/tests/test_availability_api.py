"""`POST /v1/availability` with application credentials: every option, Managed Availability across a
daylight-saving change, managed events as busy time, Cronofy's 422 shape, scoping to the
application's own grants, and a query count that does not grow with the participants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pycronofy
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.oauth import application_create, tokens_issue_for
from bookings.models import AttendeeStatus, ManagedEvent, ManagedEventAttendee
from calendars.managed_availability import availability_rule_upsert, available_period_upsert
from calendars.models import BusyPeriod, Calendar
from calendars.services import calendar_profile_connect
from conftest import make_user
from tests.e2e import INTEGRATOR_REDIRECT

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 22, tzinfo=UTC)  # the week before Europe's clocks go forward (28 March)


def hour(day: int, at: float) -> datetime:
    return MONDAY + timedelta(days=day, hours=at)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def app():
    application, secret = application_create(name="Scheduler", redirect_uris=[INTEGRATOR_REDIRECT])
    return application, secret


def person(app, email: str, *, mode: str = "free_busy", busy=(), grant: bool = True):
    """An account with one synced calendar (or a hosted one for No Access) and these busy periods."""
    application, _ = app
    user = make_user(email)
    if grant:
        tokens_issue_for(application=application, user=user, scopes=["free_busy"])
    if mode == "no_access":
        profile = calendar_profile_connect(user=user, provider_name="cronofy", profile_name=email)
        calendar = profile.calendars.get()
    else:
        profile = calendar_profile_connect(
            user=user,
            provider_name="google_free_busy",
            profile_name=email,
            provider_account_id=email,
            credentials={"kind": "google_user"},
        )
        calendar = Calendar.objects.create(profile=profile, provider_calendar_id=email, name=email, is_primary=True)
    for number, (start, end, *status) in enumerate(busy):
        BusyPeriod.objects.create(
            calendar=calendar,
            provider_event_id=f"e{number}",
            start=start,
            end=end,
            status=status[0] if status else "busy",
            updated_at=start,
        )
    return user, calendar


def ask(app, body: dict, *, secret: str | None = None):
    client = Client()
    return client.post(
        "/v1/availability",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret or app[1]}"},
    )


def body(*groups, start=None, end=None, minutes=60, **options) -> dict:
    return {
        "participants": list(groups),
        "required_duration": {"minutes": minutes},
        "query_periods": [{"start": z(start or hour(0, 9)), "end": z(end or hour(0, 17))}],
        **options,
    }


def everyone(*users) -> dict:
    return {"members": [{"sub": user.public_id} for user in users], "required": "all"}


def periods(response) -> list[tuple[str, str, list[str]]]:
    assert response.status_code == 200, response.content
    return [(p["start"], p["end"], [x["sub"] for x in p["participants"]]) for p in response.json()["available_periods"]]


def test_everyone_free_together(app):
    alice, _ = person(app, "alice@acme.example", busy=[(hour(0, 10), hour(0, 11))])
    bob, _ = person(
        app, "bob@acme.example", busy=[(hour(0, 13), hour(0, 14), "tentative"), (hour(0, 15), hour(0, 16), "free")]
    )
    found = periods(ask(app, body(everyone(alice, bob))))
    subs = sorted([alice.public_id, bob.public_id])
    assert [(s, e, sorted(p)) for s, e, p in found] == [
        (z(hour(0, 9)), z(hour(0, 10)), subs),
        (z(hour(0, 11)), z(hour(0, 13)), subs),
        (z(hour(0, 14)), z(hour(0, 17)), subs),  # a free (transparent) event does not block
    ]


def test_one_of_a_group(app):
    host, _ = person(app, "host@acme.example")
    r1, _ = person(app, "r1@acme.example", busy=[(hour(0, 9), hour(0, 15))])
    r2, _ = person(app, "r2@acme.example", busy=[(hour(0, 12), hour(0, 17))])
    found = periods(
        ask(app, body(everyone(host), {"members": [{"sub": r1.public_id}, {"sub": r2.public_id}], "required": 1}))
    )
    assert found == [
        (z(hour(0, 9)), z(hour(0, 12)), sorted([host.public_id, r2.public_id])),
        (z(hour(0, 15)), z(hour(0, 17)), sorted([host.public_id, r1.public_id])),
    ]


def test_buffers_slots_and_max_results(app):
    alice, _ = person(app, "alice@acme.example", busy=[(hour(0, 12), hour(0, 13))])
    buffered = periods(
        ask(app, body(everyone(alice), buffer={"before": {"minutes": 30}, "after": {"minimum": {"minutes": 15}}}))
    )
    assert buffered == [
        (z(hour(0, 9)), z(hour(0, 11.75)), [alice.public_id]),
        (z(hour(0, 13.5)), z(hour(0, 17)), [alice.public_id]),
    ]

    slots = ask(app, body(everyone(alice), minutes=30, response_format="slots", start_interval={"minutes": 30}))
    starts = [s["start"] for s in slots.json()["available_slots"]]
    assert starts[:3] == [z(hour(0, 9)), z(hour(0, 9.5)), z(hour(0, 10))]
    assert z(hour(0, 12)) not in starts and len(starts) == 14
    overlapping = ask(
        app,
        body(
            everyone(alice),
            minutes=60,
            response_format="overlapping_slots",
            start_interval={"minutes": 30},
            max_results=3,
        ),
    )
    assert [(s["start"], s["end"]) for s in overlapping.json()["available_slots"]] == [
        (z(hour(0, 9)), z(hour(0, 10))),
        (z(hour(0, 9.5)), z(hour(0, 10.5))),
        (z(hour(0, 10)), z(hour(0, 11))),
    ]


def test_query_slots_answer_which_exact_slots_work(app):
    alice, _ = person(app, "alice@acme.example", busy=[(hour(0, 12), hour(0, 13))])
    response = ask(
        app,
        {
            "participants": [everyone(alice)],
            "required_duration": {"minutes": 60},
            "query_slots": [{"start": z(hour(0, 9))}, {"start": z(hour(0, 12.5))}, {"start": z(hour(0, 14))}],
        },
    )
    assert [s["start"] for s in response.json()["available_slots"]] == [z(hour(0, 9)), z(hour(0, 14))]


def test_member_available_periods_and_calendar_ids(app):
    alice, calendar = person(app, "alice@acme.example", busy=[(hour(0, 10), hour(0, 11))])
    member = {
        "sub": alice.public_id,
        "calendar_ids": [calendar.public_id],
        "available_periods": [{"start": z(hour(0, 9)), "end": z(hour(0, 12))}],
    }
    found = periods(ask(app, body({"members": [member]})))
    assert found == [
        (z(hour(0, 9)), z(hour(0, 10)), [alice.public_id]),
        (z(hour(0, 11)), z(hour(0, 12)), [alice.public_id]),
    ]


def test_managed_availability_keeps_local_hours_across_the_clock_change(app):
    alice, _ = person(app, "alice@acme.example")
    availability_rule_upsert(
        user=alice,
        rule_id="work",
        tzid="Europe/London",
        calendar_ids=[],
        weekly_periods=[{"day": "friday", "start_time": "09:00", "end_time": "10:00"}],
    )
    member = {"sub": alice.public_id, "managed_availability": True}
    found = periods(ask(app, body({"members": [member]}, start=hour(0, 0), end=hour(14, 0))))
    # 09:00 London is 09:00 UTC on 26 March (GMT) and 08:00 UTC on 2 April (BST).
    assert [(s, e) for s, e, _ in found] == [(z(hour(4, 9)), z(hour(4, 10))), (z(hour(11, 8)), z(hour(11, 9)))]


def test_no_access_people_are_available_in_their_preferences_by_default(app):
    nina, _ = person(app, "nina@legal.acme.example", mode="no_access")
    found = periods(ask(app, body(everyone(nina), start=hour(5, 0), end=hour(7, 12))))  # Saturday to Monday noon
    assert [(s, e) for s, e, _ in found] == [(z(hour(7, 9)), z(hour(7, 12)))]  # office hours, in her zone (UTC)
    available_period_upsert(user=nina, period_id="saturday", start=hour(5, 10), end=hour(5, 12))
    availability_rule_upsert(user=nina, rule_id="mornings", tzid="Etc/UTC", calendar_ids=[], weekly_periods=[])
    found = periods(ask(app, body(everyone(nina), start=hour(5, 0), end=hour(7, 12))))
    assert [(s, e) for s, e, _ in found] == [(z(hour(5, 10)), z(hour(5, 12)))]


def test_managed_events_are_busy_for_everyone_they_involve(app):
    alice, calendar = person(app, "alice@acme.example")
    bob, _ = person(app, "bob@acme.example")
    carol, _ = person(app, "carol@acme.example")
    event = ManagedEvent.objects.create(
        calendar=calendar, event_id="e1", summary="Interview", start=hour(0, 10), end=hour(0, 11)
    )
    ManagedEventAttendee.objects.create(event=event, email=bob.email, user=bob)
    ManagedEventAttendee.objects.create(event=event, email=carol.email, user=carol, status=AttendeeStatus.DECLINED)
    for user, blocked in ((alice, True), (bob, True), (carol, False)):
        found = periods(ask(app, body(everyone(user))))
        assert ((z(hour(0, 9)), z(hour(0, 10)), [user.public_id]) in found) is blocked


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda b: b["query_periods"][0].update(end=z(hour(0, 8))), "query_periods.0.end", "after start"),
        (
            lambda b: b["query_periods"].append({"start": z(hour(0, 9)), "end": z(hour(40, 9))}),
            "query_periods",
            "35 days",
        ),
        (lambda b: b["participants"][0].update(required=3), "participants.0.required", "from 1 to 1"),
        (lambda b: b.update(start_interval={"minutes": 7}), "start_interval", "one of 5, 10"),
        (lambda b: b.update(required_duration={"minutes": 0}), "required_duration", "at least one minute"),
        (lambda b: b.update(response_format="blocks"), "response_format", "valid choice"),
        (lambda b: b["participants"][0]["members"][0].update(sub="acc_nobody"), "participants", "acc_nobody"),
        (lambda b: b.pop("query_periods"), "query_periods", "query_slots"),
    ],
)
def test_bad_requests_get_cronofys_422(app, change, field, words):
    alice, _ = person(app, "alice@acme.example")
    request = body(everyone(alice))
    change(request)
    response = ask(app, request)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    assert words in errors[field][0]["description"]
    assert errors[field][0]["key"].startswith("errors.")


def test_people_who_did_not_authorize_this_application_are_refused(app):
    alice, _ = person(app, "alice@acme.example")
    other, _ = application_create(name="Other", redirect_uris=[INTEGRATOR_REDIRECT])
    outsider = make_user("zed@globex.example")
    tokens_issue_for(application=other, user=outsider, scopes=["free_busy"])
    response = ask(app, body(everyone(alice, outsider)))
    assert response.status_code == 422
    assert outsider.public_id in response.json()["errors"]["participants"][0]["description"]


def test_someone_elses_calendar_is_refused(app):
    alice, _ = person(app, "alice@acme.example")
    _, bobs_calendar = person(app, "bob@acme.example")
    member = {"sub": alice.public_id, "calendar_ids": [bobs_calendar.public_id]}
    response = ask(app, body({"members": [member]}))
    assert response.status_code == 422
    assert bobs_calendar.public_id in response.json()["errors"]["participants"][0]["description"]


def test_credentials(app):
    alice, _ = person(app, "alice@acme.example")
    assert ask(app, body(everyone(alice)), secret="not-the-secret").status_code == 401
    assert Client().post("/v1/availability", body(everyone(alice)), content_type="application/json").status_code == 401
    token = tokens_issue_for(application=app[0], user=alice, scopes=["free_busy"]).access_token
    assert ask(app, body(everyone(alice)), secret=token).status_code == 200  # an account token stands for its app


def test_the_query_count_does_not_grow_with_the_participants(app):
    people = [person(app, f"p{n}@acme.example", busy=[(hour(0, 9 + n % 8), hour(0, 10 + n % 8))])[0] for n in range(20)]
    for user in people[:5]:
        availability_rule_upsert(
            user=user,
            rule_id="w",
            tzid="Europe/London",
            calendar_ids=[],
            weekly_periods=[{"day": "monday", "start_time": "08:00", "end_time": "18:00"}],
        )

    def queries(users) -> int:
        members = [{"sub": u.public_id, "managed_availability": True} for u in users]
        with CaptureQueriesContext(connection) as captured:
            response = ask(app, body({"members": members, "required": 1}))
        assert response.status_code == 200
        return len(captured)

    assert queries(people[:1]) == queries(people)


def test_managed_availability_is_read_only_when_an_answer_uses_it(app):
    people = [person(app, f"p{n}@acme.example", busy=[(hour(0, 9 + n), hour(0, 10 + n))])[0] for n in range(3)]

    def queries(managed: bool) -> list[str]:
        members = [{"sub": u.public_id, "managed_availability": managed} for u in people]
        with CaptureQueriesContext(connection) as captured:
            response = ask(app, body({"members": members}))
        assert response.status_code == 200
        return [query["sql"] for query in captured]

    # The application, the grants with their calendars, and everyone's times: three queries, with the
    # rules and available periods joining the times query only for Managed Availability.
    with_rules, without = queries(True), queries(False)
    assert len(with_rules) == len(without) == 3
    assert "calendars_availabilityrule" in with_rules[-1]
    assert not any("calendars_availabilityrule" in sql or "calendars_availableperiod" in sql for sql in without)


def test_busy_periods_with_fractions_of_a_second_count_from_their_whole_seconds(app):
    # Busy from 10:00:00.7 to 10:59:59.4: read as 10:00:00 to 10:59:59 (as int(timestamp()) did), so
    # a meeting may start at 11:00 but not at 10:59:59.
    alice, _ = person(
        app,
        "alice@acme.example",
        busy=[(hour(0, 10) + timedelta(microseconds=700_000), hour(0, 11) - timedelta(microseconds=600_000))],
    )
    found = periods(ask(app, body({"members": [{"sub": alice.public_id}]}, start=hour(0, 9), end=hour(0, 12))))
    assert [(s, e) for s, e, _ in found] == [
        (z(hour(0, 9)), z(hour(0, 10))),
        (z(hour(0, 11) - timedelta(seconds=1)), z(hour(0, 12))),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_official_sdk_asks_for_availability(live_server, app):
    alice, _ = person(app, "alice@acme.example", busy=[(hour(0, 10), hour(0, 16))])
    token = tokens_issue_for(application=app[0], user=alice, scopes=["free_busy"]).access_token
    sdk = pycronofy.Client(client_id=app[0].client_id, client_secret=app[1], access_token=token)
    sdk.request_handler.base_url = live_server.url
    found = sdk.availability(
        participants=[{"members": [alice.public_id], "required": "all"}],
        required_duration=60,
        available_periods=[{"start": z(hour(0, 9)), "end": z(hour(0, 17))}],
    )
    assert found == [
        {"start": z(hour(0, 9)), "end": z(hour(0, 10)), "participants": [{"sub": alice.public_id}]},
        {"start": z(hour(0, 16)), "end": z(hour(0, 17)), "participants": [{"sub": alice.public_id}]},
    ]


def test_availability_rule_ids_pick_which_rules_apply(app):
    alice, _ = person(app, "alice@acme.example")
    for rule_id, hours in (("mornings", ("09:00", "12:00")), ("afternoons", ("14:00", "17:00"))):
        availability_rule_upsert(
            user=alice,
            rule_id=rule_id,
            tzid="Etc/UTC",
            calendar_ids=[],
            weekly_periods=[{"day": "monday", "start_time": hours[0], "end_time": hours[1]}],
        )
    member = {"sub": alice.public_id, "managed_availability": True, "availability_rule_ids": ["afternoons"]}
    assert [(s, e) for s, e, _ in periods(ask(app, body({"members": [member]})))] == [(z(hour(0, 14)), z(hour(0, 17)))]
    member["availability_rule_ids"] = ["mornings", "afternoons"]
    assert len(periods(ask(app, body({"members": [member]})))) == 2


def test_a_rule_counts_only_its_calendars(app):
    alice, calendar = person(app, "alice@acme.example", busy=[(hour(0, 10), hour(0, 11))])
    other = Calendar.objects.create(profile=calendar.profile, provider_calendar_id="other", name="Other")
    BusyPeriod.objects.create(
        calendar=other, provider_event_id="x", start=hour(0, 14), end=hour(0, 15), status="busy", updated_at=hour(0, 0)
    )
    availability_rule_upsert(
        user=alice,
        rule_id="work",
        tzid="Etc/UTC",
        calendar_ids=[other.public_id],
        weekly_periods=[{"day": "monday", "start_time": "09:00", "end_time": "17:00"}],
    )
    found = periods(ask(app, body({"members": [{"sub": alice.public_id, "managed_availability": True}]})))
    assert [(s, e) for s, e, _ in found] == [(z(hour(0, 9)), z(hour(0, 14))), (z(hour(0, 15)), z(hour(0, 17)))]


def test_a_buffer_maximum_below_its_minutes_is_refused(app):
    alice, _ = person(app, "alice@acme.example")
    response = ask(app, body(everyone(alice), buffer={"before": {"minutes": 30, "maximum": {"minutes": 15}}}))
    assert response.status_code == 422
    assert "buffer.before.maximum" in response.json()["errors"]
