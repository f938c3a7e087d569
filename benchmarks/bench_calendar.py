"""Micro-benchmark: calls per second of WeeklyCalendar.between() and add().

Berlin, Monday to Friday 09:00-17:00, German public holidays, random instants in
2024-2026 (seeded). The table is compiled once before timing, so the figures are
the steady-state cost of a query: a binary search plus prefix-sum arithmetic.

Run: python3 benchmarks/bench_calendar.py
"""

from __future__ import annotations

import datetime as dt
import random
import time

from slaengine.calendar import Shift, WeeklyCalendar, country_holidays

N = 200_000
T0 = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
T1 = int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())


def main() -> None:
    """Time the calendar queries and print calls per second."""
    cal = WeeklyCalendar(
        "berlin-9to5-de",
        "Europe/Berlin",
        {day: [Shift(9 * 60, 17 * 60)] for day in range(5)},
        holiday_providers=[country_holidays("DE")],
    )
    rng = random.Random(20240229)
    starts = [rng.randrange(T0, T1) for _ in range(N)]
    ends = [s + rng.randrange(0, 30 * 86400) for s in starts]
    durations = [rng.randrange(0, 5 * 8 * 3600) for _ in range(N)]

    compile_start = time.perf_counter()
    cal.between(T0, T1 + 60 * 86400)  # compiles 2023-2027: every query below hits the table
    compile_s = time.perf_counter() - compile_start

    between = cal.between
    began = time.perf_counter()
    for a, b in zip(starts, ends, strict=True):
        between(a, b)
    between_s = time.perf_counter() - began

    add = cal.add
    began = time.perf_counter()
    for a, d in zip(starts, durations, strict=True):
        add(a, d)
    add_s = time.perf_counter() - began

    print(f"table compile (5 years): {compile_s * 1000:.1f} ms")
    print(f"between(): {N / between_s:,.0f} calls/s ({between_s / N * 1e6:.2f} us/call)")
    print(f"add():     {N / add_s:,.0f} calls/s ({add_s / N * 1e6:.2f} us/call)")


if __name__ == "__main__":
    main()
