"""Calendars as people read them: time zone, weekly hours, holidays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from slaengine.calendar import AlwaysOpen, BusinessCalendar, Shift, WeeklyCalendar

_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar as people read it: zone, weekly hours, holidays."""

    name: str
    timezone: str | None  # None for the always-open 24x7 calendar
    hours: tuple[str, ...]  # "mon-fri 09:00-17:00", ...; ("always open",) for 24x7
    holiday_countries: tuple[str, ...]  # "DE-BE", "US"
    holiday_dates: tuple[str, ...]  # "2025-12-24", ...
    chosen_by: str | None = None  # the calendar map entry that chose it for the ticket
    agreement: str | None = None  # the agreement whose metric counts in it (None: the policy's)


def _clock_time(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}"


def _shift_text(shift: Shift) -> str:
    if shift.end > 1440:
        return f"{_clock_time(shift.start)}-{_clock_time(shift.end - 1440)} (next day)"
    return f"{_clock_time(shift.start)}-{_clock_time(shift.end)}"


def calendar_info(calendar: BusinessCalendar) -> CalendarInfo:
    """Name, time zone, weekly hours and holidays of ``calendar``."""
    if isinstance(calendar, AlwaysOpen):
        return CalendarInfo(calendar.name, None, ("always open (24x7)",), (), ())
    if not isinstance(calendar, WeeklyCalendar):
        return CalendarInfo(calendar.name, None, ("(hours not known)",), (), ())
    runs: list[tuple[int, int, tuple[Shift, ...]]] = []  # first day, last day, shifts
    for day in range(7):
        shifts = calendar.shifts.get(day, ())
        if runs and runs[-1][2] == shifts and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, shifts)
        else:
            runs.append((day, day, shifts))
    hours: list[str] = []
    for first, last, shifts in runs:
        days = _DAYS[first] if first == last else f"{_DAYS[first]}-{_DAYS[last]}"
        text = ", ".join(_shift_text(s) for s in shifts) if shifts else "closed"
        hours.append(f"{days} {text}")
    countries: list[str] = []
    for provider in calendar.holiday_providers:
        country = getattr(provider, "country", None)
        subdivision = getattr(provider, "subdivision", None)
        if country is None:
            countries.append(repr(provider))
        else:
            countries.append(f"{country}-{subdivision}" if subdivision else str(country))
    dates = tuple(d.isoformat() for d in sorted(calendar.holidays))
    return CalendarInfo(calendar.name, calendar.timezone, tuple(hours), tuple(countries), dates)


__all__ = ["CalendarInfo", "calendar_info"]
