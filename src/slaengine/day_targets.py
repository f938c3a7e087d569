"""Working-day targets counted day by day, as GLPI counts targets in days.

``day_targets: keep_time`` ends N working days after the start at the start's time of day
(no later than that day's last open instant); ``end_of_working_day`` ends at the last open
instant of the working day after the Nth one, the start's day counting when it is a working
day. Either way a day is a working day when its calendar is open at all that day, whatever
its length: the target is the calendar's open time up to that end, per clock instance.

Time the clock does not count (a pause, or the time solved before a reopen) is added to
that end afterwards as open time, as GLPI adds a ticket's waiting time to a due in days
(:func:`day_due`). GLPI's escalation levels of whole days before a due count working days
back from it (:func:`days_before`).
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

    def next_working(self, day: dt.date, step: int = 1) -> dt.date:
        """The first working day after ``day`` (before it with ``step=-1``)."""
        for _ in range(_MAX_DAYS):
            day += dt.timedelta(days=step)
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


def day_due(
    calendar: BusinessCalendar,
    start: int,
    days: int,
    mode: str,
    reached: int,
    next_opening: bool = False,
) -> int:
    """When a target of ``days`` working days from ``start`` is due, given ``reached``: an
    instant at which the clock has counted its whole target.

    The open time ``reached`` has beyond :func:`day_end` is time the clock did not count
    (waiting); it is added to that end in open hours, the way GLPI adds a ticket's waiting
    time to a due computed in days. With ``next_opening`` an end that uses up a working day
    exactly is the next opening, as GLPI's walk in working hours gives it.
    """
    end = day_end(calendar, start, days, mode)
    waited = calendar.between(start, reached) - calendar.between(start, end)
    if waited <= 0:
        return end
    due = calendar.add(end, waited)
    if next_opening and calendar.is_closing(due):
        return calendar.next_open(due)
    return due


def days_before(calendar: BusinessCalendar, due: int, days: int) -> int:
    """``days`` working days before ``due`` at its time of day, no later than that day's
    last open instant (GLPI's escalation levels of whole days before a due).

    A due on a closed day counts back from the first open instant of the working day
    before it, as GLPI does.
    """
    walk = _Days(calendar)
    local = dt.datetime.fromtimestamp(due, walk.zone)
    day = local.date()
    clock_time = local.time().replace(tzinfo=None)
    if not walk.hours(day):
        day = walk.next_working(day, -1)
        opening = dt.datetime.fromtimestamp(walk.hours(day)[0][0], walk.zone)
        clock_time = opening.time().replace(tzinfo=None)
    for _ in range(days):
        day = walk.next_working(day, -1)
    at = local_to_epoch(dt.datetime.combine(day, clock_time), walk.zone)
    return min(at, walk.hours(day)[-1][1])


def day_target(calendar: BusinessCalendar, start: int, days: int, mode: str) -> int:
    """The open seconds of ``calendar`` from ``start`` to :func:`day_end` (at least 1)."""
    return max(1, calendar.between(start, day_end(calendar, start, days, mode)))


__all__ = [
    "DAY_TARGETS",
    "END_OF_WORKING_DAY",
    "KEEP_TIME",
    "OPEN_TIME",
    "day_due",
    "day_end",
    "day_target",
    "days_before",
]
