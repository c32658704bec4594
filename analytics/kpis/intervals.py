"""Time intervals ``(start, end)`` in epoch seconds: union, intersection, difference.

Officer presence is login→logout minus breaks, a room's occupied time the union of its
sessions and unbooked uses, utilisation the busy time inside presence; all of it is the
arithmetic of sorted disjoint intervals, a few lines each. (portion/intervaltree would do
it with an object per interval and no gain at these sizes: tens of intervals per device
and day.)
"""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[float, float]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-empty intervals covering the same time."""
    result: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time in both."""
    left, right = merge(a), merge(b)
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time in ``a`` and not in ``b``."""
    result: list[Interval] = []
    cuts = merge(b)
    for start, end in merge(a):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor:
                continue
            if cut_start >= end:
                break
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def total(intervals: Iterable[Interval]) -> float:
    """Seconds covered."""
    return sum(end - start for start, end in merge(intervals))


def clip(intervals: Iterable[Interval], start: float, end: float) -> list[Interval]:
    return intersect(intervals, [(start, end)])
