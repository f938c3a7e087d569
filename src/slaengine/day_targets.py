"""Working-day targets counted day by day, as GLPI counts targets in days.

``day_targets: keep_time`` ends N working days after the start at the start's time of day
(no later than that day's last open instant); ``end_of_working_day`` ends at the last open
instant of the working day after the Nth one, the start's day counting when it is a working
day. Either way a day is a working day when its calendar is open at all that day, whatever
its length: the target is the calendar's open time up to that end, per clock instance.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

from slaengine.calendar import BusinessCalendar, local_to_epoch

KEEP_TIME: Final = "keep_time"
END_OF_WORKING_DAY: Final = "end_of_working_day"
OPEN_TIME: Final = "open_time"  # the default: working days of equal length (E215 otherwise)
DAY_TARGETS: Final = (OPEN_TIME, KEEP_TIME, END_OF_WORKING_DAY)
# A calendar open one day in ten years would end the walk here rather than run forever.
_MAX_DAYS: Final = 3700
_UTC: Final = ZoneInfo("UTC")


class _Days:
    """A calendar's open intervals per local date, looked up once each."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.zone: dt.tzinfo = getattr(calendar, "zone", _UTC)
        self.seen: dict[dt.date, list[tuple[int, int]]] = {}

    def midnight(self, day: dt.date) -> int:
        return local_to_epoch(dt.datetime.combine(day, dt.time()), self.zone)

    def hours(self, day: dt.date) -> list[tuple[int, int]]:
        found = self.seen.get(day)
        if found is None:
            start, end = self.midnight(day), self.midnight(day + dt.timedelta(days=1))
            found = self.seen[day] = self.calendar.open_intervals(start, end)
        return found

    def next_working(self, day: dt.date) -> dt.date:
        """The first working day after ``day``."""
        for _ in range(_MAX_DAYS):
            day += dt.timedelta(days=1)
            if self.hours(day):
                return day
        raise ValueError("the calendar has no working day within ten years")


def day_end(calendar: BusinessCalendar, start: int, days: int, mode: str) -> int:
    """When a target of ``days`` working days that starts at ``start`` ends under ``mode``."""
    walk = _Days(calendar)
    local = dt.datetime.fromtimestamp(start, walk.zone)
    day = local.date()
    if mode == END_OF_WORKING_DAY:
        counted = 1 if walk.hours(day) else 0
        while counted < days:  # a start on a closed day: its next working day is day 1
            day = walk.next_working(day)
            counted += 1
        return walk.hours(walk.next_working(day))[-1][1]
    clock_time = local.time().replace(tzinfo=None)
    if not walk.hours(day):
        # A start on a closed day counts from the first open instant of the next working day.
        day = walk.next_working(day)
        opening = dt.datetime.fromtimestamp(walk.hours(day)[0][0], walk.zone)
        clock_time = opening.time().replace(tzinfo=None)
    for _ in range(days):
        day = walk.next_working(day)
    end = local_to_epoch(dt.datetime.combine(day, clock_time), walk.zone)
    return min(end, walk.hours(day)[-1][1])


def day_target(calendar: BusinessCalendar, start: int, days: int, mode: str) -> int:
    """The open seconds of ``calendar`` from ``start`` to :func:`day_end` (at least 1)."""
    return max(1, calendar.between(start, day_end(calendar, start, days, mode)))


__all__ = ["DAY_TARGETS", "END_OF_WORKING_DAY", "KEEP_TIME", "OPEN_TIME", "day_end", "day_target"]
