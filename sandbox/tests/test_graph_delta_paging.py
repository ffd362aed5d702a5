"""The sandbox's Graph calendarView/delta pages by keyset: any page size serves every occurrence of
the window exactly once (series split across pages, changed and cancelled occurrences included), and a
page costs the same queries however large the calendar."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from calendars.providers import endpoints
from sandbox import services
from sandbox.models import Event
from sandbox.testing import mint
from sandbox.tests.test_microsoft_contract import READ_BASIC, graph, window
from sandbox.views import microsoft_graph

pytestmark = pytest.mark.django_db(transaction=True)


def busy_calendar(world, singles: int) -> None:
    calendar = world.calendar("erin")
    for number in range(singles):
        start = world.monday + timedelta(hours=number * 5)
        services.event_create(
            calendar=calendar, values={"summary": f"S{number}", "start": start, "end": start + timedelta(minutes=30)}
        )
    series = services.event_create(
        calendar=calendar,
        values={
            "summary": "Weekly",
            "start": world.monday - timedelta(days=6, hours=-8),
            "end": world.monday - timedelta(days=6, hours=-9),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=12"],
        },
    )
    occurrences = sorted(Event.objects.get(pk=series.pk).start + timedelta(days=day) for day in range(12))
    services.occurrence_change(
        series=series,
        original_start=occurrences[2],
        values={"start": occurrences[2] + timedelta(hours=2), "end": occurrences[2] + timedelta(hours=3)},
    )
    services.occurrence_change(series=series, original_start=occurrences[4], values={"status": Event.Status.CANCELLED})


def delta_ids(world, size: int) -> list[str]:
    start, end = window(world)
    url = f"me/calendarView/delta?startDateTime={start.isoformat()}&endDateTime={end.isoformat()}".replace("+", "%2B")
    seen = []
    while True:
        page = graph(world, "erin", READ_BASIC, "GET", url, headers={"Prefer": f"odata.maxpagesize={size}"}).json()
        assert len(page["value"]) <= size
        seen += [item["id"] for item in page["value"]]
        if "@odata.deltaLink" in page:
            return seen
        url = page["@odata.nextLink"]


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_every_page_size_serves_each_occurrence_once(world, size):
    busy_calendar(world, 20)
    start, end = window(world)
    url = f"me/calendarView?startDateTime={start.isoformat()}&endDateTime={end.isoformat()}&$top=1000"
    listed = [item["id"] for item in graph(world, "erin", READ_BASIC, "GET", url.replace("+", "%2B")).json()["value"]]
    assert len(listed) == len(set(listed)) > 30
    paged = delta_ids(world, size)
    assert sorted(paged) == sorted(listed)


def first_page(world, client: Client) -> tuple[int, int]:
    """The queries and the events rendered for the first page of 5 of a delta round."""
    start, end = window(world)
    path = urlparse(endpoints.microsoft_graph_url()).path
    token = mint(world, "erin", READ_BASIC)
    rendered = []
    real = microsoft_graph.event_json
    with (
        CaptureQueriesContext(connection) as queries,
        mock.patch.object(microsoft_graph, "event_json", lambda *a, **k: rendered.append(1) or real(*a, **k)),
    ):
        response = client.get(
            f"{path}/v1.0/me/calendarView/delta",
            {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()},
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_PREFER="odata.maxpagesize=5",
        )
    assert response.status_code == 200 and len(response.json()["value"]) == 5
    return len(queries), len(rendered)


def test_a_page_costs_the_same_for_a_calendar_ten_times_larger(world):
    client = Client()
    busy_calendar(world, 10)
    small_queries, small_rendered = first_page(world, client)
    busy_calendar(world, 100)
    large_queries, large_rendered = first_page(world, client)
    assert large_queries == small_queries
    assert large_rendered == small_rendered <= 5 + 12  # the page, and at most one row looked at beyond it
