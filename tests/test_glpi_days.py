"""GLPI's rules for time counted in days, on timelines built from its documented behaviour.

- A due in working days ("work in days") moves by the time a ticket waited: GLPI adds the
  waiting time, counted in the calendar's working hours, to the due it computed in days, in
  its working-hours walk (a delay that uses up a day exactly ends at the next opening). Time
  spent solved or closed before a reopen counts as waiting.
- An escalation level of whole days before the due counts working days back from the due,
  keeping its time of day, no later than that day's last working hour.

The calendar is GLPI's office (UTC): Monday to Friday 08:00-18:00, Saturday 09:00-12:00.
Monday is 1 December 2025.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.day_targets import days_before
from slaengine.errors import PolicyError
from slaengine.policy import loads_policies
from test_semantics import clocks, event, policy, run, t

OFFICE = """
calendars:
  glpi-office:
    timezone: UTC
    hours: {mon-fri: ["08:00-18:00"], sat: ["09:00-12:00"]}
"""
WEEKDAYS = """
calendars:
  glpi-office:
    timezone: UTC
    hours: {mon-fri: ["08:00-18:00"]}
"""


def day(n: int, hhmm: str) -> str:
    """``hhmm`` on the ``n``-th of December 2025 (1 is a Monday)."""
    return f"2025-12-{n:02d}T{hhmm}:00Z"


def waiting(start: str, end: str) -> list[dict[str, object]]:
    return [event(start, "status", status="pending"), event(end, "status", status="open")]


# -- the due of a target in days after waiting -----------------------------------------

PRESET = "semantics: glpi"


@pytest.mark.parametrize(
    ("rules", "target", "events", "due"),
    [
        pytest.param(
            # 1 day from Monday 10:00 is Tuesday 10:00; waiting Monday 11:00 to Tuesday 09:00
            # is 8 working hours, the rest of Tuesday exactly: the next opening.
            PRESET,
            "1 working day",
            [event(day(1, "10:00"), "created"), *waiting(day(1, "11:00"), day(2, "09:00"))],
            day(3, "08:00"),
            id="uses-up-the-day",
        ),
        pytest.param(
            # The same without the preset's due_at_closing: the closing instant.
            "",
            "{targets: 1 working day, day_targets: keep_time}",
            [event(day(1, "10:00"), "created"), *waiting(day(1, "11:00"), day(2, "09:00"))],
            day(2, "18:00"),
            id="closing-without-the-preset",
        ),
        pytest.param(
            # Friday 10:00 + 1 day is Saturday 10:00; one hour of waiting: Saturday 11:00.
            PRESET,
            "1 working day",
            [event(day(5, "10:00"), "created"), *waiting(day(5, "11:00"), day(5, "12:00"))],
            day(6, "11:00"),
            id="short-saturday",
        ),
        pytest.param(
            # Two hours of waiting use up Saturday's last two hours: Monday's opening.
            PRESET,
            "1 working day",
            [event(day(5, "10:00"), "created"), *waiting(day(5, "11:00"), day(5, "13:00"))],
            day(8, "08:00"),
            id="saturday-used-up",
        ),
        pytest.param(
            # Friday 14:00 + 1 day is Saturday 12:00 (its last working hour); an hour of
            # waiting carries over to Monday.
            PRESET,
            "1 working day",
            [event(day(5, "14:00"), "created"), *waiting(day(5, "15:00"), day(5, "16:00"))],
            day(8, "09:00"),
            id="from-a-clamped-end",
        ),
        pytest.param(
            # Solved at 12:00 and reopened at 14:00: two hours of waiting (GLPI counts the
            # time solved before a reopen as waiting).
            PRESET,
            "1 working day",
            [
                event(day(1, "10:00"), "created"),
                event(day(1, "12:00"), "status", status="solved"),
                event(day(1, "14:00"), "status", status="open"),
            ],
            day(2, "12:00"),
            id="reopen",
        ),
        pytest.param(
            # End of working day: Tuesday 18:00; an hour of waiting is Wednesday 09:00.
            PRESET,
            "{targets: 1 working day, day_targets: end_of_working_day}",
            [event(day(1, "10:00"), "created"), *waiting(day(1, "11:00"), day(1, "12:00"))],
            day(3, "09:00"),
            id="end-of-working-day",
        ),
    ],
)
def test_waiting_moves_a_due_in_days(
    rules: str, target: str, events: list[dict[str, object]], due: str
) -> None:
    metric = target if target.startswith("{") else f"{{targets: {target}}}"
    metric = metric[:-1] + ", pause_when: [pending]}"
    text = policy(rules, f"resolution: {metric}", "glpi-office", OFFICE)
    res = clocks(run(text, events, day(9, "12:00")))["resolution", 1]
    assert res.due == t(due)


def test_waiting_due_agrees_with_the_verdict() -> None:
    # Due Wednesday 08:00 (above): solved at Tuesday 18:00 it is met, with no time left
    # (GLPI: solved before the due); solved Wednesday 09:00 it is late.
    text = policy(PRESET, "resolution: {targets: 1 working day}", "glpi-office", OFFICE)
    base = [event(day(1, "10:00"), "created"), *waiting(day(1, "11:00"), day(2, "09:00"))]
    met = clocks(
        run(text, [*base, event(day(2, "18:00"), "status", status="solved")], day(4, "00:00"))
    )
    late = clocks(
        run(text, [*base, event(day(3, "09:00"), "status", status="solved")], day(4, "00:00"))
    )
    assert (met["resolution", 1].state, met["resolution", 1].due) == (
        "achieved",
        t(day(3, "08:00")),
    )
    assert (late["resolution", 1].state, late["resolution", 1].due) == (
        "breached",
        t(day(3, "08:00")),
    )


def test_no_due_while_waiting() -> None:
    text = policy(PRESET, "resolution: {targets: 1 working day}", "glpi-office", OFFICE)
    events = [event(day(1, "10:00"), "created"), event(day(1, "11:00"), "status", status="pending")]
    res = clocks(run(text, events, day(1, "15:00")))["resolution", 1]
    assert (res.state, res.due) == ("paused", None)


# -- escalation levels of whole days before the due ---------------------------------------


@pytest.mark.parametrize(
    ("hours", "created", "levels"),
    [
        # 3 days from Thursday 13:00 (Friday, Saturday, Monday) is Monday 13:00; -1 day is
        # Saturday 13:00, no later than its last working hour: 12:00; -2 days Friday 13:00.
        (OFFICE, day(4, "13:00"), [day(5, "13:00"), day(6, "12:00"), day(8, "10:00")]),
        # Without Saturday hours 3 days from Wednesday 13:00 is Monday 13:00; -1 day is
        # Friday 13:00, -2 days Thursday 13:00.
        (WEEKDAYS, day(3, "13:00"), [day(4, "13:00"), day(5, "13:00"), day(8, "10:00")]),
    ],
    ids=["short-saturday", "weekdays"],
)
def test_levels_in_working_days_before_the_due(hours: str, created: str, levels: list[str]) -> None:
    text = policy(
        "",
        "resolution:\n  targets: 3 working days\n  day_targets: keep_time\n"
        "  warn_at: [{before: 1 working day, notify: [lead]}, {before: 2wd, notify: [team]},"
        " {before: 3h, notify: [agent]}]",
        "glpi-office",
        hours,
    )
    res = clocks(run(text, [event(created, "created")], created))["resolution", 1]
    assert res.due == t(day(8, "13:00"))
    assert [(a.level, a.at, a.notify) for a in res.alerts] == [
        (1, t(levels[0]), ("team",)),
        (2, t(levels[1]), ("lead",)),
        (3, t(levels[2]), ("agent",)),  # 3 working hours before it (in time, not days)
    ]


def test_level_in_days_follows_the_due_after_waiting() -> None:
    # 2 days from Monday 10:00 is Wednesday 10:00; waiting Monday 11:00-12:00 moves it to
    # 11:00 and the level one day before it to Tuesday 11:00. While waiting there is none.
    text = policy(
        PRESET,
        "resolution: {targets: 2 working days, warn_at: [{before: 1 working day}]}",
        "glpi-office",
        OFFICE,
    )
    events = [event(day(1, "10:00"), "created"), *waiting(day(1, "11:00"), day(1, "12:00"))]
    res = clocks(run(text, events, day(1, "13:00")))["resolution", 1]
    assert (res.due, [a.at for a in res.alerts]) == (t(day(3, "11:00")), [t(day(2, "11:00"))])
    paused = clocks(run(text, events[:2], day(1, "11:30")))["resolution", 1]
    assert [a.at for a in paused.alerts] == [None]


def test_level_in_days_not_reached_when_solved_before() -> None:
    text = policy(
        PRESET,
        "resolution: {targets: 2 working days, warn_at: [{before: 1 working day}]}",
        "glpi-office",
        OFFICE,
    )
    created = event(day(1, "10:00"), "created")
    solved = [created, event(day(2, "09:00"), "status", status="solved")]
    assert [a.at for a in clocks(run(text, solved, day(3, "12:00")))["resolution", 1].alerts] == [
        None
    ]
    later = [created, event(day(2, "12:00"), "status", status="solved")]
    assert [a.at for a in clocks(run(text, later, day(3, "12:00")))["resolution", 1].alerts] == [
        t(day(2, "10:00"))
    ]


def test_level_in_days_before_the_start_is_at_the_start() -> None:
    # Time to resolve 4 h from Monday 09:00 is due 13:00; a level 1 day before it would be
    # Saturday 12:00, before the ticket: it is reached when the clock starts.
    text = policy(
        "", "resolution: {targets: 4h, warn_at: [{before: 1 working day}]}", "glpi-office", OFFICE
    )
    res = clocks(run(text, [event(day(8, "09:00"), "created")], day(8, "10:00")))["resolution", 1]
    assert [a.at for a in res.alerts] == [t(day(8, "09:00"))]


def test_days_before_a_due_on_a_closed_day() -> None:
    # GLPI counts back from the first working hour of the working day before a closed day:
    # Sunday 10:00 -> Saturday 09:00 -> one day back, Friday 09:00.
    office = loads_policies(policy("", "resolution: {targets: 1h}", "glpi-office", OFFICE))
    calendar = office.calendars["glpi-office"]
    assert days_before(calendar, t(day(7, "10:00")), 1) == t(day(5, "09:00"))
    # Only a time after the day's last working hour is moved: Saturday 08:00 stays.
    assert days_before(calendar, t(day(8, "08:00")), 1) == t(day(6, "08:00"))


def test_escalation_after_days_counts_from_the_due_at_the_next_opening() -> None:
    # GLPI G-3: time to own 2 h from Monday 16:00 is due Tuesday 08:00 (the next opening);
    # a level at +1 day runs one working day after that due: Wednesday 08:00.
    text = policy(
        PRESET,
        "first_response: {targets: 2h, escalations: [{after: 1 working day}]}",
        "glpi-office",
        WEEKDAYS,
    )
    fr = clocks(run(text, [event(day(1, "16:00"), "created")], day(1, "17:00")))[
        "first_response", 1
    ]
    assert (fr.due, [a.at for a in fr.alerts]) == (t(day(2, "08:00")), [t(day(3, "08:00"))])


def test_level_in_days_given_twice_is_refused() -> None:
    text = policy(
        "",
        "resolution:\n  targets: 3 working days\n  day_targets: keep_time\n"
        "  warn_at: [{before: 1 working day}, {before: 1wd}]",
        "glpi-office",
        OFFICE,
    )
    with pytest.raises(PolicyError) as caught:
        loads_policies(text, "p.yaml")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "E211",
        "a warning 1 working day before the target is given twice",
    )
    line = text.splitlines()[problem.line - 1]
    assert problem.column == line.index("1wd") + 1


# -- the moved due never changes a verdict -------------------------------------------------

_MONDAY = t(day(1, "00:00"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    created=st.integers(0, 6 * 24 * 4 - 1),
    days=st.integers(1, 3),
    mode=st.sampled_from(["keep_time", "end_of_working_day"]),
    waits=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), max_size=3),
    preset=st.booleans(),
)
def test_due_after_waiting_is_where_the_target_is_used_up(
    created: int, days: int, mode: str, waits: list[tuple[int, int]], preset: bool
) -> None:
    # Quarter hours from Monday 00:00; each wait starts some quarters after the last event.
    text = policy(
        PRESET if preset else "",
        f"resolution: {{targets: {days} working days, day_targets: {mode}, pause_when: [pending]}}",
        "glpi-office",
        OFFICE,
    )
    at = _MONDAY + created * 900
    events = [event(_iso(at), "created")]
    for gap, length in waits:
        at += gap * 900
        events.append(event(_iso(at), "status", status="pending"))
        at += length * 900
        events.append(event(_iso(at), "status", status="open"))
    res = clocks(run(text, events, _iso(at)))["resolution", 1]
    assert res.due is not None
    calendar = loads_policies(text).calendars["glpi-office"]
    if res.due > at:  # the waits ended before it: at the due exactly the target is used up
        on_time = clocks(run(text, events, _iso(res.due)))["resolution", 1]
        assert (on_time.elapsed, on_time.state) == (on_time.target, "active")
        one_more = calendar.next_open(res.due) + 1
        assert clocks(run(text, events, _iso(one_more)))["resolution", 1].state == "breached"


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
