"""Local-time buckets of instants in one time zone: day, ISO week, month, hour of week.

Conversions are cached per quarter hour of UTC: every time zone's offset is a
whole number of quarter hours, so all instants of one UTC quarter hour share
their local date and hour.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slaengine.errors import UserError

PERIODS: Final = ("day", "week", "month")
#: Day names of the rows of hour-of-week tables (ISO order, Monday first).
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_QUARTER: Final = 900


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; a :class:`UserError` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a long name
        raise UserError(f"--tz: unknown time zone {name!r}") from None


class LocalBuckets:
    """Period keys and hour-of-week indexes of epoch seconds in one zone."""

    def __init__(self, zone: str, period: str) -> None:
        if period not in PERIODS:
            raise UserError(f"--period must be one of {', '.join(PERIODS)}, got {period!r}")
        self.zone_name = zone
        self.zone = zone_of(zone)
        self.period = period
        self._cache: dict[int, tuple[str, int]] = {}

    def __getstate__(self) -> tuple[str, str]:
        # The cache is rebuilt on demand: results sent back by workers stay small.
        return self.zone_name, self.period

    def __setstate__(self, state: tuple[str, str]) -> None:
        self.zone_name, self.period = state
        self.zone = zone_of(self.zone_name)
        self._cache = {}

    def local(self, t: int) -> tuple[str, int]:
        """The period and the hour of week of ``t`` (:meth:`period_of`, :meth:`hour_of_week`)."""
        quarter = t // _QUARTER
        found = self._cache.get(quarter)
        if found is None:
            local = dt.datetime.fromtimestamp(quarter * _QUARTER, self.zone)
            if self.period == "day":
                key = local.date().isoformat()
            elif self.period == "week":
                year, week, _ = local.isocalendar()
                key = f"{year}-W{week:02d}"
            else:
                key = f"{local.year}-{local.month:02d}"
            found = (key, local.weekday() * 24 + local.hour)
            self._cache[quarter] = found
        return found

    def period_of(self, t: int) -> str:
        """The period (``2025-12-01``, ``2025-W49`` or ``2025-12``) containing ``t`` locally."""
        return self.local(t)[0]

    def hour_of_week(self, t: int) -> int:
        """``weekday * 24 + hour`` of ``t`` locally (0 = Monday 00:00-01:00)."""
        return self.local(t)[1]


__all__ = ["PERIODS", "WEEKDAYS", "LocalBuckets", "zone_of"]
