"""The loader's hand-written queries: their texts are built once per shape and their parameters
apart, so each shape's placeholders must match its parameters one for one, in every branch."""

from datetime import UTC, datetime

import pytest

from bookings.availability_inputs import _grants_sql, _times_sql

START, END = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 8, tzinfo=UTC)


def placeholders(sql: str) -> int:
    return sql.replace("%%", "").count("%s")  # %% is a literal percent sign (SQLite's strftime('%%s'))


@pytest.mark.parametrize("calendars", [0, 1, 7])
@pytest.mark.parametrize("users", [1, 5])
@pytest.mark.parametrize("managed", [0, 1, 3])
def test_every_shape_of_the_times_query_has_a_parameter_for_each_placeholder(calendars, users, managed):
    sql, parameters = _times_sql(list(range(calendars)), list(range(users)), list(range(managed)), start=START, end=END)
    assert placeholders(sql) == len(parameters)
    assert parameters.count(0) == (2 if calendars else 0) + 1 + (2 if managed else 0)  # each id list, in its place


@pytest.mark.parametrize("subs", [1, 10, 50])
def test_every_shape_of_the_grants_query_has_a_parameter_for_each_placeholder(subs):
    sql, parameters = _grants_sql(7, [f"acc_{number}" for number in range(subs)])
    assert placeholders(sql) == len(parameters) == subs + 1
