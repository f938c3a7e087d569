"""Yearly and inactive holidays, next opening and closing instants, and real time over DST."""

from __future__ import annotations

import datetime as dt

import pytest

from slaengine.calendar import AlwaysOpen, Shift, WeeklyCalendar, YearlyHolidays
from slaengine.event_parsing import parse_instant
from slaengine.policy import loads_policies

HOLIDAYS = """
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-sun: ["09:00-17:00"]}
    holidays:
      - 12-25
      - {date: 05-01, yearly: true, name: Labour Day}
      - {date: 2024-10-03, yearly: true}
      - {from: 12-31, to: 01-01, yearly: true}
      - {date: 2025-12-23, active: false}
      - {from: 2025-08-04, to: 2025-08-05, active: false}
      - {date: 02-29, yearly: true}
      - 2025-12-22
policies:
  - name: p
    calendar: office
    metrics: {first_response: {targets: 1h}}
"""


@pytest.fixture(scope="module")
def office() -> WeeklyCalendar:
    calendar = loads_policies(HOLIDAYS).calendars["office"]
    assert isinstance(calendar, WeeklyCalendar)
    return calendar


def _open_on(calendar: WeeklyCalendar, day: str) -> int:
    """Open seconds on a local date (the whole UTC day around it covers 09:00-17:00 Berlin)."""
    start = parse_instant(f"{day}T00:00:00+00:00")
    return calendar.between(start, start + 24 * 3600)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param("2025-12-25", 0, id="month-day-2025"),
        pytest.param("2030-12-25", 0, id="month-day-2030"),
        pytest.param("2026-05-01", 0, id="yearly-mapping"),
        pytest.param("2027-10-03", 0, id="yearly-full-date-ignores-year"),
        pytest.param("2025-12-31", 0, id="range-over-year-end-start"),
        pytest.param("2026-01-01", 0, id="range-over-year-end-end"),
        pytest.param("2026-01-02", 8, id="after-range"),
        pytest.param("2025-12-23", 8, id="inactive-date"),
        pytest.param("2025-08-05", 8, id="inactive-range"),
        pytest.param("2028-02-29", 0, id="leap-day-in-leap-year"),
        pytest.param("2027-02-28", 8, id="no-leap-day-in-common-year"),
        pytest.param("2027-03-01", 8, id="not-moved-to-march"),
        pytest.param("2025-12-22", 0, id="plain-date-still-works"),
        pytest.param("2026-12-22", 8, id="plain-date-not-yearly"),
    ],
)
def test_yearly_and_inactive_holidays(office: WeeklyCalendar, day: str, hours: int) -> None:
    assert _open_on(office, day) == hours * 3600


def test_yearly_range_provider_directly() -> None:
    provider = YearlyHolidays(ranges=[((12, 24), (12, 26))])
    assert provider(range(2025, 2026)) == {
        dt.date(2025, 12, 24),
        dt.date(2025, 12, 25),
        dt.date(2025, 12, 26),
    }


BERLIN = WeeklyCalendar(
    "office",
    "Europe/Berlin",
    {d: [Shift(9 * 60, 17 * 60)] for d in range(5)},
    [dt.date(2025, 12, 24)],
)


@pytest.mark.parametrize(
    ("at", "next_open", "closing"),
    [
        pytest.param("2025-12-01T10:00:00Z", "2025-12-01T10:00:00Z", False, id="open"),
        pytest.param("2025-12-01T16:00:00Z", "2025-12-02T08:00:00Z", True, id="at-closing"),
        pytest.param("2025-12-01T15:59:59Z", "2025-12-01T15:59:59Z", False, id="last-second"),
        pytest.param("2025-12-05T18:00:00Z", "2025-12-08T08:00:00Z", False, id="weekend"),
        pytest.param("2025-12-23T16:00:00Z", "2025-12-25T08:00:00Z", True, id="before-holiday"),
        pytest.param(
            "2026-03-27T16:00:00Z", "2026-03-30T07:00:00Z", True, id="over-spring-forward"
        ),
        pytest.param("2025-10-24T15:00:00Z", "2025-10-27T08:00:00Z", True, id="over-fall-back"),
    ],
)
def test_next_open_and_closing(at: str, next_open: str, closing: bool) -> None:
    t = parse_instant(at)
    assert BERLIN.next_open(t) == parse_instant(next_open)
    assert BERLIN.is_closing(t) is closing


def test_always_open_next_open() -> None:
    assert AlwaysOpen().next_open(1234) == 1234
    assert AlwaysOpen().is_closing(1234) is False


ALL_DAY = """
version: 1
calendars:
  allday:
    timezone: Europe/Berlin
    hours: {mon-sun: ["00:00-24:00"]}
policies:
  - name: p
    metrics: {first_response: {targets: 1h}}
"""


@pytest.mark.parametrize(
    ("calendar", "midnight", "next_midnight", "hours"),
    [
        pytest.param(
            "24x7",
            "2025-10-26T00:00:00+02:00",
            "2025-10-27T00:00:00+01:00",
            25,
            id="24x7-fall-back",
        ),
        pytest.param(
            "24x7",
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            23,
            id="24x7-spring-forward",
        ),
        pytest.param(
            "allday",
            "2025-10-26T00:00:00+02:00",
            "2025-10-27T00:00:00+01:00",
            25,
            id="all-day-fall-back",
        ),
        pytest.param(
            "allday",
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            23,
            id="all-day-spring-forward",
        ),
    ],
)
def test_round_the_clock_counts_real_seconds_over_dst(
    calendar: str, midnight: str, next_midnight: str, hours: int
) -> None:
    """Local midnight to midnight over a DST change is 25 or 23 real hours; 24h is real time."""
    cal = loads_policies(ALL_DAY).calendars.get(calendar) or AlwaysOpen()
    start, end = parse_instant(midnight), parse_instant(next_midnight)
    assert cal.between(start, end) == hours * 3600
    assert cal.add(start, 24 * 3600) == start + 24 * 3600


def test_holiday_providers_keep_their_dates_built_and_pickled() -> None:
    # Compiled, a provider once lost its state when built from Python; both pickle as
    # their constructor call, in either mode.
    import pickle

    from slaengine.calendar import country_holidays

    yearly = YearlyHolidays([(12, 25), (1, 1)], [((12, 31), (1, 1))])
    assert yearly.days == ((1, 1), (12, 25))
    again = pickle.loads(pickle.dumps(yearly))
    assert again(range(2025, 2026)) == yearly(range(2025, 2026))
    assert dt.date(2025, 12, 25) in again(range(2025, 2026))
    provider = pickle.loads(pickle.dumps(country_holidays("DE", "BY")))
    assert repr(provider) == "holidays(DE-BY)"
