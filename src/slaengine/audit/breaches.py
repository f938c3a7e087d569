"""The audit's drill-down: the most overdue breached clocks of each metric.

A record ranks by its margin (target - elapsed, negative), then ticket and
instance: a total order over one metric's clocks, so the records kept do not
depend on how tickets were partitioned, and two lists merge exactly.
"""

from __future__ import annotations

import bisect
from typing import Final

#: Breached clocks kept per metric for the drill-down: the worst (most overdue) first.
WORST_BREACHES: Final = 10

#: A breached clock kept for the drill-down: margin (target - elapsed, negative), ticket,
#: instance, policy, channel, priority, group, agent, start, due, stop (None while running),
#: elapsed, target. Ordered by margin (worst first), then ticket and instance.
BreachRecord = tuple[int, str, int, str, str, str, str, str, int, int | None, int | None, int, int]


def ranks(worst: list[BreachRecord], margin: int, ticket: str, instance: int) -> bool:
    """True when a clock with this rank would be kept in ``worst`` (checked before a record
    is built: once the list is full, most clocks do not rank)."""
    if len(worst) < WORST_BREACHES:
        return True
    return (margin, ticket, instance) < _rank(worst[-1])


def keep_worst(worst: list[BreachRecord], record: BreachRecord) -> None:
    """Add ``record`` to ``worst`` (sorted, at most :data:`WORST_BREACHES` long) if it ranks."""
    if len(worst) >= WORST_BREACHES and record[:3] >= worst[-1][:3]:
        return
    bisect.insort(worst, record, key=_rank)
    if len(worst) > WORST_BREACHES:
        worst.pop()


def _rank(record: BreachRecord) -> tuple[int, str, int]:
    return record[0], record[1], record[2]


__all__ = ["WORST_BREACHES", "BreachRecord", "keep_worst", "ranks"]
