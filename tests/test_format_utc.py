"""``format_utc``: ISO 8601 UTC text ending in ``Z``, four-digit years from year 1 to 9999."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaengine.calendar import format_utc

# The first and the last second a datetime holds, in epoch seconds.
FIRST = -62_135_596_800
LAST = 253_402_300_799


def _iso(t: int) -> str:
    # The standard library's text of the same instant.
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=t)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (FIRST, "0001-01-01T00:00:00Z"),
        (-30_610_224_001, "0999-12-31T23:59:59Z"),
        (-30_610_224_000, "1000-01-01T00:00:00Z"),
        (-59_011_459_200, "0100-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (0, "1970-01-01T00:00:00Z"),
        (1_764_777_600, "2025-12-03T16:00:00Z"),
        (LAST, "9999-12-31T23:59:59Z"),
    ],
)
def test_years_have_four_digits(t, text):
    assert format_utc(t) == text
    assert dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() == t


@given(st.integers(min_value=FIRST, max_value=LAST))
def test_any_instant_is_the_standard_librarys_text(t):
    assert format_utc(t) == _iso(t)
