"""Business-hours calendars compiled to interval tables of integer epoch seconds.

A calendar is weekly open hours in one IANA time zone minus holidays. Arithmetic
("how much open time between a and b", "which instant is d open seconds after a")
runs on a sorted table of open intervals in UTC epoch seconds with prefix sums,
so each query is a binary search, never a walk over minutes. The table is built
lazily, a few years at a time, around the instants actually asked about.

Local wall-clock rules:
- an interval's ends are local times; a local time that does not exist (the gap
  at a spring-forward change) means the first instant after the gap, so the
  skipped hour is never open;
- a local time that occurs twice (fall-back) means its first occurrence, so the
  repeated hour is counted as the real hour it is;
- an interval whose end is not after its start runs overnight into the next day
  and belongs to the day it starts (a holiday closes only intervals starting on it).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from mypy_extensions import mypyc_attr

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_UTC = dt.UTC
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_SECOND = dt.timedelta(seconds=1)
# Years compiled around a queried instant; the table grows when asked outside it.
_MARGIN_YEARS: Final = 1
# A table's look-up buckets: 2**16 seconds (about 18 hours) of time, 2**14 seconds
# (about 4.5 hours) of open time. Final: compiled, constants rather than look-ups.
_BUCKET_BITS: Final = 16
_OPEN_BITS: Final = 14


@dataclass(frozen=True, slots=True)
class Shift:
    """One open interval of a weekday, in minutes after local midnight.

    ``end`` may exceed 1440: the shift runs overnight into the next day. An
    ``end`` not after ``start`` means the same (``Shift(22 * 60, 6 * 60)`` is
    ``Shift(22 * 60, 30 * 60)``).
    """

    start: int
    end: int


def local_to_epoch(naive: dt.datetime, zone: dt.tzinfo) -> int:
    """Epoch seconds of a local wall-clock time in ``zone``.

    A time inside a spring-forward gap maps to the first instant after the gap;
    an ambiguous fall-back time maps to its first occurrence.
    """
    first = int(naive.replace(tzinfo=zone, fold=0).timestamp())
    if dt.datetime.fromtimestamp(first, zone).replace(tzinfo=None) == naive:
        return first
    # Nonexistent: the gap lies between the two fold readings; find its end.
    low = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = first
    if low > high:
        low, high = high, low
    while low < high:
        mid = (low + high) // 2
        if dt.datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            high = mid
        else:
            low = mid + 1
    return high


def _overnight(shift: Shift) -> Shift:
    # An end not after the start runs into the next day; without this the
    # interval would be empty and silently dropped.
    if shift.end <= shift.start:
        return Shift(shift.start, shift.end + 1440)
    return shift


# Compiled with mypyc (slaengine.compiled), a class is a C type: plugins may still subclass
# the calendars, and pickling (process pools, Dask) rebuilds them from their state.
@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)
class BusinessCalendar:
    """Open hours of a calendar; all arithmetic on integer epoch seconds.

    Subclasses implement :meth:`open_before` (open seconds since a fixed origin
    up to an instant) and :meth:`add`; :meth:`between` follows from the first.
    """

    name: str

    def open_before(self, t: int) -> int:  # pragma: no cover - abstract
        """Open seconds from the table origin up to instant ``t``."""
        raise NotImplementedError

    def between(self, start: int, end: int) -> int:
        """Open seconds in ``[start, end)``; 0 when ``end <= start``."""
        if end <= start:
            return 0
        return self.open_before(end) - self.open_before(start)

    def add(self, start: int, seconds: int) -> int:  # pragma: no cover - abstract
        """Earliest instant ``t >= start`` with ``between(start, t) == seconds``."""
        raise NotImplementedError

    def measure(self, start: int, end: int, seconds: int) -> tuple[int, int]:
        """``between(start, end)`` and ``add(start, seconds)`` in one call: a clock's
        elapsed time and due instant (calendars may look ``start`` up once for both)."""
        return self.between(start, end), self.add(start, seconds)

    def measure_spans(
        self, spans: Sequence[tuple[int, int]], seconds: int
    ) -> tuple[int, int | None]:
        """Open seconds in ``spans`` (in order, not overlapping) and the instant within
        them at which they reach ``seconds`` (``None`` when they do not)."""
        counted = 0
        due: int | None = None
        for a, b in spans:
            length = self.between(a, b)
            if due is None and counted + length >= seconds:
                due = self.add(a, seconds - counted)
            counted += length
        return counted, due

    def is_open(self, t: int) -> bool:
        """True when instant ``t`` lies in an open interval."""
        return self.between(t, t + 1) == 1

    def next_open(self, t: int) -> int:
        """The first open instant at or after ``t`` (``t`` itself when open)."""
        # add(t, 1) is one second into the first open stretch at or after t.
        return self.add(t, 1) - 1

    def is_closing(self, t: int) -> bool:
        """True when an open interval ends exactly at ``t`` (closed at ``t``, open just before)."""
        return not self.is_open(t) and self.is_open(t - 1)

    def open_intervals(self, start: int, end: int) -> list[tuple[int, int]]:
        """Open intervals clipped to ``[start, end)``, in order."""
        raise NotImplementedError  # pragma: no cover - abstract

    def working_day(self) -> int | None:
        """Open seconds of one working day, when every open weekday is equally long.

        ``None`` when open days differ (a short Saturday) or the calendar cannot
        tell: a working-day target is then ambiguous.
        """
        return None


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)
class AlwaysOpen(BusinessCalendar):
    """The built-in ``24x7`` calendar: every real second is open."""

    def __init__(self, name: str = "24x7") -> None:
        self.name = name

    def open_before(self, t: int) -> int:
        return t

    def between(self, start: int, end: int) -> int:
        return end - start if end > start else 0

    def add(self, start: int, seconds: int) -> int:
        return start + seconds

    def measure(self, start: int, end: int, seconds: int) -> tuple[int, int]:
        return (end - start if end > start else 0), start + seconds

    def measure_spans(
        self, spans: Sequence[tuple[int, int]], seconds: int
    ) -> tuple[int, int | None]:
        counted = 0
        due: int | None = None
        for a, b in spans:
            length = b - a if b > a else 0
            if due is None and counted + length >= seconds:
                due = a + seconds - counted
            counted += length
        return counted, due

    def is_open(self, t: int) -> bool:
        return True

    def next_open(self, t: int) -> int:
        return t

    def is_closing(self, t: int) -> bool:
        return False

    def open_intervals(self, start: int, end: int) -> list[tuple[int, int]]:
        return [(start, end)] if end > start else []

    def working_day(self) -> int:
        return 24 * 3600  # a day of real time; a DST day still counts 24 real hours


@dataclass(slots=True)
class _Table:
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    # cum_start[i]: open seconds before starts[i]; cum_end[i]: before ends[i].
    cum_start: list[int] = field(default_factory=list)
    cum_end: list[int] = field(default_factory=list)
    first_year: int = 0
    last_year: int = -1
    low: int = 0  # epoch seconds covered: [low, high)
    high: int = 0
    # Where to start looking: by_time[b] is the number of starts at or before
    # low + b * _BUCKET seconds, by_open[c] the number of cum_end below c * _OPEN_BUCKET.
    # A look-up reads its bucket and steps over the few entries in it (about one shift a
    # bucket): a binary search over every interval of the years cost most of a clock.
    by_time: list[int] = field(default_factory=list)
    by_open: list[int] = field(default_factory=list)

    def index(self) -> None:
        """Build ``by_time`` and ``by_open`` for the intervals as they are now."""
        low, starts, cum_end = self.low, self.starts, self.cum_end
        buckets = ((self.high - low) >> _BUCKET_BITS) + 2
        self.by_time = [bisect_right(starts, low + (b << _BUCKET_BITS)) for b in range(buckets)]
        total = cum_end[-1] if cum_end else 0
        opens = (total >> _OPEN_BITS) + 2
        self.by_open = [bisect_left(cum_end, c << _OPEN_BITS) for c in range(opens)]

    def last_start(self, t: int) -> int:
        """``bisect_right(starts, t) - 1``: the last interval starting at or before ``t``
        (-1: none), for ``low <= t < high``."""
        by_time = self.by_time
        bucket = (t - self.low) >> _BUCKET_BITS
        i = by_time[bucket]
        stop = by_time[bucket + 1]
        starts = self.starts
        while i < stop and starts[i] <= t:
            i += 1
        return i - 1

    def reaching(self, goal: int) -> int:
        """``bisect_left(cum_end, goal)``: the first interval by whose end ``goal`` open
        seconds (from the table's origin, at least 0) are reached; ``len(cum_end)``: none."""
        by_open = self.by_open
        bucket = goal >> _OPEN_BITS
        if bucket + 1 >= len(by_open):
            return len(self.cum_end)
        k = by_open[bucket]
        stop = by_open[bucket + 1]
        cum_end = self.cum_end
        while k < stop and cum_end[k] < goal:
            k += 1
        return k


@mypyc_attr(allow_interpreted_subclasses=True, serializable=True)
class WeeklyCalendar(BusinessCalendar):
    """Weekly shifts in a time zone, minus holiday dates.

    ``holidays`` is a fixed set of dates plus optional providers, callables that
    return the holiday dates of a given year (for country calendars).
    """

    def __init__(
        self,
        name: str,
        timezone: str,
        shifts: Mapping[int, Sequence[Shift]],
        holidays: Iterable[dt.date] = (),
        holiday_providers: Sequence[Callable[[range], Iterable[dt.date]]] = (),
    ) -> None:
        self.name = name
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.shifts: dict[int, tuple[Shift, ...]] = {
            day: tuple(sorted(map(_overnight, shifts.get(day, ())), key=lambda s: s.start))
            for day in range(7)
        }
        self.holidays: frozenset[dt.date] = frozenset(holidays)
        self.holiday_providers = tuple(holiday_providers)
        self._table = _Table()
        if not any(self.shifts.values()):
            raise ValueError(f"calendar {name!r} is never open")

    def working_day(self) -> int | None:
        lengths = {sum(s.end - s.start for s in day) for day in self.shifts.values() if day}
        return lengths.pop() * 60 if len(lengths) == 1 else None

    # -- table building -------------------------------------------------------

    def _holidays_of(self, years: range) -> set[dt.date]:
        days = {d for d in self.holidays if d.year in years}
        for provider in self.holiday_providers:
            days.update(provider(years))
        return days

    def _compile(self, first_year: int, last_year: int) -> None:
        closed = self._holidays_of(range(first_year - 1, last_year + 2))
        raw: list[tuple[int, int]] = []
        # Start a day early so an overnight shift from Dec 31 is included.
        day = dt.date(first_year, 1, 1) - dt.timedelta(days=1)
        stop = dt.date(last_year + 1, 1, 1)
        zone = self.zone
        while day < stop:
            if day not in closed:
                midnight = dt.datetime(day.year, day.month, day.day)
                for shift in self.shifts[day.weekday()]:
                    start = local_to_epoch(midnight + dt.timedelta(minutes=shift.start), zone)
                    end = local_to_epoch(midnight + dt.timedelta(minutes=shift.end), zone)
                    if end > start:
                        raw.append((start, end))
            day += dt.timedelta(days=1)
        raw.sort()
        low = local_to_epoch(dt.datetime(first_year, 1, 1), zone)
        high = local_to_epoch(dt.datetime(last_year + 1, 1, 1), zone)
        table = _Table(first_year=first_year, last_year=last_year, low=low, high=high)
        total = 0
        for start, end in raw:
            if table.ends and start <= table.ends[-1]:
                # Overlapping or touching shifts (overnight into the next day) merge.
                if end > table.ends[-1]:
                    total += end - table.ends[-1]
                    table.ends[-1] = end
                    table.cum_end[-1] = total
                continue
            table.starts.append(start)
            table.ends.append(end)
            table.cum_start.append(total)
            total += end - start
            table.cum_end.append(total)
        table.index()
        self._table = table

    def _year_of(self, t: int) -> int:
        return dt.datetime.fromtimestamp(t, self.zone).year

    def _cover(self, t: int) -> _Table:
        table = self._table
        if table.low <= t < table.high and table.starts:
            return table
        year = self._year_of(t)
        if table.last_year < table.first_year:
            self._compile(year - _MARGIN_YEARS, year + _MARGIN_YEARS)
        else:
            self._compile(
                min(table.first_year, year - _MARGIN_YEARS),
                max(table.last_year, year + _MARGIN_YEARS),
            )
        return self._table

    # -- arithmetic -----------------------------------------------------------

    def open_before(self, t: int) -> int:
        table = self._table
        if not (table.low <= t < table.high):
            table = self._cover(t)
        i = table.last_start(t)
        if i < 0:
            return 0
        end = table.ends[i]
        if t >= end:
            return table.cum_end[i]
        return table.cum_start[i] + t - table.starts[i]

    def between(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        table = self._table
        if not (table.low <= start and end < table.high):
            self._cover(start)
            table = self._cover(end)
        return self.open_before(end) - self.open_before(start)

    def add(self, start: int, seconds: int) -> int:
        if seconds <= 0:
            return start
        self._cover(start)
        while True:
            table = self._table
            goal = self.open_before(start) + seconds
            j = table.reaching(goal)
            if j < len(table.cum_end):
                return table.starts[j] + goal - table.cum_start[j]
            # Past the compiled years: extend and retry (the prefix-sum origin may move).
            self._cover(table.high + 1)

    def measure(self, start: int, end: int, seconds: int) -> tuple[int, int]:
        table = self._table
        low, high = table.low, table.high
        if not (low <= start < high and low <= end < high and seconds > 0):
            return self.between(start, end), self.add(start, seconds)
        # Both instants in the compiled table: open_before(start) is looked up once and
        # serves the elapsed time and the due (what between and add each compute).
        starts = table.starts
        i = table.last_start(start)
        if i < 0:
            i = base = 0
        elif start >= table.ends[i]:
            base = table.cum_end[i]
        else:
            base = table.cum_start[i] + start - starts[i]
        elapsed = 0
        if end > start:
            j = table.last_start(end)  # at least i: end > start
            if j >= 0:
                stop = table.ends[j]
                elapsed = (
                    table.cum_end[j] if end >= stop else table.cum_start[j] + end - starts[j]
                ) - base
        cum_end = table.cum_end
        goal = base + seconds
        k = table.reaching(goal)  # at least i: goal is past cum_end[i - 1]
        if k < len(cum_end):
            return elapsed, starts[k] + goal - table.cum_start[k]
        return elapsed, self.add(start, seconds)  # past the compiled years: add extends them

    def measure_spans(
        self, spans: Sequence[tuple[int, int]], seconds: int
    ) -> tuple[int, int | None]:
        table = self._table
        low, high = table.low, table.high
        # A list (the clocks pass one): compiled, iterated natively.
        span_list: list[tuple[int, int]] = spans if isinstance(spans, list) else list(spans)
        for a, b in span_list:
            if not (low <= a < high and low <= b < high):
                return BusinessCalendar.measure_spans(self, span_list, seconds)
        # Every instant in the compiled table: each end looked up once, in one table.
        starts, ends, cum_start, cum_end = table.starts, table.ends, table.cum_start, table.cum_end
        counted = 0
        due: int | None = None
        for a, b in span_list:
            if b <= a:  # no open time: reached only if already reached (add(a, 0) is a)
                if due is None and counted >= seconds:
                    due = a
                continue
            i = table.last_start(a)
            if i < 0:
                i = before_a = 0
            elif a >= ends[i]:
                before_a = cum_end[i]
            else:
                before_a = cum_start[i] + a - starts[i]
            j = table.last_start(b)  # at least i: b > a
            if j < 0:
                before_b = 0
            elif b >= ends[j]:
                before_b = cum_end[j]
            else:
                before_b = cum_start[j] + b - starts[j]
            length = before_b - before_a
            if due is None and counted + length >= seconds:
                left = seconds - counted
                if left <= 0:
                    due = a
                else:
                    goal = before_a + left
                    k = table.reaching(goal)  # at least i: goal is past cum_end[i - 1]
                    due = starts[k] + goal - cum_start[k] if k < len(cum_end) else self.add(a, left)
            counted += length
        return counted, due

    def open_intervals(self, start: int, end: int) -> list[tuple[int, int]]:
        if end <= start:
            return []
        self._cover(start)
        table = self._cover(end)
        out: list[tuple[int, int]] = []
        i = max(bisect_right(table.starts, start) - 1, 0)
        while i < len(table.starts) and table.starts[i] < end:
            a, b = max(table.starts[i], start), min(table.ends[i], end)
            if b > a:
                out.append((a, b))
            i += 1
        return out


# These two pickle as their constructor call rather than through mypyc's
# ``serializable``: with a ``__call__`` it left ``__init__`` unrun when compiled.
class _HolidayProvider:
    """Holiday dates of a country (and subdivision) from the ``holidays`` package."""

    def __init__(self, country: str, subdivision: str | None = None) -> None:
        self.country = country
        self.subdivision = subdivision

    def __call__(self, years: range) -> set[dt.date]:
        # Imported lazily: loading country data is slow (the country's module alone is).
        from slaengine.holiday_countries import country_holidays

        return country_holidays(self.country, self.subdivision, years)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_HolidayProvider, (self.country, self.subdivision))

    def __repr__(self) -> str:
        sub = f"-{self.subdivision}" if self.subdivision else ""
        return f"holidays({self.country}{sub})"


class YearlyHolidays:
    """Holidays that come back every year: month-days and month-day ranges.

    ``days`` are ``(month, day)`` pairs; ``ranges`` are ``((month, day), (month,
    day))`` pairs, both ends included, a range whose end comes before its start
    running over the year end (``12-24`` to ``01-01``). 29 February is a holiday
    only in leap years.
    """

    def __init__(
        self,
        days: Iterable[tuple[int, int]] = (),
        ranges: Iterable[tuple[tuple[int, int], tuple[int, int]]] = (),
    ) -> None:
        self.days = tuple(sorted(set(days)))
        self.ranges = tuple(ranges)

    def __call__(self, years: range) -> set[dt.date]:
        found: set[dt.date] = set()
        for year in years:
            for month, day in self.days:
                try:
                    found.add(dt.date(year, month, day))
                except ValueError:  # 29 February of a common year
                    continue
            for (m1, d1), (m2, d2) in self.ranges:
                first = _month_day(year, m1, d1)
                end_year = year + 1 if (m2, d2) < (m1, d1) else year
                last = _month_day(end_year, m2, d2, last=True)
                while first <= last:
                    found.add(first)
                    first += dt.timedelta(days=1)
        return found

    def __repr__(self) -> str:
        return f"yearly({len(self.days)} days, {len(self.ranges)} ranges)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (YearlyHolidays, (self.days, self.ranges))


def _month_day(year: int, month: int, day: int, last: bool = False) -> dt.date:
    """The date ``month``-``day`` of ``year``; 29 February falls back to the 28th or 1 March."""
    try:
        return dt.date(year, month, day)
    except ValueError:  # 29 February of a common year
        return dt.date(year, 2, 28) if last else dt.date(year, 3, 1)


def country_holidays(country: str, subdivision: str | None = None) -> _HolidayProvider:
    """A holiday provider for ``WeeklyCalendar`` backed by the ``holidays`` package."""
    return _HolidayProvider(country, subdivision)


def to_epoch(instant: dt.datetime) -> int:
    """Epoch seconds of an aware datetime (sub-second part floored)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    # Integer arithmetic: a float timestamp loses the microseconds far from 1970
    # (from about year 2255 on), and .999999 would round up to the next second.
    return (instant - _EPOCH_UTC) // _SECOND


def from_epoch(t: int) -> dt.datetime:
    """Aware UTC datetime of epoch seconds ``t``."""
    return dt.datetime.fromtimestamp(t, _UTC)


def format_utc(t: int) -> str:
    """ISO 8601 UTC text ending in ``Z`` for epoch seconds ``t``."""
    # Outputs write millions of instants: strftime runs once per UTC day, the time
    # of day is two table look-ups. POSIX time has exactly 86,400 seconds in every
    # UTC day (no leap seconds), so this split is the calendar's own, not an estimate.
    day, second = divmod(t, 86_400)
    try:
        date = _UTC_DAYS[day]
    except KeyError:
        date = _utc_day(day)
    minute, second = divmod(second, 60)
    return f"{date}{_HOURS_MINUTES[minute]}{_SECONDS[second]}"


# "HH:MM:" for each minute of a day, "SSZ" for each second of a minute.
_HOURS_MINUTES = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440))
_SECONDS = tuple(f"{s:02d}Z" for s in range(60))
_UTC_DAYS: dict[int, str] = {}
_MAX_CACHED_DAYS = 4096


def _utc_day(day: int) -> str:
    # "YYYY-MM-DDT" of a UTC day, remembered (a bounded cache: instants cluster in days).
    # Written field by field: strftime's %Y does not pad years before 1000 on every libc.
    moment = from_epoch(day * 86_400)
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
    if len(_UTC_DAYS) >= _MAX_CACHED_DAYS:
        _UTC_DAYS.clear()
    _UTC_DAYS[day] = date
    return date


__all__ = [
    "WEEKDAYS",
    "AlwaysOpen",
    "BusinessCalendar",
    "Shift",
    "WeeklyCalendar",
    "YearlyHolidays",
    "country_holidays",
    "format_utc",
    "from_epoch",
    "local_to_epoch",
    "to_epoch",
]
