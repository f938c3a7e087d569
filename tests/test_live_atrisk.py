"""The at-risk queue: open clocks recorded at each advance, queried soonest first.

Runs on SQLite and PostgreSQL. Chat clocks have a 1h first-response target
counted round the clock, so a chat ticket created at minute m is due at m + 60.
"""

from __future__ import annotations

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    route_all,
    state_url_fixture,
    store_fixture,
)
from slaengine.live import LiveEngine
from slaengine.live.atrisk import parse_window


@pytest.fixture
def engine(live_policies, store):
    engine = LiveEngine(live_policies, store, route_all)
    engine.ingest(
        [
            created("T-late", 30, group="billing", assignee="ana"),
            created("T-early", 0, group="billing", assignee="ben"),
            created("T-mid", 10, group="tech", assignee="ana"),
            created("T-none", 20),
            created("T-paused", 5, group="tech"),
            event("T-paused", 6, "status", status="on_hold"),
            created("T-done", 0, group="tech"),
            reply("T-done", 3),
        ],
        at(0),
    )
    engine.advance(at(40))
    return engine


def tickets(clocks):
    return [clock.ticket for clock in clocks]


def test_running_clocks_soonest_first_paused_and_stopped_left_out(engine):
    queue = engine.store.at_risk(at(40) + 3600)
    assert tickets(queue) == ["T-early", "T-mid", "T-none", "T-late"]
    first = queue[0]
    assert (first.metric, first.instance, first.state, first.due) == (
        "first_response",
        1,
        "active",
        at(60),
    )
    assert (first.policy, first.priority, first.channel) == ("chat", "normal", "chat")
    assert (first.group, first.assignee) == ("billing", "ben")
    # The paused clock is open (the ticket's clocks show it) but waits for the customer.
    assert [c.state for c in engine.store.open_clocks("T-paused")] == ["paused"]
    assert engine.store.open_clocks("T-done") == []


def test_window_group_agent_and_limit(engine):
    assert tickets(engine.store.at_risk(at(75))) == ["T-early", "T-mid"]
    assert tickets(engine.store.at_risk(at(200), group="billing")) == ["T-early", "T-late"]
    assert tickets(engine.store.at_risk(at(200), agent="ana")) == ["T-mid", "T-late"]
    assert tickets(engine.store.at_risk(at(200), group="tech", agent="ana")) == ["T-mid"]
    assert tickets(engine.store.at_risk(at(200), limit=1)) == ["T-early"]
    assert engine.store.at_risk(at(59)) == []


def test_overdue_clocks_stay_in_the_queue_until_they_stop(engine):
    engine.advance(at(65))
    queue = engine.store.at_risk(at(65))
    assert tickets(queue) == ["T-early"]
    assert queue[0].state == "breached"
    assert queue[0].to_dict(at(65))["overdue"] is True
    assert queue[0].to_dict(at(65))["due_in_seconds"] == -300
    engine.ingest([reply("T-early", 66)], at(66))
    engine.advance(at(67))
    assert tickets(engine.store.at_risk(at(67))) == []


def test_an_event_changes_the_queue_at_the_next_advance(engine):
    engine.ingest([event("T-late", 41, "update", assignee="ben", group="tech")], at(41))
    # Not yet: the table holds what the last advance saw.
    assert engine.store.at_risk(at(200), agent="ben")[-1].ticket == "T-early"
    engine.advance(at(42))
    assert tickets(engine.store.at_risk(at(200), agent="ben")) == ["T-early", "T-late"]
    assert tickets(engine.store.at_risk(at(200), group="tech")) == ["T-mid", "T-late"]


def test_clock_counts_by_group(engine):
    counts = engine.store.clock_counts(at(65), [10 * 60, 3600])
    by_group = {c.group: (c.overdue, c.due_within) for c in counts}
    # At 65 (as of the advance at 40): T-early overdue; T-mid due at 70; T-none 80; T-late 90.
    assert by_group == {
        None: (0, (0, 1)),
        "billing": (1, (0, 1)),
        "tech": (0, (1, 1)),
    }
    assert [c.group for c in counts] == [None, "billing", "tech"]
    assert engine.store.open_clock_total() == 5


@pytest.mark.parametrize(
    ("window", "seconds"),
    [
        ("2h", 7200),
        ("30m", 1800),
        ("90", 90),
        (90, 90),
        ("3d", 3 * 86_400),
        ("5000d", 5000 * 86_400),
        ("1d12h", 36 * 3600),
        ("2w", 14 * 86_400),
        ("1 day", 86_400),
        ("1w2d3h4m5s", (9 * 24 + 3) * 3600 + 4 * 60 + 5),
    ],
)
def test_a_window_is_wall_clock_time_and_takes_days(window, seconds):
    assert parse_window(window) == seconds


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ("soon", "expected a duration like 30m, 2h or 3d"),
        ("-5m", "expected a duration"),
        ("2h3d", "expected a duration"),  # largest unit first
        ("", "expected a duration"),
        ("0d", "longer than zero"),
        (0, "longer than zero"),
        (True, "expected a duration"),
        ("40000d", "at most 36,525d"),
        ("9" * 40, "at most 36,525d"),
    ],
)
def test_a_bad_window_says_what_was_expected(window, problem):
    with pytest.raises(ValueError, match=problem):
        parse_window(window)
