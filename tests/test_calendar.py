"""Tables of instants for slaengine.calendar.

Every expected value is worked out by hand from the calendar rules; the comment on a
row gives the local wall-clock reasoning. Instants are written in UTC (``Z("...")``).

Offsets used below (2024 unless stated):
- Europe/Berlin      CET +1, CEST +2; CEST from Sun 31 Mar 02:00 -> 03:00 (01:00Z)
                     to Sun 27 Oct 03:00 -> 02:00 (01:00Z).
- America/New_York   EST -5, EDT -4; EDT from Sun 10 Mar 02:00 -> 03:00 (07:00Z)
                     to Sun 3 Nov 02:00 -> 01:00 (06:00Z).
- Australia/Sydney   AEDT +11 until Sun 7 Apr 03:00 -> 02:00 (6 Apr 16:00Z);
                     AEST +10 until Sun 6 Oct 02:00 -> 03:00 (5 Oct 16:00Z).
- Australia/Adelaide ACDT +10:30 until Sun 7 Apr 03:00 -> 02:00 (6 Apr 16:30Z);
                     ACST +9:30 until Sun 6 Oct 02:00 -> 03:00 (5 Oct 16:30Z).
- Asia/Kolkata       IST +5:30, no DST.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from slaengine.calendar import (
    AlwaysOpen,
    BusinessCalendar,
    Shift,
    WeeklyCalendar,
    country_holidays,
    format_utc,
    from_epoch,
    local_to_epoch,
    to_epoch,
)

H = 3600
MIN = 60
DAY = 86400
WEEK_9TO5 = 5 * 8 * H
UTC = dt.UTC


def Z(text: str) -> int:  # reads like a literal: Z("2024-01-15T08:00")
    """Epoch seconds of a UTC wall time, by plain integer arithmetic."""
    return (dt.datetime.fromisoformat(text) - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)


def row(id_: str, *values: object) -> Any:
    """One table row: its readable id first, then the values."""
    return pytest.param(*values, id=id_)


def _days(*dates: str) -> set[dt.date]:
    return {dt.date.fromisoformat(d) for d in dates}


EVERY_DAY = range(7)

# Short table names of the conftest fixtures.
FIXTURES = {
    "9to5": "calendar_9to5",
    "de-be": "calendar_9to5_de_be",
    "ny-us": "calendar_ny_9to5_us",
    "split": "calendar_split",
    "nights": "calendar_nights",
    "full-weekdays": "calendar_full_weekdays",
}

# Calendars built inline for the tables.
SPECS: dict[str, dict[str, Any]] = {
    "ny-9to5": {"timezone": "America/New_York"},
    "sydney-9to5": {"timezone": "Australia/Sydney"},
    "adelaide-9to5": {"timezone": "Australia/Adelaide"},
    "kolkata-9to5": {"timezone": "Asia/Kolkata"},
    # 00:00-06:00 every day: the small hours in which DST changes happen.
    "early-berlin": {"timezone": "Europe/Berlin", "shifts": (Shift(0, 360),), "days": EVERY_DAY},
    "early-ny": {"timezone": "America/New_York", "shifts": (Shift(0, 360),), "days": EVERY_DAY},
    "early-sydney": {"timezone": "Australia/Sydney", "shifts": (Shift(0, 360),), "days": EVERY_DAY},
    "early-adelaide": {
        "timezone": "Australia/Adelaide",
        "shifts": (Shift(0, 360),),
        "days": EVERY_DAY,
    },
    "early-kolkata": {"timezone": "Asia/Kolkata", "shifts": (Shift(0, 360),), "days": EVERY_DAY},
    # Shift edges inside the DST gap / the repeated hour.
    "berlin-0230-0400": {
        "timezone": "Europe/Berlin",
        "shifts": (Shift(150, 240),),
        "days": EVERY_DAY,
    },
    "berlin-0200-0300": {
        "timezone": "Europe/Berlin",
        "shifts": (Shift(120, 180),),
        "days": EVERY_DAY,
    },
    "xmas-fixed": {
        "timezone": "Europe/Berlin",
        "holidays": _days("2024-12-25", "2024-12-28"),  # a Wednesday and a Saturday
    },
    "leap-holiday": {"timezone": "Europe/Berlin", "holidays": _days("2024-02-29")},
    "de-nationwide": {
        "timezone": "Europe/Berlin",
        "holiday_providers": [country_holidays("DE")],
    },
    "nights-xmas": {
        "timezone": "Europe/Berlin",
        "shifts": (Shift(22 * 60, 30 * 60),),
        "holidays": _days("2024-12-25"),
    },
    # Overnight written the other way: end not after start means "into the next day".
    "nights-wrapped": {
        "timezone": "Europe/Berlin",
        "shifts": (Shift(22 * 60, 6 * 60),),
        "days": EVERY_DAY,
    },
    "full-every-day": {"timezone": "Europe/Berlin", "shifts": (Shift(0, 1440),), "days": EVERY_DAY},
    "evening-and-night": {
        "timezone": "Europe/Berlin",
        "shifts": (Shift(18 * 60, 22 * 60), Shift(22 * 60, 30 * 60)),
        "days": range(1),  # Mondays only
    },
}


@pytest.fixture
def get_calendar(request: pytest.FixtureRequest, make_calendar: Any) -> Any:
    """Look a table's calendar up: a conftest fixture name or a key of SPECS."""

    def get(key: str) -> WeeklyCalendar:
        if key in SPECS:
            return make_calendar(name=key, **SPECS[key])  # type: ignore[no-any-return]
        return request.getfixturevalue(FIXTURES[key])  # type: ignore[no-any-return]

    return get


# -- conversions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local", "expected"),
    [
        row("berlin-cet", "Europe/Berlin", "2024-01-15T09:00", "2024-01-15T08:00"),
        row("berlin-cest", "Europe/Berlin", "2024-07-01T09:00", "2024-07-01T07:00"),
        # 02:00-03:00 does not exist on 31 Mar: every time in it means 03:00 CEST = 01:00Z.
        row("berlin-gap-start", "Europe/Berlin", "2024-03-31T02:00", "2024-03-31T01:00"),
        row("berlin-gap-middle", "Europe/Berlin", "2024-03-31T02:30", "2024-03-31T01:00"),
        row("berlin-gap-end", "Europe/Berlin", "2024-03-31T03:00", "2024-03-31T01:00"),
        row("berlin-before-gap", "Europe/Berlin", "2024-03-31T01:59", "2024-03-31T00:59"),
        # 02:30 occurs twice on 27 Oct: first in CEST (+2) = 00:30Z.
        row("berlin-repeated-first", "Europe/Berlin", "2024-10-27T02:30", "2024-10-27T00:30"),
        row("berlin-after-repeat", "Europe/Berlin", "2024-10-27T03:00", "2024-10-27T02:00"),
        row("new-york-gap", "America/New_York", "2024-03-10T02:30", "2024-03-10T07:00"),
        row("new-york-repeated-first", "America/New_York", "2024-11-03T01:30", "2024-11-03T05:30"),
        row("sydney-gap-october", "Australia/Sydney", "2024-10-06T02:30", "2024-10-05T16:00"),
        row("sydney-repeated-april", "Australia/Sydney", "2024-04-07T02:30", "2024-04-06T15:30"),
        row("adelaide-gap", "Australia/Adelaide", "2024-10-06T02:15", "2024-10-05T16:30"),
        row("adelaide-repeated", "Australia/Adelaide", "2024-04-07T02:15", "2024-04-06T15:45"),
        row("kolkata-half-hour", "Asia/Kolkata", "2024-06-01T09:00", "2024-06-01T03:30"),
        row("kolkata-year-end", "Asia/Kolkata", "2024-01-01T00:00", "2023-12-31T18:30"),
    ],
)
def test_local_to_epoch(zone: str, local: str, expected: str) -> None:
    assert local_to_epoch(dt.datetime.fromisoformat(local), ZoneInfo(zone)) == Z(expected)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(dt.datetime(2024, 1, 1, tzinfo=UTC), Z("2024-01-01T00:00"), id="utc"),
        pytest.param(
            dt.datetime(2024, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
            Z("2024-01-01T00:00"),
            id="berlin",
        ),
        pytest.param(
            dt.datetime(2024, 1, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            Z("2024-01-01T00:00"),
            id="fixed-offset",
        ),
        pytest.param(
            dt.datetime(2024, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC),
            Z("2024-01-01T00:00"),
            id="sub-second-floored",
        ),
        pytest.param(
            dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
            -1,
            id="before-epoch-floored",
        ),
        # Far from 1970 a float timestamp cannot hold microseconds: .999999 must still floor.
        pytest.param(
            dt.datetime(3000, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC),
            Z("3000-01-01T00:00"),
            id="far-future-sub-second-floored",
        ),
    ],
)
def test_to_epoch(instant: dt.datetime, expected: int) -> None:
    assert to_epoch(instant) == expected


def test_to_epoch_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_epoch(dt.datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(0, "1970-01-01T00:00:00Z", id="epoch"),
        pytest.param(1_709_164_800, "2024-02-29T00:00:00Z", id="leap-day"),  # 1704067200 + 59 days
        pytest.param(1_735_689_599, "2024-12-31T23:59:59Z", id="year-end"),  # + 366 days - 1
        pytest.param(-1, "1969-12-31T23:59:59Z", id="before-epoch"),
    ],
)
def test_format_utc(t: int, expected: str) -> None:
    assert format_utc(t) == expected


def test_from_epoch_is_aware_utc() -> None:
    assert from_epoch(Z("2024-02-29T12:00")) == dt.datetime(2024, 2, 29, 12, tzinfo=UTC)


# -- between ------------------------------------------------------------------

BETWEEN = [
    # Berlin Mon-Fri 09:00-17:00.
    row("berlin-plain-day", "9to5", "2024-01-15T00:00", "2024-01-16T00:00", 8 * H),
    row("berlin-inside-day", "9to5", "2024-01-15T08:30", "2024-01-15T10:00", 90 * MIN),
    row("berlin-weekend-closed", "9to5", "2024-01-20T00:00", "2024-01-22T08:00", 0),
    row("empty-span", "9to5", "2024-01-15T10:00", "2024-01-15T10:00", 0),
    row("reversed-span", "9to5", "2024-01-15T12:00", "2024-01-15T10:00", 0),
    # Fri 16:00 CET -> 17:00 is 1 h; Mon 09:00-10:00 CEST (07:00Z-08:00Z) is 1 h.
    row("berlin-spring-forward-weekend", "9to5", "2024-03-29T15:00", "2024-04-01T08:00", 2 * H),
    # Fri 16:00-17:00 CEST (14:00Z-15:00Z); Mon 09:00-10:00 CET (08:00Z-09:00Z).
    row("berlin-fall-back-weekend", "9to5", "2024-10-25T14:00", "2024-10-28T09:00", 2 * H),
    row(
        "berlin-week-across-spring-forward",
        "9to5",
        "2024-03-25T00:00",
        "2024-04-01T00:00",
        WEEK_9TO5,
    ),
    # Wed 28 Feb, Thu 29 Feb, Fri 1 Mar.
    row("leap-day-week", "9to5", "2024-02-28T00:00", "2024-03-02T00:00", 24 * H),
    row("leap-day-holiday", "leap-holiday", "2024-02-29T00:00", "2024-03-01T00:00", 0),
    row("berlin-week-2044", "9to5", "2044-06-06T00:00", "2044-06-13T00:00", WEEK_9TO5),
    row("berlin-week-2004", "9to5", "2004-06-07T00:00", "2004-06-14T00:00", WEEK_9TO5),
    # 00:00-06:00 every day on the change nights: 7 real hours at fall-back, 5 at spring-forward.
    # Sun 27 Oct 00:00 CEST = 26 Oct 22:00Z -> 06:00 CET = 05:00Z.
    row("berlin-fall-back-night-7h", "early-berlin", "2024-10-26T12:00", "2024-10-27T12:00", 7 * H),
    # Sun 31 Mar 00:00 CET = 30 Mar 23:00Z -> 06:00 CEST = 04:00Z.
    row(
        "berlin-spring-forward-night-5h",
        "early-berlin",
        "2024-03-30T12:00",
        "2024-03-31T12:00",
        5 * H,
    ),
    # Sun 3 Nov 00:00 EDT = 04:00Z -> 06:00 EST = 11:00Z.
    row("new-york-fall-back-night-7h", "early-ny", "2024-11-02T12:00", "2024-11-03T12:00", 7 * H),
    # Sun 10 Mar 00:00 EST = 05:00Z -> 06:00 EDT = 10:00Z.
    row(
        "new-york-spring-forward-night-5h",
        "early-ny",
        "2024-03-09T12:00",
        "2024-03-10T12:00",
        5 * H,
    ),
    # Sun 7 Apr 00:00 AEDT = 6 Apr 13:00Z -> 06:00 AEST = 6 Apr 20:00Z.
    row("sydney-dst-ends-april-7h", "early-sydney", "2024-04-06T06:00", "2024-04-07T06:00", 7 * H),
    # Sun 6 Oct 00:00 AEST = 5 Oct 14:00Z -> 06:00 AEDT = 5 Oct 19:00Z.
    row(
        "sydney-dst-starts-october-5h",
        "early-sydney",
        "2024-10-05T06:00",
        "2024-10-06T06:00",
        5 * H,
    ),
    # Sun 7 Apr 00:00 ACDT = 6 Apr 13:30Z -> 06:00 ACST = 6 Apr 20:30Z.
    row(
        "adelaide-dst-ends-april-7h",
        "early-adelaide",
        "2024-04-06T06:00",
        "2024-04-07T06:00",
        7 * H,
    ),
    # Sun 6 Oct 00:00 ACST = 5 Oct 14:30Z -> 06:00 ACDT = 5 Oct 19:30Z.
    row(
        "adelaide-dst-starts-october-5h",
        "early-adelaide",
        "2024-10-05T06:00",
        "2024-10-06T06:00",
        5 * H,
    ),
    # Sun 27 Oct 00:00 IST = 26 Oct 18:30Z -> 00:30Z; no DST in India.
    row("kolkata-night-6h", "early-kolkata", "2024-10-26T12:00", "2024-10-27T12:00", 6 * H),
    # Shift edges in the gap / the repeated hour.
    # Normal day: 02:30 CET = 01:30Z -> 04:00 CET = 03:00Z.
    row(
        "edge-shift-normal-day",
        "berlin-0230-0400",
        "2024-03-30T00:00",
        "2024-03-30T12:00",
        90 * MIN,
    ),
    # Start 02:30 in the gap -> 03:00 CEST = 01:00Z; end 04:00 CEST = 02:00Z.
    row("edge-shift-start-in-gap", "berlin-0230-0400", "2024-03-31T00:00", "2024-03-31T12:00", H),
    # Start 02:30 first occurrence (CEST) = 00:30Z; end 04:00 CET = 03:00Z.
    row(
        "edge-shift-start-repeated",
        "berlin-0230-0400",
        "2024-10-27T00:00",
        "2024-10-27T12:00",
        150 * MIN,
    ),
    # 02:00-03:00 lies wholly in the gap: never open that night.
    row("shift-wholly-in-gap", "berlin-0200-0300", "2024-03-31T00:00", "2024-03-31T12:00", 0),
    # 02:00 first occurrence (CEST) = 00:00Z -> 03:00 CET = 02:00Z: both passes of 02:xx.
    row(
        "shift-on-repeated-hour", "berlin-0200-0300", "2024-10-27T00:00", "2024-10-27T12:00", 2 * H
    ),
    # Mon-Fri 09:00-17:00 elsewhere.
    # Fri 16:00-17:00 EST (21:00Z-22:00Z); Mon 09:00-10:00 EDT (13:00Z-14:00Z).
    row(
        "new-york-spring-forward-weekend", "ny-9to5", "2024-03-08T21:00", "2024-03-11T14:00", 2 * H
    ),
    # Fri 16:00-17:00 EDT (20:00Z-21:00Z); Mon 09:00-10:00 EST (14:00Z-15:00Z).
    row("new-york-fall-back-weekend", "ny-9to5", "2024-11-01T20:00", "2024-11-04T15:00", 2 * H),
    # Fri 16:00-17:00 AEDT (05:00Z-06:00Z); Mon 09:00-09:30 AEST (Sun 23:00Z-23:30Z).
    row("sydney-dst-ends-weekend", "sydney-9to5", "2024-04-05T05:00", "2024-04-07T23:30", 90 * MIN),
    # Fri 16:00-17:00 AEST (06:00Z-07:00Z); Mon 09:00-10:00 AEDT (Sun 22:00Z-23:00Z).
    row("sydney-dst-starts-weekend", "sydney-9to5", "2024-10-04T06:00", "2024-10-06T23:00", 2 * H),
    # Fri 16:30-17:00 ACDT (06:00Z-06:30Z); Mon 09:00-09:30 ACST (Sun 23:30Z-Mon 00:00Z).
    row("adelaide-dst-ends-weekend", "adelaide-9to5", "2024-04-05T06:00", "2024-04-08T00:00", H),
    # Fri 16:30-17:00 ACST (07:00Z-07:30Z); Mon 09:00-09:30 ACDT (Sun 22:30Z-23:00Z).
    row("adelaide-dst-starts-weekend", "adelaide-9to5", "2024-10-04T07:00", "2024-10-06T23:00", H),
    # 09:00-17:00 IST = 03:30Z-11:30Z.
    row("kolkata-day", "kolkata-9to5", "2024-06-03T00:00", "2024-06-04T00:00", 8 * H),
    row(
        "kolkata-opens-at-half-past",
        "kolkata-9to5",
        "2024-06-03T03:00",
        "2024-06-03T04:00",
        30 * MIN,
    ),
    # Holidays.
    # Mon 23, Tue 24, Thu 26, Fri 27 Dec; Wed 25 is a holiday.
    row("holiday-in-week", "xmas-fixed", "2024-12-23T00:00", "2024-12-28T00:00", 32 * H),
    # Sat 28 Dec is a holiday but closed anyway; no substitute: Fri 27 and Mon 30 open.
    row(
        "holiday-on-saturday-no-effect",
        "xmas-fixed",
        "2024-12-27T00:00",
        "2024-12-31T00:00",
        16 * H,
    ),
    # DE-BE: 25 and 26 Dec closed; Mon 23, Tue 24, Fri 27 open.
    row("de-be-christmas", "de-be", "2024-12-23T00:00", "2024-12-28T00:00", 24 * H),
    # Fri 8 Mar 2024 is Women's Day, a holiday in Berlin only.
    row("de-be-womens-day", "de-be", "2024-03-08T00:00", "2024-03-09T00:00", 0),
    row(
        "de-nationwide-womens-day-open",
        "de-nationwide",
        "2024-03-08T00:00",
        "2024-03-09T00:00",
        8 * H,
    ),
    # Tue 31 Dec open, Wed 1 Jan New Year closed, Thu 2 Jan open.
    row("de-be-year-end", "de-be", "2024-12-31T00:00", "2025-01-03T00:00", 16 * H),
    # Thanksgiving Thu 28 Nov 2024; 09:00-17:00 EST = 14:00Z-22:00Z.
    row("us-thanksgiving", "ny-us", "2024-11-28T12:00", "2024-11-29T12:00", 0),
    row("us-day-after-thanksgiving-open", "ny-us", "2024-11-29T12:00", "2024-11-30T12:00", 8 * H),
    # Overnight shifts 22:00-06:00.
    # Mon 22:00 CET = 21:00Z -> Tue 06:00 CET = 05:00Z.
    row("nights-plain", "nights", "2024-01-15T12:00", "2024-01-16T12:00", 8 * H),
    # Sat 26 Oct 22:00 CEST = 20:00Z -> Sun 06:00 CET = 05:00Z.
    row("nights-fall-back-9h", "nights", "2024-10-26T12:00", "2024-10-27T12:00", 9 * H),
    # Sat 30 Mar 22:00 CET = 21:00Z -> Sun 06:00 CEST = 04:00Z.
    row("nights-spring-forward-7h", "nights", "2024-03-30T12:00", "2024-03-31T12:00", 7 * H),
    row("nights-written-22-to-06", "nights-wrapped", "2024-01-15T12:00", "2024-01-16T12:00", 8 * H),
    row(
        "nights-written-22-to-06-fall-back",
        "nights-wrapped",
        "2024-10-26T12:00",
        "2024-10-27T12:00",
        9 * H,
    ),
    # Tue 24 Dec 22:00 -> Wed 25 Dec 06:00 belongs to Tuesday: open although the 25th is a holiday.
    row(
        "overnight-into-holiday-open", "nights-xmas", "2024-12-24T12:00", "2024-12-25T12:00", 8 * H
    ),
    # The shift starting on the holiday (Wed 22:00) is closed.
    row(
        "overnight-starting-on-holiday-closed",
        "nights-xmas",
        "2024-12-25T12:00",
        "2024-12-26T12:00",
        0,
    ),
    # Fri 22:00 -> Sat 06:00 belongs to Friday.
    row(
        "overnight-friday-into-saturday",
        "nights-xmas",
        "2024-12-27T12:00",
        "2024-12-28T12:00",
        8 * H,
    ),
    # Split shift 09:00-12:00, 13:00-17:00 CET = 08:00Z-11:00Z, 12:00Z-16:00Z.
    row("split-whole-day", "split", "2024-01-15T00:00", "2024-01-16T00:00", 7 * H),
    row("split-across-lunch", "split", "2024-01-15T09:00", "2024-01-15T13:00", 3 * H),
    row("split-lunch-closed", "split", "2024-01-15T11:00", "2024-01-15T12:00", 0),
    # 00:00-24:00 Mon-Fri: Mon 00:00 CET = Sun 23:00Z -> Sat 00:00 CET = Fri 23:00Z.
    row("full-weekdays-week", "full-weekdays", "2024-01-13T00:00", "2024-01-21T23:00", 5 * DAY),
    # Always open in fact: the week of spring-forward is its real length, 7 x 24 h - 1 h.
    row(
        "full-every-day-real-time",
        "full-every-day",
        "2024-03-25T00:00",
        "2024-04-01T00:00",
        7 * DAY,
    ),
    # Local Sun 31 Mar 00:00 CET (30 Mar 23:00Z) -> Mon 00:00 CEST (31 Mar 22:00Z): a 23 h day.
    row(
        "full-every-day-short-local-day",
        "full-every-day",
        "2024-03-30T23:00",
        "2024-03-31T22:00",
        23 * H,
    ),
]


@pytest.mark.parametrize(("calendar", "start", "end", "expected"), BETWEEN)
def test_between(get_calendar: Any, calendar: str, start: str, end: str, expected: int) -> None:
    assert get_calendar(calendar).between(Z(start), Z(end)) == expected


# -- add ----------------------------------------------------------------------

ADD = [
    row("zero-in-closed-time", "9to5", "2024-01-20T10:00", 0, "2024-01-20T10:00"),
    row("zero-in-open-time", "9to5", "2024-01-15T10:00", 0, "2024-01-15T10:00"),
    # Sat -> Mon 09:00 CET = 08:00Z, plus one second.
    row("one-second-from-weekend", "9to5", "2024-01-20T10:00", 1, "2024-01-22T08:00:01"),
    # Mon 16:00 CET + 1 h = 17:00 CET closing (16:00Z), not Tue 09:00.
    row("lands-on-closing", "9to5", "2024-01-15T15:00", H, "2024-01-15T16:00"),
    row("one-past-closing", "9to5", "2024-01-15T15:00", H + 1, "2024-01-16T08:00:01"),
    row("from-before-opening", "9to5", "2024-01-15T06:00", H, "2024-01-15T09:00"),
    row("whole-day", "9to5", "2024-01-15T08:00", 8 * H, "2024-01-15T16:00"),
    # Fri 16:00 CET: 1 h to 17:00; Mon 09:00 CEST = 07:00Z + 1 h.
    row("berlin-spring-forward", "9to5", "2024-03-29T15:00", 2 * H, "2024-04-01T08:00"),
    # Fri 16:00 CEST (14:00Z): 1 h; Mon 09:00 CET = 08:00Z + 1 h.
    row("berlin-fall-back", "9to5", "2024-10-25T14:00", 2 * H, "2024-10-28T09:00"),
    # Wed 28 Feb 16:00 CET: 1 h; Thu 29 Feb 8 h ends at its closing 17:00 CET = 16:00Z.
    row("leap-day-closing", "9to5", "2024-02-28T15:00", 9 * H, "2024-02-29T16:00"),
    row("leap-day-next-morning", "9to5", "2024-02-28T15:00", 9 * H + 1, "2024-03-01T08:00:01"),
    # 120 full weeks (4800 h, over two years of open time): ends Fri 17 Apr 2026 17:00 CEST.
    row("more-than-a-year", "9to5", "2024-01-01T00:00", 120 * WEEK_9TO5, "2026-04-17T15:00"),
    # Fri 16:00 EST (21:00Z): 1 h; Mon 09:00 EDT = 13:00Z + 1 h.
    row("new-york-spring-forward", "ny-9to5", "2024-03-08T21:00", 2 * H, "2024-03-11T14:00"),
    # Fri 16:00 EDT (20:00Z): 1 h; Mon 09:00 EST = 14:00Z + 1 h.
    row("new-york-fall-back", "ny-9to5", "2024-11-01T20:00", 2 * H, "2024-11-04T15:00"),
    # Fri 16:00 AEDT (05:00Z): 1 h; Mon 09:00 AEST = Sun 23:00Z + 1 h.
    row("sydney-dst-ends", "sydney-9to5", "2024-04-05T05:00", 2 * H, "2024-04-08T00:00"),
    # Fri 16:00 AEST (06:00Z): 1 h; Mon 09:00 AEDT = Sun 22:00Z + 1 h.
    row("sydney-dst-starts", "sydney-9to5", "2024-10-04T06:00", 2 * H, "2024-10-06T23:00"),
    # Fri 16:30 ACDT (06:00Z): 30 min; Mon 09:00 ACST = Sun 23:30Z + 30 min.
    row("adelaide-dst-ends", "adelaide-9to5", "2024-04-05T06:00", H, "2024-04-08T00:00"),
    # Fri 16:30 ACST (07:00Z): 30 min; Mon 09:00 ACDT = Sun 22:30Z + 30 min.
    row("adelaide-dst-starts", "adelaide-9to5", "2024-10-04T07:00", H, "2024-10-06T23:00"),
    # Mon 16:30 IST (11:00Z): 30 min; Tue 09:00 IST = 03:30Z + 30 min.
    row("kolkata-next-morning", "kolkata-9to5", "2024-06-03T11:00", H, "2024-06-04T04:00"),
    # Nights: Sat 26 Oct 22:00 CEST (20:00Z) + 9 h = Sun 06:00 CET (05:00Z), its closing.
    row("nights-fall-back", "nights", "2024-10-26T20:00", 9 * H, "2024-10-27T05:00"),
    # Sat 30 Mar 22:00 CET (21:00Z) + 7 h = Sun 06:00 CEST (04:00Z).
    row("nights-spring-forward", "nights", "2024-03-30T21:00", 7 * H, "2024-03-31T04:00"),
    # One more second: Sun 31 Mar 22:00 CEST = 20:00Z.
    row(
        "nights-spring-forward-next-night",
        "nights",
        "2024-03-30T21:00",
        7 * H + 1,
        "2024-03-31T20:00:01",
    ),
    row("early-fall-back-7h", "early-berlin", "2024-10-26T22:00", 7 * H, "2024-10-27T05:00"),
    # Tue 24 Dec 22:00 CET (21:00Z) + 8 h = Wed 06:00 (05:00Z);
    # the Wed night is closed, Thu 22:00 next.
    row("overnight-into-holiday", "nights-xmas", "2024-12-24T21:00", 8 * H, "2024-12-25T05:00"),
    row(
        "overnight-skips-holiday-night",
        "nights-xmas",
        "2024-12-24T21:00",
        8 * H + 1,
        "2024-12-26T21:00:01",
    ),
    # Tue 24 Dec 16:00 CET: 1 h; Wed 25 closed; Thu 09:00 CET = 08:00Z + 1 h.
    row("holiday-in-week", "xmas-fixed", "2024-12-24T15:00", 2 * H, "2024-12-26T09:00"),
    row(
        "holiday-on-saturday-no-effect", "xmas-fixed", "2024-12-27T15:00", 2 * H, "2024-12-30T09:00"
    ),
    # DE-BE: Wed 25 and Thu 26 closed -> Fri 27 09:00 CET = 08:00Z + 1 h.
    row("de-be-christmas", "de-be", "2024-12-24T15:00", 2 * H, "2024-12-27T09:00"),
    # Tue 31 Dec 16:00 CET: 1 h; Wed 1 Jan closed; Thu 2 Jan 09:00 CET + 1 h.
    row("de-be-year-end", "de-be", "2024-12-31T15:00", 2 * H, "2025-01-02T09:00"),
    # Wed 27 Nov 16:00 EST (21:00Z): 1 h; Thu 28 Thanksgiving; Fri 09:00 EST = 14:00Z + 1 h.
    row("us-thanksgiving", "ny-us", "2024-11-27T21:00", 2 * H, "2024-11-29T15:00"),
    # Split: Mon 11:00 CET (10:00Z) + 1 h = 12:00 CET lunch (11:00Z); +1 s -> after lunch.
    row("split-lands-on-lunch", "split", "2024-01-15T10:00", H, "2024-01-15T11:00"),
    row("split-after-lunch", "split", "2024-01-15T10:00", H + 1, "2024-01-15T12:00:01"),
    row("split-whole-day", "split", "2024-01-15T08:00", 7 * H, "2024-01-15T16:00"),
    # 00:00-24:00 Mon-Fri: five merged days end at Sat 00:00 CET = Fri 23:00Z.
    row(
        "full-weekdays-to-friday-midnight",
        "full-weekdays",
        "2024-01-14T23:00",
        5 * DAY,
        "2024-01-19T23:00",
    ),
    row(
        "full-weekdays-next-monday",
        "full-weekdays",
        "2024-01-14T23:00",
        5 * DAY + 1,
        "2024-01-21T23:00:01",
    ),
]


@pytest.mark.parametrize(("calendar", "start", "seconds", "expected"), ADD)
def test_add(get_calendar: Any, calendar: str, start: str, seconds: int, expected: str) -> None:
    cal = get_calendar(calendar)
    assert cal.add(Z(start), seconds) == Z(expected)
    assert cal.between(Z(start), Z(expected)) == seconds


# -- is_open and open_intervals -----------------------------------------------

IS_OPEN = [
    row("before-opening", "9to5", "2024-01-15T07:59:59", False),
    row("at-opening", "9to5", "2024-01-15T08:00", True),
    row("last-second", "9to5", "2024-01-15T15:59:59", True),
    row("at-closing", "9to5", "2024-01-15T16:00", False),
    row("saturday", "9to5", "2024-01-20T10:00", False),
    # 00:00-06:00 on 31 Mar: 01:59:59 CET, then 03:00 CEST.
    row("spring-forward-before-gap", "early-berlin", "2024-03-31T00:59:59", True),
    row("spring-forward-after-gap", "early-berlin", "2024-03-31T01:00", True),
    row("spring-forward-last-second", "early-berlin", "2024-03-31T03:59:59", True),
    row("spring-forward-closing", "early-berlin", "2024-03-31T04:00", False),
    # 02:30 on 27 Oct happens at 00:30Z (CEST) and 01:30Z (CET): open both times.
    row("fall-back-first-0230", "early-berlin", "2024-10-27T00:30", True),
    row("fall-back-second-0230", "early-berlin", "2024-10-27T01:30", True),
    row("fall-back-closing", "early-berlin", "2024-10-27T05:00", False),
    row("nights-before", "nights", "2024-01-15T20:59:59", False),
    row("nights-open", "nights", "2024-01-15T21:00", True),
    row("nights-past-midnight-local", "nights", "2024-01-15T23:30", True),
    row("nights-closing", "nights", "2024-01-16T05:00", False),
    row("overnight-into-holiday", "nights-xmas", "2024-12-25T04:59:59", True),
    row("holiday-night-closed", "nights-xmas", "2024-12-25T21:00", False),
    row("night-after-holiday", "nights-xmas", "2024-12-26T21:00", True),
    row("full-weekdays-sunday", "full-weekdays", "2024-01-14T22:59:59", False),
    row("full-weekdays-monday-midnight", "full-weekdays", "2024-01-14T23:00", True),
    row("full-weekdays-friday-24h", "full-weekdays", "2024-01-19T22:59:59", True),
    row("full-weekdays-saturday", "full-weekdays", "2024-01-19T23:00", False),
]


@pytest.mark.parametrize(("calendar", "t", "expected"), IS_OPEN)
def test_is_open(get_calendar: Any, calendar: str, t: str, expected: bool) -> None:
    assert get_calendar(calendar).is_open(Z(t)) is expected


OPEN_INTERVALS = [
    pytest.param(
        "split",
        Z("2024-01-15T00:00"),
        Z("2024-01-16T00:00"),
        [
            (Z("2024-01-15T08:00"), Z("2024-01-15T11:00")),
            (Z("2024-01-15T12:00"), Z("2024-01-15T16:00")),
        ],
        id="split-day",
    ),
    pytest.param(
        "split",
        Z("2024-01-15T09:00"),
        Z("2024-01-15T12:30"),
        [
            (Z("2024-01-15T09:00"), Z("2024-01-15T11:00")),
            (Z("2024-01-15T12:00"), Z("2024-01-15T12:30")),
        ],
        id="split-clipped",
    ),
    # Five 00:00-24:00 days touch and merge into one interval per week.
    pytest.param(
        "full-weekdays",
        Z("2024-01-13T00:00"),
        Z("2024-01-22T00:00"),
        [
            (Z("2024-01-14T23:00"), Z("2024-01-19T23:00")),
            (Z("2024-01-21T23:00"), Z("2024-01-22T00:00")),
        ],
        id="full-weekdays-merge",
    ),
    # 18:00-22:00 and 22:00-06:00 on Monday touch: one interval 17:00Z -> Tue 05:00Z.
    pytest.param(
        "evening-and-night",
        Z("2024-01-15T00:00"),
        Z("2024-01-17T00:00"),
        [(Z("2024-01-15T17:00"), Z("2024-01-16T05:00"))],
        id="evening-and-overnight-merge",
    ),
    pytest.param(
        "nights",
        Z("2024-03-30T12:00"),
        Z("2024-03-31T12:00"),
        [(Z("2024-03-30T21:00"), Z("2024-03-31T04:00"))],
        id="night-over-spring-forward",
    ),
    row("closed-saturday", "9to5", Z("2024-01-20T00:00"), Z("2024-01-21T00:00"), []),
    row("reversed", "9to5", Z("2024-01-16T00:00"), Z("2024-01-15T00:00"), []),
]


@pytest.mark.parametrize(("calendar", "start", "end", "expected"), OPEN_INTERVALS)
def test_open_intervals(
    get_calendar: Any, calendar: str, start: int, end: int, expected: list[tuple[int, int]]
) -> None:
    cal = get_calendar(calendar)
    assert cal.open_intervals(start, end) == expected
    assert sum(b - a for a, b in expected) == cal.between(start, end)


def test_open_before_differences_are_open_time(calendar_9to5: WeeklyCalendar) -> None:
    # The origin of open_before is the table's; only differences mean something.
    monday_0900, monday_1000 = Z("2024-01-15T08:00"), Z("2024-01-15T09:00")
    assert calendar_9to5.open_before(monday_1000) - calendar_9to5.open_before(monday_0900) == H
    saturday, sunday = Z("2024-01-20T10:00"), Z("2024-01-21T10:00")
    assert calendar_9to5.open_before(saturday) == calendar_9to5.open_before(sunday)


# -- lazy table growth ----------------------------------------------------------


def test_table_grows_forwards_and_backwards(calendar_9to5: WeeklyCalendar) -> None:
    cal = calendar_9to5
    assert cal.between(Z("2024-06-03T00:00"), Z("2024-06-10T00:00")) == WEEK_9TO5
    # Twenty years on, then twenty years back, then the first range again.
    assert cal.between(Z("2044-06-06T00:00"), Z("2044-06-13T00:00")) == WEEK_9TO5
    assert cal.between(Z("2004-06-07T00:00"), Z("2004-06-14T00:00")) == WEEK_9TO5
    assert cal.between(Z("2024-06-03T00:00"), Z("2024-06-10T00:00")) == WEEK_9TO5
    # Mon 7 Jun 2004 to Mon 6 Jun 2044: whole weeks (no holidays in this calendar).
    weeks = (dt.date(2044, 6, 6) - dt.date(2004, 6, 7)).days // 7
    assert cal.between(Z("2004-06-07T00:00"), Z("2044-06-06T00:00")) == weeks * WEEK_9TO5
    # Fri 16:00 CEST (14:00Z): 1 h; Mon 09:00 CEST = 07:00Z + 1 h.
    assert cal.add(Z("2044-06-10T14:00"), 2 * H) == Z("2044-06-13T08:00")
    assert cal.add(Z("2004-06-11T14:00"), 2 * H) == Z("2004-06-14T08:00")
    assert cal.is_open(Z("2044-06-06T07:00"))
    assert not cal.is_open(Z("2004-06-12T10:00"))  # Saturday


def test_table_grows_backwards_first(calendar_9to5: WeeklyCalendar) -> None:
    cal = calendar_9to5
    assert cal.is_open(Z("2030-01-07T08:00"))  # Mon 09:00 CET
    # A span reaching back before the compiled years: Mon 2 Jan 2023 -> Mon 7 Jan 2030.
    weeks = (dt.date(2030, 1, 7) - dt.date(2023, 1, 2)).days // 7
    assert cal.between(Z("2023-01-02T00:00"), Z("2030-01-07T00:00")) == weeks * WEEK_9TO5


def test_year_end_extends_table_lazily(calendar_9to5_de_be: WeeklyCalendar) -> None:
    cal = calendar_9to5_de_be
    assert cal.between(Z("2024-06-03T00:00"), Z("2024-06-10T00:00")) == WEEK_9TO5
    # Wed 31 Dec 2025 open, Thu 1 Jan 2026 New Year, Fri 2 Jan open.
    assert cal.between(Z("2025-12-31T00:00"), Z("2026-01-03T00:00")) == 16 * H
    # Wed 31 Dec 2025 16:00 CET: 1 h; Fri 2 Jan 2026 09:00 CET = 08:00Z + 1 h.
    assert cal.add(Z("2025-12-31T15:00"), 2 * H) == Z("2026-01-02T09:00")


def test_add_beyond_compiled_years_extends_table(calendar_9to5: WeeklyCalendar) -> None:
    cal = calendar_9to5
    assert cal.is_open(Z("2024-01-15T08:00"))
    # Mon 1 Jan 2024 + 3 x 52 weeks = Mon 28 Dec 2026; the last Friday is 25 Dec 2026, 17:00 CET.
    assert cal.add(Z("2024-01-01T00:00"), 156 * WEEK_9TO5) == Z("2026-12-25T16:00")


def test_overnight_shift_at_table_edge(calendar_nights: WeeklyCalendar) -> None:
    cal = calendar_nights
    assert cal.is_open(Z("2026-06-01T21:00"))  # Mon 23:00 CEST: compiles around 2026 first
    # Wed 31 Dec 2024 22:00 CET runs into 1 Jan 2025, the first day of the compiled years.
    assert cal.is_open(Z("2025-01-01T00:00"))
    assert cal.between(Z("2024-12-31T12:00"), Z("2025-01-01T12:00")) == 8 * H


# -- construction and AlwaysOpen ----------------------------------------------


def test_never_open_calendar_is_rejected() -> None:
    with pytest.raises(ValueError, match="never open"):
        WeeklyCalendar("closed", "Europe/Berlin", {})


def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ZoneInfoNotFoundError, match="Mars/Olympus"):
        WeeklyCalendar("x", "Mars/Olympus", {0: [Shift(0, 60)]})


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(Z("2024-03-30T12:00"), Z("2024-03-31T12:00"), id="spring-forward-day"),
        pytest.param(Z("2024-02-28T00:00"), Z("2024-03-01T00:00"), id="leap-day"),
        pytest.param(Z("2024-12-31T00:00"), Z("2025-01-02T00:00"), id="year-end"),
        pytest.param(-DAY, DAY, id="around-epoch"),
    ],
)
def test_always_open_is_identity_arithmetic(start: int, end: int) -> None:
    cal: BusinessCalendar = AlwaysOpen()
    assert cal.name == "24x7"
    assert cal.between(start, end) == end - start
    assert cal.between(end, start) == 0
    assert cal.add(start, end - start) == end
    assert cal.add(start, 0) == start
    assert cal.is_open(start)
    assert cal.open_intervals(start, end) == [(start, end)]
    assert cal.open_intervals(end, start) == []
    assert cal.open_before(end) - cal.open_before(start) == end - start


@pytest.mark.parametrize(
    "shifts",
    [
        {d: [Shift(9 * 60, 17 * 60)] for d in range(5)},  # office hours
        {
            d: [Shift(8 * 60, 8 * 60 + 5), Shift(9 * 60, 9 * 60 + 1), Shift(22 * 60, 6 * 60)]
            for d in range(7)
        },  # short shifts, several a bucket, overnight
        {d: [Shift(0, 1440)] for d in range(7)},  # open around the clock: one interval
    ],
)
def test_table_lookups_agree_with_a_binary_search(shifts: dict[int, list[Shift]]) -> None:
    # The table's bucketed look-ups are the binary searches they replace, at every
    # interval's edges (and a second either side) and at the table's own ends.
    from bisect import bisect_left, bisect_right

    calendar = WeeklyCalendar("t", "America/New_York", shifts, [dt.date(2025, 12, 25)])
    calendar.between(1_750_000_000, 1_750_000_001)  # compiles the years around 2025
    table = calendar._table
    instants = {table.low, table.high - 1}
    for edge in table.starts + table.ends:
        instants.update(edge + d for d in (-1, 0, 1) if table.low <= edge + d < table.high)
    for t in sorted(instants):
        assert table.last_start(t) == bisect_right(table.starts, t) - 1, t
    goals = {0, 1, table.cum_end[-1], table.cum_end[-1] + 1, table.cum_end[-1] + 10**6}
    for edge in table.cum_start + table.cum_end:
        goals.update(edge + d for d in (-1, 0, 1) if edge + d >= 0)
    for goal in sorted(goals):
        assert table.reaching(goal) == bisect_left(table.cum_end, goal), goal
