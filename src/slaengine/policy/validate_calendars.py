"""The ``calendars`` of a policy file: hours, holidays and time zone to a calendar."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from itertools import pairwise

from slaengine.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    Shift,
    WeeklyCalendar,
    YearlyHolidays,
    country_holidays,
)
from slaengine.policy.nodes import FileContext, describe, flag
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.problems import did_you_mean

CALENDAR_KEYS = ("timezone", "hours", "holidays", "description", "end_2359")
# ``end_2359``: how an interval ending at 23:59 reads (Zammad's "last minute of the day").
END_2359 = ("literal", "end_of_day")
HOLIDAY_KEYS = ("date", "from", "to", "yearly", "active", "name", "country", "subdivision")
# The years a holiday may fall in: those of the instants events may carry
# (slaengine.timeline.MIN_YEAR and MAX_YEAR). Outside them a date is a typing mistake,
# and a range of millions of days would be expanded day by day.
HOLIDAY_YEARS = range(1900, 2200)
_MONTH_DAY = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s*$")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


@cache
def _countries() -> tuple[str, ...]:
    """The country codes the holidays package knows (aliases too: UK, USA), in its order."""
    # Only when a calendar names a country. The registry lists the codes without
    # importing the ~250 country modules that list_supported_countries() loads.
    try:
        from holidays.registry import EntityLoader

        return tuple(EntityLoader.get_country_codes())
    except (ImportError, AttributeError):  # pragma: no cover - an older holidays package
        import holidays

        return tuple(holidays.list_supported_countries())


@cache
def _subdivisions(code: str) -> tuple[str, ...]:
    """The subdivision codes of country ``code`` (one of :func:`_countries`)."""
    from slaengine.holiday_countries import country_subdivisions  # that country's module

    return country_subdivisions(code)


def _parse_interval(text: str) -> Shift | str:
    found = _INTERVAL.match(text)
    if found is None:
        return f"expected an interval like 09:00-17:00, got '{text}'"
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    written = text.strip().split("-")
    for (hour, minute), as_written in zip(((h1, m1), (h2, m2)), written, strict=True):
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            return f"'{as_written.strip()}' is not a time of day (00:00 to 24:00)"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == 1440:
        return "an interval cannot start at 24:00; use 00:00"
    if end <= start:
        end += 1440  # runs overnight into the next day
    return Shift(start, end)


def _day_range(name: str) -> list[int] | None:
    parts = name.split("-")
    if len(parts) == 1:
        return [WEEKDAYS.index(name)] if name in WEEKDAYS else None
    if len(parts) == 2 and parts[0] in WEEKDAYS and parts[1] in WEEKDAYS:
        first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[1])
        return [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return None


def _hours(ctx: FileContext, node: YNode) -> dict[int, list[Shift]] | None:
    hours = ctx.mapping(node, "'hours'")
    if hours is None:
        return None
    shifts: dict[int, list[Shift]] = {}
    given_at: dict[int, YScalar] = {}
    broken = False
    for name, (key, value) in hours.entries.items():
        days = _day_range(name.strip().lower())
        if days is None:
            options = [*WEEKDAYS, "mon-fri", "sat-sun"]
            ctx.report(
                key,
                "E101",
                f"unknown day '{name}' in 'hours'; expected mon..sun or a "
                f"range like mon-fri{did_you_mean(name, options)}",
            )
            continue
        located: list[tuple[Shift, YScalar]] = []
        if isinstance(value, YScalar) and (value.value is None or value.value == "closed"):
            pass  # explicitly closed
        else:
            for text, item in ctx.text_list(value, f"hours of '{name}'"):
                parsed = _parse_interval(text)
                if isinstance(parsed, str):
                    ctx.report(item, "E202", parsed)
                    broken = True
                else:
                    located.append((parsed, item))
        located.sort(key=lambda pair: pair[0].start)
        for (before, _), (after, item) in pairwise(located):
            if after.start < before.end:
                ctx.report(
                    item, "E206", f"intervals of '{name}' overlap; list each open period once"
                )
        day_shifts = [shift for shift, _ in located]
        for day in days:
            if day in given_at:
                ctx.report(
                    key,
                    "E104",
                    f"'{WEEKDAYS[day]}' is already given at line "
                    f"{given_at[day].line}; give each day once",
                )
                continue
            given_at[day] = key
            shifts[day] = list(day_shifts)
    # With a broken interval the calendar is reported already; do not also call it never open.
    return None if broken else shifts


def _date(ctx: FileContext, node: YNode, what: str) -> dt.date | None:
    if isinstance(node, YScalar):
        if isinstance(node.value, str):
            try:
                day = dt.date.fromisoformat(node.value.strip())
            except ValueError:
                pass
            else:
                return _in_years(ctx, node, what, day)
        if isinstance(node.value, dt.date):
            return _in_years(ctx, node, what, node.value)
    ctx.report(node, "E204", f"{what} must be a date like 2025-12-24, got {describe(node)}")
    return None


def _in_years(ctx: FileContext, node: YNode, what: str, day: dt.date) -> dt.date | None:
    if day.year in HOLIDAY_YEARS:
        return day
    ctx.report(
        node,
        "E204",
        f"{what} must fall in the years {HOLIDAY_YEARS.start} to {HOLIDAY_YEARS.stop - 1}, "
        f"got {day.isoformat()}",
    )
    return None


def _month_day(ctx: FileContext, node: YNode, what: str) -> tuple[int, int] | None:
    """A month-day like ``12-25`` (or the month and day of a full date)."""
    if isinstance(node, YScalar) and isinstance(node.value, dt.date):
        return node.value.month, node.value.day
    text = node.text if isinstance(node, YScalar) and node.value is not None else ""
    found = _MONTH_DAY.match(text)
    if found is not None:
        month, day = int(found.group(1)), int(found.group(2))
        try:
            dt.date(2024, month, day)  # a leap year: 02-29 is a valid yearly date
        except ValueError:
            pass
        else:
            return month, day
    ctx.report(
        node, "E204", f"{what} must be a month-day like 12-25 or a date, got {describe(node)}"
    )
    return None


def _holidays(
    ctx: FileContext, node: YNode
) -> tuple[set[dt.date], list[Callable[[range], set[dt.date]]]]:
    dates: set[dt.date] = set()
    providers: list[Callable[[range], set[dt.date]]] = []
    yearly_days: list[tuple[int, int]] = []
    yearly_ranges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    items = node.items if isinstance(node, YSeq) else [node]
    for item in items:
        if isinstance(item, YScalar):
            if isinstance(item.value, str) and _MONTH_DAY.match(item.value):
                month_day = _month_day(ctx, item, "a yearly holiday")
                if month_day is not None:
                    yearly_days.append(month_day)
                continue
            day = _date(ctx, item, "a holiday")
            if day is not None:
                dates.add(day)
            continue
        entry = ctx.mapping(item, "a holiday")
        if entry is None:
            continue
        ctx.keys(entry, HOLIDAY_KEYS, "a holiday")
        names = entry.entries
        kinds = [k for k in ("country", "date", "from") if k in names]
        if len(kinds) > 1 or ("to" in names and "from" not in names):
            ctx.report(
                entry,
                "E103",
                "a holiday is one of: a 'date', a 'from'/'to' range, or a "
                "'country' (with an optional 'subdivision'); not a mix",
            )
            continue
        if "subdivision" in names and "country" not in names:
            ctx.report(names["subdivision"][0], "E102", "'subdivision' needs a 'country'")
            continue
        if "name" in names:
            ctx.text(names["name"][1], "a holiday's 'name'")
        active = flag(ctx, names["active"][1], "'active'") if "active" in names else True
        yearly = flag(ctx, names["yearly"][1], "'yearly'") if "yearly" in names else False
        if yearly is None or active is None:
            continue  # reported; the dates cannot be read without knowing which kind
        if yearly and "country" in names:
            ctx.report(
                names["yearly"][0], "E103", "'yearly' is for dates and ranges, not a country"
            )
            continue
        if "country" in names:
            provider = _country(ctx, entry)
            if provider is not None and active:
                providers.append(provider)
        elif "date" in names:
            if yearly:
                month_day = _month_day(ctx, names["date"][1], "'date'")
                if month_day is not None and active:
                    yearly_days.append(month_day)
                continue
            day = _date(ctx, names["date"][1], "'date'")
            if day is not None and active:
                dates.add(day)
        elif "from" in names and "to" in names:
            if yearly:
                first_md = _month_day(ctx, names["from"][1], "'from'")
                last_md = _month_day(ctx, names["to"][1], "'to'")
                if first_md is not None and last_md is not None and active:
                    yearly_ranges.append((first_md, last_md))
                continue
            first = _date(ctx, names["from"][1], "'from'")
            last = _date(ctx, names["to"][1], "'to'")
            if first is not None and last is not None:
                if last < first:
                    ctx.report(names["to"][1], "E204", "'to' is before 'from'")
                while first <= last and active:
                    dates.add(first)
                    first += dt.timedelta(days=1)
        else:
            ctx.report(entry, "E102", "a holiday needs 'date', 'from' and 'to', or 'country'")
    if yearly_days or yearly_ranges:
        providers.append(YearlyHolidays(yearly_days, yearly_ranges))
    return dates, providers


def _country(ctx: FileContext, entry: YMap) -> Callable[[range], set[dt.date]] | None:
    country = ctx.text(entry.entries["country"][1], "'country'")
    if country is None:
        return None
    code = country.strip().upper()
    supported = _countries()
    if code not in supported:
        ctx.report(
            entry.entries["country"][1],
            "E205",
            f"unknown country '{country}'; expected an ISO 3166 code such as DE, US, GB"
            f"{did_you_mean(code, supported)}",
        )
        return None
    subdivision: str | None = None
    if "subdivision" in entry.entries:
        sub_node = entry.entries["subdivision"][1]
        subdivision = ctx.text(sub_node, "'subdivision'")
        known = _subdivisions(code)
        if subdivision is not None and subdivision.upper() not in [s.upper() for s in known]:
            ctx.report(
                sub_node,
                "E205",
                f"unknown subdivision '{subdivision}' of {code}; expected one of "
                f"{', '.join(known[:12])}{'...' if len(known) > 12 else ''}"
                f"{did_you_mean(subdivision.upper(), known)}",
            )
            return None
        if subdivision is not None:
            subdivision = next(s for s in known if s.upper() == subdivision.upper())
    return country_holidays(code, subdivision)


def parse_calendar(
    ctx: FileContext, name: str, key: YScalar, node: YNode
) -> BusinessCalendar | None:
    body = ctx.mapping(node, f"calendar '{name}'")
    if body is None:
        return None
    ctx.keys(body, CALENDAR_KEYS, f"calendar '{name}'")
    zone_node = ctx.required(body, "timezone", f"calendar '{name}'")
    hours_node = ctx.required(body, "hours", f"calendar '{name}'")
    zone: str | None = None
    if zone_node is not None:
        zone = ctx.text(zone_node, "'timezone'")
        if zone is not None:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                # OSError: a folder of the zone database ("Europe"), a name too long.
                ctx.report(
                    zone_node,
                    "E203",
                    f"unknown time zone '{zone}'; expected an IANA name "
                    f"like Europe/Berlin{did_you_mean(zone, _zone_names())}",
                )
                zone = None
    shifts = _hours(ctx, hours_node) if hours_node is not None else None
    if "end_2359" in body.entries and shifts is not None:
        end_node = body.entries["end_2359"][1]
        reading = ctx.text(end_node, "'end_2359'")
        if reading is not None and reading not in END_2359:
            ctx.report(
                end_node,
                "E214",
                f"unknown value '{reading}' for 'end_2359'; expected one of "
                f"{', '.join(END_2359)}{did_you_mean(reading, END_2359)}",
            )
        elif reading == "end_of_day":
            # 23:59 stands for the end of the day: the last minute is open too.
            shifts = {
                day: [Shift(s.start, s.end + 1) if s.end % 1440 == 1439 else s for s in day_shifts]
                for day, day_shifts in shifts.items()
            }
    if "description" in body.entries:
        ctx.text(body.entries["description"][1], "'description'")
    dates: set[dt.date] = set()
    providers: list[Callable[[range], set[dt.date]]] = []
    if "holidays" in body.entries:
        dates, providers = _holidays(ctx, body.entries["holidays"][1])
    if shifts is not None and not any(shifts.values()):
        ctx.report(
            key, "E303", f"calendar '{name}' is never open; give at least one day some hours"
        )
        return None
    if zone is None or shifts is None:
        return None
    return WeeklyCalendar(name, zone, shifts, dates, providers)


__all__ = ["parse_calendar"]
