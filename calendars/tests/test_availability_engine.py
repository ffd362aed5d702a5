"""The availability engine, alone: examples for each option, and property-based tests against a
brute-force reference that checks every minute."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from calendars.availability import (
    Available,
    Group,
    Member,
    Query,
    _any_one,
    _sweep,
    available_periods,
    available_slots,
    intersect,
    member_atoms,
    merge,
    slots_available,
    subtract,
)

M = 60  # the engine counts seconds
H = 60 * M


def at(hours: float) -> int:
    return int(hours * H)


def span(start: float, end: float) -> tuple[int, int]:
    return at(start), at(end)


def query(groups, *, periods=((9, 17),), minutes=60, **options) -> Query:
    return Query(periods=[span(*p) for p in periods], groups=groups, duration=minutes * M, **options)


def everyone(*members: Member) -> Group:
    return Group(members=members, required=len(members))


def person(key: str, *busy: tuple[float, float], available=None) -> Member:
    return Member(
        key=key,
        busy=[span(*b) for b in busy],
        available=None if available is None else [span(*a) for a in available],
    )


def periods_of(found: list[Available]) -> list[tuple[float, float, tuple[str, ...]]]:
    return [(f.start / H, f.end / H, f.participants) for f in found]


#
# Interval algebra
#


def test_merge_joins_touching_and_overlapping_and_drops_empty():
    assert merge([(5, 7), (1, 3), (3, 4), (6, 9), (10, 10)]) == [(1, 4), (5, 9)]


def test_intersect_and_subtract():
    assert intersect([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert subtract([(0, 10), (20, 30)], [(2, 3), (8, 22), (29, 40)]) == [(0, 2), (3, 8), (22, 29)]
    assert subtract([(0, 10)], []) == [(0, 10)]
    assert subtract([(0, 10)], [(0, 10)]) == []


#
# Examples
#


def test_everyone_must_be_free_together():
    found = available_periods(query([everyone(person("a", (10, 11)), person("b", (13, 14)))]))
    assert periods_of(found) == [(9, 10, ("a", "b")), (11, 13, ("a", "b")), (14, 17, ("a", "b"))]


def test_periods_shorter_than_the_duration_are_left_out():
    found = available_periods(query([everyone(person("a", (9.5, 16.5)))], minutes=45))
    assert periods_of(found) == []
    found = available_periods(query([everyone(person("a", (9.5, 16.5)))], minutes=30))
    assert periods_of(found) == [(9, 9.5, ("a",)), (16.5, 17, ("a",))]


def test_one_of_a_group_must_be_free_for_the_whole_meeting():
    # A is free 9-12, B 11-14: one of them suits 9-12 (A) or 11-14 (B); nobody covers 11:30-13:00 and
    # 10:00-12:30 needs two different people, which a "1 of 2" meeting cannot use.
    group = Group(members=[person("a", (12, 17)), person("b", (9, 11), (14, 17))], required=1)
    found = available_periods(query([group], periods=((9, 17),), minutes=60))
    assert periods_of(found) == [(9, 12, ("a",)), (11, 14, ("b",))]
    assert periods_of(available_periods(query([group], minutes=200))) == []


def test_a_required_group_and_an_any_one_group_together():
    host = everyone(person("host", (12, 13)))
    rooms = Group(members=[person("r1", (9, 15)), person("r2", (14, 17))], required=1)
    found = available_periods(query([host, rooms]))
    assert periods_of(found) == [(9, 12, ("host", "r2")), (13, 14, ("host", "r2")), (15, 17, ("host", "r1"))]


def test_buffers_keep_time_free_around_busy_periods():
    found = available_periods(query([everyone(person("a", (12, 13)))], buffer_before=30 * M, buffer_after=15 * M))
    # A slot ending at 11:45 leaves 15 min before the 12:00 meeting; one starting at 13:30 leaves 30 after it.
    assert periods_of(found) == [(9, 11.75, ("a",)), (13.5, 17, ("a",))]


def test_member_availability_narrows_the_query():
    found = available_periods(query([everyone(person("a", available=[(10, 12), (15, 20)]))]))
    assert periods_of(found) == [(10, 12, ("a",)), (15, 17, ("a",))]


def test_slots_follow_each_other_and_overlapping_slots_step_by_the_interval():
    group = [everyone(person("a", (11, 17)))]
    slots = available_slots(query(group, minutes=30, start_interval=15 * M), overlapping=False)
    assert [(s.start / H, s.end / H) for s in slots] == [(9, 9.5), (9.5, 10), (10, 10.5), (10.5, 11)]
    overlapping = available_slots(query(group, minutes=30, start_interval=15 * M), overlapping=True)
    assert [s.start / H for s in overlapping] == [9, 9.25, 9.5, 9.75, 10, 10.25, 10.5]


def test_starts_are_aligned_to_the_interval():
    group = [everyone(person("a", (9, 9 + 10 / 60)))]  # free from 9:10
    slots = available_slots(query(group, periods=((9, 11),), minutes=30, start_interval=15 * M), overlapping=False)
    assert [s.start / H for s in slots] == [9.25, 9.75, 10.25]
    periods = available_periods(query(group, periods=((9, 11),), minutes=30, start_interval=15 * M))
    assert periods_of(periods) == [(9.25, 11, ("a",))]


def test_max_results_and_query_slots():
    group = [everyone(person("a", (12, 13)))]
    assert len(available_slots(query(group, minutes=60, max_results=2), overlapping=False)) == 2
    checked = slots_available(query(group, minutes=60), [at(9), at(11.5), at(13), at(16.5)])
    assert [s.start / H for s in checked] == [9, 13]


def test_no_groups_means_no_availability():
    assert available_periods(query([])) == []


#
# Properties, against a reference that checks every minute
#


def brute_force_starts(q: Query) -> set[int]:
    """Every minute start at which a meeting of q.duration suits every group."""
    periods = merge(q.periods)
    found = set()
    if not periods or not q.groups:
        return found
    for start in range(periods[0][0], periods[-1][1], M):
        end = start + q.duration
        if not any(p0 <= start and end <= p1 for p0, p1 in periods):
            continue
        if all(sum(_free(m, start, end, q) for m in g.members) >= g.required for g in q.groups):
            found.add(start)
    return found


def _free(member: Member, start: int, end: int, q: Query) -> bool:
    if member.available is not None and not any(a0 <= start and end <= a1 for a0, a1 in merge(member.available)):
        return False
    return not any(b0 < end + q.buffer_after and b1 > start - q.buffer_before for b0, b1 in member.busy)


minutes = st.integers(min_value=0, max_value=48).map(lambda quarter: quarter * 15 * M)  # 12 hours, in quarters


@st.composite
def intervals(draw, *, most: int) -> list[tuple[int, int]]:
    found = []
    for _ in range(draw(st.integers(min_value=0, max_value=most))):
        start, length = draw(minutes), draw(st.integers(min_value=1, max_value=16)) * 15 * M
        found.append((start, start + length))
    return found


@st.composite
def queries(draw) -> Query:
    groups = []
    for g in range(draw(st.integers(min_value=1, max_value=3))):
        members = [
            Member(
                key=f"g{g}m{m}",
                busy=draw(intervals(most=4)),
                available=draw(st.one_of(st.none(), intervals(most=3))),
            )
            for m in range(draw(st.integers(min_value=1, max_value=4)))
        ]
        groups.append(Group(members=members, required=draw(st.integers(min_value=1, max_value=len(members)))))
    return Query(
        periods=draw(intervals(most=3)) or [(0, 12 * H)],
        groups=groups,
        duration=draw(st.sampled_from([15, 30, 45, 60, 90])) * M,
        buffer_before=draw(st.sampled_from([0, 0, 10, 15])) * M,
        buffer_after=draw(st.sampled_from([0, 0, 5, 30])) * M,
        max_results=10_000,
    )


@settings(max_examples=300, deadline=None)
@given(queries())
def test_the_engine_agrees_with_checking_every_minute(q):
    expected = brute_force_starts(q)
    every_minute = Query(**{**_fields(q), "start_interval": M})
    slots = available_slots(every_minute, overlapping=True)
    assert {s.start for s in slots} == expected
    # Every period is suitable throughout, and together they hold every suitable start.
    periods = available_periods(q)
    covered = {start for p in periods for start in range(p.start, p.end - q.duration + 1, M)}
    assert covered == expected


@settings(max_examples=200, deadline=None)
@given(queries())
def test_listed_participants_are_free_for_the_whole_period(q):
    members = {m.key: m for g in q.groups for m in g.members}
    for found in available_periods(q):
        assert all(_free(members[key], found.start, found.end, q) for key in found.participants)
        for group in q.groups:
            assert sum(m.key in found.participants for m in group.members) >= group.required


@settings(max_examples=200, deadline=None)
@given(queries())
def test_slots_never_overlap_and_last_exactly_the_duration(q):
    slots = available_slots(Query(**{**_fields(q), "start_interval": 15 * M}), overlapping=False)
    for first, second in pairwise(slots):
        assert first.end <= second.start
    assert all(s.end - s.start == q.duration for s in slots)


def _fields(q: Query) -> dict:
    return {name: getattr(q, name) for name in Query.__dataclass_fields__}


@st.composite
def any_one_queries(draw) -> Query:
    q = draw(queries())
    members = [member for group in q.groups for member in group.members]
    return Query(**{**_fields(q), "groups": [Group(members=members, required=1)]})


@settings(max_examples=300, deadline=None)
@given(any_one_queries())
def test_any_one_of_a_group_finds_what_the_sweep_finds(q):
    """The shortcut for one group of which any one member will do gives the sweep's answer exactly."""
    keys = sorted(member.key for member in q.groups[0].members)
    index = {key: position for position, key in enumerate(keys)}
    members = {member.key: member for member in q.groups[0].members}
    atoms = {
        key: member_atoms(members[key], periods=q.periods, before=q.buffer_before, after=q.buffer_after) for key in keys
    }
    groups = [(list(range(len(keys))), 1)]
    swept = _sweep(keys, index, atoms, groups, {position: [0] for position in range(len(keys))}, q.duration)
    assert _any_one(keys, atoms, q.duration) == swept


@settings(max_examples=300, deadline=None)
@given(queries())
def test_a_members_free_spans_are_the_window_minus_their_widened_busy_periods(q):
    """member_atoms walks the busy periods once, merging as it goes: the same spans as subtracting them,
    widened by the buffers and merged, from the window."""
    for member in (member for group in q.groups for member in group.members):
        window = merge(q.periods)
        if member.available is not None:
            window = intersect(window, merge(member.available))
        widened = merge((start - q.buffer_after, end + q.buffer_before) for start, end in member.busy)
        found = member_atoms(member, periods=q.periods, before=q.buffer_before, after=q.buffer_after)
        assert found == subtract(window, widened)
