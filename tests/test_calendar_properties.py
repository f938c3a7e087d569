"""Property-based tests of calendar arithmetic invariants (hypothesis).

Calendars are random: a zone from a small list (with and without DST, whole and
half-hour offsets), up to two shifts a weekday on half-hour steps (so shift edges
fall into DST gaps and repeated hours; overnight shifts written both as end > 24:00
and as end before start), and random holidays. Instants range over 2024-2026.

Compiled calendars are cached by their parameters, so a calendar met again keeps
its interval table and later examples query it in arbitrary year order (which
exercises table growth backwards and forwards).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.calendar import AlwaysOpen, BusinessCalendar, Shift, WeeklyCalendar

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Asia/Kolkata",
)
FIXED_OFFSET = {"UTC": 0, "Asia/Kolkata": 5 * 3600 + 30 * 60}
FIRST_YEAR, LAST_YEAR = 2024, 2026
T0 = int(dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
T1 = int(dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.UTC).timestamp())
DAY = 86400
MAX_DURATION = 2 * DAY  # open seconds; at least an hour a week is open, so < a year ahead

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

ShiftKey = tuple[int, int]
CalendarKey = tuple[str, tuple[tuple[ShiftKey, ...], ...], frozenset[dt.date]]


@st.composite
def shifts(draw: st.DrawFn) -> ShiftKey:
    start = draw(st.integers(0, 47)) * 30
    end = start + draw(st.integers(2, 48)) * 30  # 1 h to 24 h
    if end > 1440 and draw(st.booleans()):
        end -= 1440  # the same overnight shift, written as 22:00-06:00
    return (start, end)


@st.composite
def calendar_keys(draw: st.DrawFn) -> CalendarKey:
    zone = draw(st.sampled_from(ZONES))
    week = draw(st.lists(st.lists(shifts(), max_size=2), min_size=7, max_size=7).filter(any))
    holidays = draw(
        st.frozensets(
            st.dates(dt.date(FIRST_YEAR - 1, 12, 1), dt.date(LAST_YEAR + 1, 1, 31)), max_size=30
        )
    )
    return (zone, tuple(tuple(day) for day in week), holidays)


@lru_cache(maxsize=256)
def build(key: CalendarKey) -> WeeklyCalendar:
    zone, week, holidays = key
    return WeeklyCalendar(
        "random",
        zone,
        {day: [Shift(a, b) for a, b in week[day]] for day in range(7)},
        holidays=holidays,
    )


calendars = calendar_keys().map(build)
instants = st.integers(T0, T1)
durations = st.integers(0, MAX_DURATION)


@PROPERTY
@given(calendars, instants, durations)
def test_add_then_between_gives_back_the_duration(
    cal: WeeklyCalendar, start: int, seconds: int
) -> None:
    due = cal.add(start, seconds)
    assert due >= start
    assert cal.between(start, due) == seconds
    if seconds > 0:
        # Earliest such instant: one second less is one open second short, and the
        # last second before the due time was open.
        assert cal.between(start, due - 1) == seconds - 1
        assert cal.is_open(due - 1)
    else:
        assert due == start


@PROPERTY
@given(calendars, instants, instants, st.integers(-DAY, 400 * DAY))
def test_measure_is_between_and_add_at_once(
    cal: WeeklyCalendar, start: int, end: int, seconds: int
) -> None:
    # The clocks' one call for elapsed and due: the same as the two it stands for, with
    # end before start, durations past the compiled years (the table grows) and none.
    expected = (cal.between(start, end), cal.add(start, seconds))
    assert cal.measure(start, end, seconds) == expected
    always = AlwaysOpen()
    assert always.measure(start, end, seconds) == (
        always.between(start, end),
        always.add(start, seconds),
    )


@PROPERTY
@given(
    calendars,
    st.lists(st.integers(T0, T1), max_size=8).map(sorted),
    st.integers(-DAY, 60 * DAY),
)
def test_measure_spans_counts_each_span_and_finds_the_due_in_them(
    cal: WeeklyCalendar, instants: list[int], seconds: int
) -> None:
    # Ordered spans, some empty (a repeated instant); the due where the running count
    # of open time reaches ``seconds``, as between and add find it span by span.
    spans = list(zip(instants[::2], instants[1::2], strict=False))
    counted, due = 0, None
    for a, b in spans:
        length = cal.between(a, b)
        if due is None and counted + length >= seconds:
            due = cal.add(a, seconds - counted)
        counted += length
    assert cal.measure_spans(spans, seconds) == (counted, due)
    always = AlwaysOpen()  # its own arithmetic against the general loop over its calls
    assert always.measure_spans(spans, seconds) == BusinessCalendar.measure_spans(
        always, spans, seconds
    )


def test_measure_beyond_the_compiled_years_grows_the_table() -> None:
    # A fresh calendar compiles the years around its first query; a due two years on
    # lies past them, so measure must fall back to add, which extends the table.
    week = {day: [Shift(9 * 60, 17 * 60)] for day in range(5)}
    start = int(dt.datetime(2025, 6, 2, 9, tzinfo=dt.UTC).timestamp())
    fresh = WeeklyCalendar("fresh", "UTC", week)
    reference = WeeklyCalendar("reference", "UTC", week)
    two_years = 2 * 52 * 5 * 8 * 3600
    assert fresh.is_open(start)  # compiles 2024 to 2026: start and end inside, the due not
    elapsed, due = fresh.measure(start, start + 3600, two_years)
    assert (elapsed, due) == (3600, reference.add(start, two_years))
    assert dt.datetime.fromtimestamp(due, dt.UTC).year == 2027


@PROPERTY
@given(calendars, instants, instants, durations, durations)
def test_add_is_monotonic_in_start_and_duration(
    cal: WeeklyCalendar, s1: int, s2: int, d1: int, d2: int
) -> None:
    s1, s2 = sorted((s1, s2))
    d1, d2 = sorted((d1, d2))
    assert cal.add(s1, d1) <= cal.add(s1, d2)
    assert cal.add(s1, d1) <= cal.add(s2, d1)


@PROPERTY
@given(calendars, instants, instants, instants)
def test_between_is_additive_and_bounded(cal: WeeklyCalendar, a: int, b: int, c: int) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)
    assert 0 <= cal.between(a, b) <= b - a
    if b > a:
        assert cal.between(b, a) == 0


@PROPERTY
@given(calendars, instants)
def test_is_open_agrees_with_between_and_open_intervals(cal: WeeklyCalendar, t: int) -> None:
    inside = any(a <= t < b for a, b in cal.open_intervals(t - DAY, t + DAY))
    assert cal.is_open(t) is inside
    assert (cal.between(t, t + 1) == 1) is inside


@PROPERTY
@given(calendars, instants, st.integers(0, 20 * DAY))
def test_open_intervals_are_ordered_disjoint_and_sum_to_between(
    cal: WeeklyCalendar, start: int, length: int
) -> None:
    end = start + length
    intervals = cal.open_intervals(start, end)
    for a, b in intervals:
        assert start <= a < b <= end
    for (_, b1), (a2, _) in pairwise(intervals):
        assert b1 < a2  # touching intervals are merged
    assert sum(b - a for a, b in intervals) == cal.between(start, end)


@PROPERTY
@given(calendar_keys(), instants, durations)
def test_holidays_never_bring_a_due_time_forward(
    key: CalendarKey, start: int, seconds: int
) -> None:
    zone, week, _ = key
    with_holidays, without = build(key), build((zone, week, frozenset()))
    assert with_holidays.add(start, seconds) >= without.add(start, seconds)
    end = start + seconds
    assert with_holidays.between(start, end) <= without.between(start, end)


def _oracle_between(key: CalendarKey, start: int, end: int) -> int:
    """Open seconds in [start, end) for a fixed-offset zone, straight from the rules."""
    zone, week, holidays = key
    offset = FIXED_OFFSET[zone]
    first = dt.datetime.fromtimestamp(start + offset, dt.UTC).date() - dt.timedelta(days=1)
    last = dt.datetime.fromtimestamp(end + offset, dt.UTC).date()
    raw: list[tuple[int, int]] = []
    day = first
    while day <= last:
        if day not in holidays:
            midnight = (day - dt.date(1970, 1, 1)).days * DAY - offset
            for a, b in week[day.weekday()]:
                b_min = b if b > a else b + 1440
                raw.append((midnight + a * 60, midnight + b_min * 60))
        day += dt.timedelta(days=1)
    total, covered_to = 0, start
    for a, b in sorted(raw):
        lo, hi = max(a, covered_to), min(b, end)
        if hi > lo:
            total += hi - lo
            covered_to = hi
    return total


@PROPERTY
@given(
    calendar_keys().filter(lambda key: key[0] in FIXED_OFFSET), instants, st.integers(0, 9 * DAY)
)
def test_between_matches_a_direct_count_in_fixed_offset_zones(
    key: CalendarKey, start: int, length: int
) -> None:
    assert build(key).between(start, start + length) == _oracle_between(key, start, start + length)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.integers(-(10**11), 10**11), st.integers(0, 10**9))
def test_always_open_is_identity_arithmetic(start: int, seconds: int) -> None:
    cal = AlwaysOpen()
    end = start + seconds
    assert cal.add(start, seconds) == end
    assert cal.between(start, end) == seconds
    assert cal.between(end, start) == 0
    assert cal.is_open(start)
    assert cal.open_intervals(start, end) == ([(start, end)] if seconds else [])


@PROPERTY
@given(calendars, instants)
def test_next_open_is_the_first_open_instant(cal: WeeklyCalendar, t: int) -> None:
    """next_open(t) is open, no open second lies before it from t, and it is t when t is open."""
    first = cal.next_open(t)
    assert first >= t
    assert cal.is_open(first)
    assert cal.between(t, first) == 0
    assert (first == t) is cal.is_open(t)
