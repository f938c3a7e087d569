"""Shared fixtures: small business-hours calendars named for what they provide; logging isolation.

The command-line fixtures (``run_cli``, ``at_repo_root``) live in ``cli_support``.

Every fixture builds a fresh calendar, so each test starts from an empty interval
table and exercises the lazy compilation from its own first query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence

import pytest
import structlog

from cli_support import at_repo_root, run_cli  # noqa: F401 (fixtures)
from slaengine.calendar import Shift, WeeklyCalendar, country_holidays


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Each test gets the logging set-up it started with: a command run by one test
    configures structlog (a warning-level filter), which must not hide the next
    test's info lines from ``capture_logs``."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


MON_FRI = range(5)
EVERY_DAY = range(7)
NINE_TO_FIVE = Shift(9 * 60, 17 * 60)

MakeCalendar = Callable[..., WeeklyCalendar]


def _build(
    timezone: str,
    shifts: Sequence[Shift] = (NINE_TO_FIVE,),
    days: Iterable[int] = MON_FRI,
    holidays: Iterable[dt.date] = (),
    holiday_providers: Sequence[Callable[[range], Iterable[dt.date]]] = (),
    name: str = "test",
) -> WeeklyCalendar:
    return WeeklyCalendar(
        name,
        timezone,
        {day: list(shifts) for day in days},
        holidays=holidays,
        holiday_providers=holiday_providers,
    )


@pytest.fixture
def make_calendar() -> MakeCalendar:
    """Factory: ``make_calendar(zone, shifts=(9-17,), days=mon-fri, holidays=(), ...)``."""
    return _build


@pytest.fixture
def calendar_9to5() -> WeeklyCalendar:
    """Europe/Berlin, Monday to Friday 09:00-17:00, no holidays."""
    return _build("Europe/Berlin", name="berlin-9to5")


@pytest.fixture
def calendar_9to5_de_be() -> WeeklyCalendar:
    """Europe/Berlin, Monday to Friday 09:00-17:00, public holidays of Berlin (DE-BE)."""
    return _build(
        "Europe/Berlin", holiday_providers=[country_holidays("DE", "BE")], name="berlin-de-be"
    )


@pytest.fixture
def calendar_ny_9to5_us() -> WeeklyCalendar:
    """America/New_York, Monday to Friday 09:00-17:00, US federal holidays."""
    return _build(
        "America/New_York", holiday_providers=[country_holidays("US")], name="new-york-us"
    )


@pytest.fixture
def calendar_split() -> WeeklyCalendar:
    """Europe/Berlin, Monday to Friday 09:00-12:00 and 13:00-17:00 (lunch break)."""
    return _build(
        "Europe/Berlin", shifts=(Shift(9 * 60, 12 * 60), Shift(13 * 60, 17 * 60)), name="split"
    )


@pytest.fixture
def calendar_nights() -> WeeklyCalendar:
    """Europe/Berlin, every night 22:00 to 06:00 next morning, written with end > 24:00."""
    return _build(
        "Europe/Berlin", shifts=(Shift(22 * 60, (6 + 24) * 60),), days=EVERY_DAY, name="nights"
    )


@pytest.fixture
def calendar_full_weekdays() -> WeeklyCalendar:
    """Europe/Berlin, Monday to Friday 00:00-24:00 (adjacent days must merge)."""
    return _build("Europe/Berlin", shifts=(Shift(0, 24 * 60),), name="full-weekdays")
