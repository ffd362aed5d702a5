"""The availability engine: pure functions over integer seconds, no ORM, no time zones.

Everything reduces to *atoms*: for each participant, the sorted, disjoint spans in which they are
free (query periods, narrowed to their own available spans, minus their busy periods widened by
the buffers). A time span suits a group that needs k of its members when at least k members each
have one atom covering the whole span: the same people for the whole meeting, not a different
person every minute.

Maximal suitable spans are found in one sweep over atom starts (O(A log A) for A atoms): at each
start s, every group's k-th latest atom end among members free at s bounds how far a span from s
can reach; the smallest bound over groups is that span's end. Each group keeps its free members'
ends sorted as they come and go (bisect), so a bound is one index away rather than a sort per
step. Spans contained in an earlier one are dropped. When every group needs all of its members,
the spans are simply where everyone's atoms overlap: pairwise intersections, linear, no sweep.
Slots are then stepped through those spans.

A member's busy period [b0, b1) is widened to [b0 - after, b1 + before]: a slot [s, e) then keeps
`before` free before s and `after` free after e.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Interval = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Member:
    key: str
    busy: Sequence[Interval]
    available: Sequence[Interval] | None = None  # None: available whenever the query asks


@dataclass(frozen=True, slots=True)
class Group:
    members: Sequence[Member]
    required: int  # how many of the members must attend; len(members) for "all"


@dataclass(frozen=True, slots=True)
class Query:
    periods: Sequence[Interval]
    groups: Sequence[Group]
    duration: int
    buffer_before: int = 0
    buffer_after: int = 0
    start_interval: int | None = None  # align starts to multiples of this many seconds
    max_results: int = 256


@dataclass(frozen=True, slots=True)
class Available:
    start: int
    end: int
    participants: tuple[str, ...]


#
# Interval algebra on sorted lists
#


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, with touching and overlapping intervals joined; empty ones dropped."""
    return _merge_sorted(sorted(intervals), 0, 0)


def _merge_sorted(ordered: list[Interval], widen_before: int, widen_after: int) -> list[Interval]:
    """`merge` of intervals already sorted by start, each widened to [start - widen_before, end +
    widen_after] on the way (a uniform shift keeps them sorted): one pass, no intermediate list."""
    merged: list[Interval] = []
    current_start = current_end = 0
    started = False
    for start, end in ordered:
        start, end = start - widen_before, end + widen_after
        if end <= start:
            continue
        if started and start <= current_end:
            if end > current_end:
                current_end = end
        else:
            if started:
                merged.append((current_start, current_end))
            current_start, current_end, started = start, end, True
    if started:
        merged.append((current_start, current_end))
    return merged


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """Two merged lists, two pointers."""
    found: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start, end = max(first[i][0], second[j][0]), min(first[i][1], second[j][1])
        if start < end:
            found.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return found


def subtract(base: Sequence[Interval], removed: Sequence[Interval]) -> list[Interval]:
    """`base` minus `removed`, both merged; linear in their lengths."""
    found: list[Interval] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(removed) and removed[j][1] <= cursor:
            j += 1
        k = j
        while k < len(removed) and removed[k][0] < end:
            if removed[k][0] > cursor:
                found.append((cursor, removed[k][0]))
            cursor = max(cursor, removed[k][1])
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            found.append((cursor, end))
    return found


def member_atoms(member: Member, *, periods: Sequence[Interval], before: int, after: int) -> list[Interval]:
    window = merge(periods)
    if member.available is not None:
        window = intersect(window, merge(member.available))
    return _free_within(window, sorted(member.busy), after, before)


def _free_within(
    window: Sequence[Interval], ordered: list[Interval], widen_before: int, widen_after: int
) -> list[Interval]:
    """`subtract(window, _merge_sorted(ordered, widen_before, widen_after))` in one pass: busy periods
    sorted by start are merged as they are walked, and the gaps between them inside the window are the
    free spans (no list of merged busy periods is built in between)."""
    free: list[Interval] = []
    i, count = 0, len(ordered)
    for start, end in window:
        cursor = start
        while i < count:
            busy_start, busy_end = ordered[i]
            busy_start, busy_end = busy_start - widen_before, busy_end + widen_after
            if busy_end <= cursor or busy_end <= busy_start:
                i += 1  # over before the cursor, or empty
                continue
            if busy_start >= end:
                break  # after this span of the window: the next span may need it
            if busy_start > cursor:
                free.append((cursor, busy_start))
            cursor = busy_end
            if cursor >= end:
                break  # it may reach into the next span of the window too
            i += 1
        if cursor < end:
            free.append((cursor, end))
    return free


#
# Suitable spans
#


def _align_up(moment: int, step: int | None) -> int:
    if not step:
        return moment
    return -(-moment // step) * step


def suitable_spans(query: Query) -> list[Available]:
    """Maximal spans that suit every group, each with the members free throughout it."""
    if not query.groups:
        return []
    keys = sorted({member.key for group in query.groups for member in group.members})
    index = {key: position for position, key in enumerate(keys)}
    members = {member.key: member for group in query.groups for member in group.members}
    atoms = {
        key: member_atoms(members[key], periods=query.periods, before=query.buffer_before, after=query.buffer_after)
        for key in keys
    }
    groups = [(sorted({index[m.key] for m in group.members}), group.required) for group in query.groups]
    groups_of: dict[int, list[int]] = {}
    for number, (member_ids, _) in enumerate(groups):
        for member_id in member_ids:
            groups_of.setdefault(member_id, []).append(number)

    if any(required <= 0 or required > len(member_ids) for member_ids, required in groups):
        return []
    if all(required == len(member_ids) for member_ids, required in groups):
        # Everyone must attend: the suitable spans are where all their atoms overlap, found by
        # intersecting the sorted lists pairwise (linear), with no sweep.
        common = atoms[keys[0]]
        for key in keys[1:]:
            common = intersect(common, atoms[key])
        return [Available(start=s, end=e, participants=tuple(keys)) for s, e in common if e - s >= query.duration]

    if len(groups) == 1 and groups[0][1] == 1:
        return _any_one(keys, atoms, query.duration)
    return _sweep(keys, index, atoms, groups, groups_of, query.duration)


def _any_one(keys: list[str], atoms: dict[str, list[Interval]], duration: int) -> list[Available]:
    """One group of which any one member will do. The sweep would find the members' free atoms that lie
    inside no other member's atom, each with the members whose atom it is exactly: here they are found
    directly, in one sort and one pass, without the sweep's bookkeeping at every step."""
    ordered = sorted((start, -end, position) for position, key in enumerate(keys) for start, end in atoms[key])
    spans: list[Available] = []
    furthest = None
    i = 0
    while i < len(ordered):
        start, negative_end, position = ordered[i]
        same = [keys[position]]
        i += 1
        while i < len(ordered) and ordered[i][0] == start and ordered[i][1] == negative_end:
            same.append(keys[ordered[i][2]])
            i += 1
        end = -negative_end
        if end - start < duration or (furthest is not None and end <= furthest):
            continue
        furthest = end
        spans.append(Available(start=start, end=end, participants=tuple(same)))
    return spans


def _sweep(
    keys: list[str],
    index: dict[str, int],
    atoms: dict[str, list[Interval]],
    groups: list[tuple[list[int], int]],
    groups_of: dict[int, list[int]],
    duration: int,
) -> list[Available]:
    """Any number of groups, each needing some of its members: a sweep over the atoms' starts."""
    starts = sorted((start, index[key], end) for key in keys for start, end in atoms[key])
    current_end: dict[int, int] = {}  # member id -> end of the atom they are in now
    expiry: list[tuple[int, int]] = []
    # Per group, the ends of its free members' atoms, kept sorted as members come and go (a bisect
    # insert or removal), so each group's bound is one index away instead of a sort per step.
    group_ends: list[list[int]] = [[] for _ in groups]
    spans: list[Available] = []
    furthest = None  # spans come in order of start: one reaching no further than this is inside another
    position = 0
    while position < len(starts):
        moment = starts[position][0]
        while expiry and expiry[0][0] <= moment:
            end, member_id = heapq.heappop(expiry)
            if current_end.get(member_id) == end:
                del current_end[member_id]
                for number in groups_of.get(member_id, ()):
                    ends = group_ends[number]
                    del ends[bisect_left(ends, end)]
        while position < len(starts) and starts[position][0] == moment:
            _, member_id, end = starts[position]
            current_end[member_id] = end
            heapq.heappush(expiry, (end, member_id))
            for number in groups_of.get(member_id, ()):
                insort(group_ends[number], end)
            position += 1
        # Each group's bound is the k-th latest end among its free members; a span from here reaches
        # the smallest bound, and is none at all while some group has too few free members.
        reach: int | None = None
        for number, (_, required) in enumerate(groups):
            ends = group_ends[number]
            if len(ends) < required:
                reach = None
                break
            bound = ends[-required]
            if reach is None or bound < reach:
                reach = bound
        if reach is None or reach - moment < duration or (furthest is not None and reach <= furthest):
            continue
        furthest = reach
        free = tuple(keys[m] for m in sorted(current_end) if current_end[m] >= reach)
        spans.append(Available(start=moment, end=reach, participants=free))
    return spans


#
# What the API answers
#


def available_periods(query: Query) -> list[Available]:
    """Cronofy's `periods`: suitable spans at least `duration` long, starts aligned when asked."""
    found = []
    for span in suitable_spans(query):
        start = _align_up(span.start, query.start_interval)
        if span.end - start < query.duration:
            continue
        # Spans already aligned are kept as they are (hundreds of them in a typical answer).
        found.append(
            span if start == span.start else Available(start=start, end=span.end, participants=span.participants)
        )
        if len(found) >= query.max_results:
            break
    return found[: query.max_results]


def available_slots(query: Query, *, overlapping: bool) -> list[Available]:
    """Slots of exactly `duration`, starts aligned to the interval: one after another (`slots`), or
    one at every interval (`overlapping_slots`)."""
    interval = query.start_interval or query.duration
    step = interval if overlapping else _align_up(query.duration, interval)
    by_start: dict[int, set[str]] = {}
    for span in suitable_spans(query):
        moment = _align_up(span.start, interval)
        while moment + query.duration <= span.end:
            by_start.setdefault(moment, set()).update(span.participants)
            moment += step
    if not overlapping:
        by_start = _non_overlapping(by_start, query.duration)
    return [
        Available(start=start, end=start + query.duration, participants=tuple(sorted(by_start[start])))
        for start in sorted(by_start)
    ][: query.max_results]


def _non_overlapping(by_start: dict[int, set[str]], duration: int) -> dict[int, set[str]]:
    kept: dict[int, set[str]] = {}
    last_end = None
    for start in sorted(by_start):
        if last_end is None or start >= last_end:
            kept[start] = by_start[start]
            last_end = start + duration
    return kept


def slots_available(query: Query, starts: Iterable[int]) -> list[Available]:
    """Cronofy's `query_slots`: which of these exact slots suit every group."""
    spans = suitable_spans(query)
    found = []
    for start in sorted(set(starts)):
        end = start + query.duration
        covering = [span for span in spans if span.start <= start and span.end >= end]
        if covering:
            participants = sorted({key for span in covering for key in span.participants})
            found.append(Available(start=start, end=end, participants=tuple(participants)))
    return found[: query.max_results]
