"""A clock instance's real-time windows, kept as integers on the instance (RawClock)."""

from __future__ import annotations

from typing import Any

import pytest

from slaengine.clock_walk import RawClock
from slaengine.timeline import Event

CREATED = Event("T1", 1_000, "created")
REOPEN = Event("T1", 5_000, "status", status="open")
MESSAGE = Event("T1", 7_000, "message", author="customer")


@pytest.fixture
def clock() -> RawClock:
    metric: Any = object()  # the windows never read the metric
    return RawClock(metric, 1, 1_000, 1_000, -1, CREATED)


def test_a_new_instance_runs_in_one_window(clock: RawClock) -> None:
    assert clock.running
    assert clock.windows() == [(1_000, -1)]


def test_a_stop_closes_the_window_and_a_resume_opens_another(clock: RawClock) -> None:
    clock.switch_off(2_000, "solved", 1, None)
    assert not clock.running
    assert clock.windows() == [(1_000, 2_000)]
    clock.switch_on(5_000, REOPEN)
    clock.switch_off(6_000, "solved", 1, None)
    clock.switch_on(8_000, REOPEN)
    assert clock.running
    assert clock.stop_reason is None
    assert clock.windows() == [(1_000, 2_000), (5_000, 6_000), (8_000, -1)]
    assert clock.start == 1_000  # the first window's start, whatever came after


def test_a_resume_before_the_deferred_start_resumes_at_it() -> None:
    metric: Any = object()
    clock = RawClock(metric, 1, 4_000, 4_000, -1, CREATED)  # starts at the first open minute
    clock.switch_off(4_000, "solved", 1, None)  # solved before it started
    clock.switch_on(3_000, REOPEN)
    assert clock.windows() == [(4_000, 4_000), (4_000, -1)]


def test_a_restart_counts_from_the_new_instant_in_one_window(clock: RawClock) -> None:
    clock.switch_off(2_000, "solved", 1, None)
    clock.switch_on(5_000, REOPEN)
    clock.restart(7_000, MESSAGE)
    assert clock.windows() == [(7_000, -1)]
    assert (clock.start, clock.start_event) == (7_000, MESSAGE)
