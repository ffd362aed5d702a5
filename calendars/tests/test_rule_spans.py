"""A weekly rule expanded into epoch seconds: local clock times on both sides of a daylight-saving
change, 24:00 as the next midnight, and the query's edges cutting the first and last spans."""

from datetime import UTC, datetime

from calendars.managed_availability import rule_spans


def epoch(*moment: int) -> int:
    return int(datetime(*moment, tzinfo=UTC).timestamp())


def test_local_hours_stay_local_across_the_change_to_summer_time():
    # Europe/London goes from GMT to BST on Sunday 28 March 2027.
    spans = rule_spans(
        tzid="Europe/London",
        weekly_periods=[{"day": "monday", "start_time": "09:00", "end_time": "17:00"}],
        start=datetime(2027, 3, 20, tzinfo=UTC),
        end=datetime(2027, 4, 3, tzinfo=UTC),
    )
    assert spans == [(epoch(2027, 3, 22, 9), epoch(2027, 3, 22, 17)), (epoch(2027, 3, 29, 8), epoch(2027, 3, 29, 16))]


def test_24_00_is_the_next_midnight_and_the_query_edges_cut_the_spans():
    spans = rule_spans(
        tzid="Etc/UTC",
        weekly_periods=[
            {"day": "tuesday", "start_time": "18:00", "end_time": "24:00"},
            {"day": "monday", "start_time": "08:30", "end_time": "12:00"},
        ],
        start=datetime(2027, 3, 22, 10, tzinfo=UTC),  # a Monday, mid-morning
        end=datetime(2027, 3, 23, 20, tzinfo=UTC),
    )
    assert spans == [(epoch(2027, 3, 22, 10), epoch(2027, 3, 22, 12)), (epoch(2027, 3, 23, 18), epoch(2027, 3, 23, 20))]


def test_nothing_outside_the_rule_s_days():
    spans = rule_spans(
        tzid="America/New_York",
        weekly_periods=[{"day": "saturday", "start_time": "10:00", "end_time": "11:00"}],
        start=datetime(2027, 3, 22, tzinfo=UTC),
        end=datetime(2027, 3, 26, tzinfo=UTC),
    )
    assert spans == []
