"""Clock rules for every metric, as tables of timelines and expected results.

Times are minutes after T0 (Monday 2025-12-01 10:00 UTC) unless an ISO string is given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

import slaengine
from slaengine.calendar import format_utc, to_epoch
from slaengine.clocks import ClockResult
from slaengine.event_parsing import parse_event, parse_instant

T0 = parse_instant("2025-12-01T10:00:00Z")

POLICIES = """
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: ["2025-12-24"]
policies:
  - name: round-the-clock
    match: {channel: chat}
    calendar: 24x7
    metrics:
      first_response: {targets: {urgent: 15m, high: 30m, normal: 1h, low: 4h}}
      next_response: {targets: 1h}
      periodic_update: {targets: 2h, pause_when: [pending]}
      resolution:
        targets: {urgent: 4h, high: 8h, normal: 24h, low: 72h}
        pause_when: [pending, on_hold]
  - name: bots-count
    match: {channel: whatsapp}
    bot_replies_count: true
    metrics:
      first_response: {targets: 1h}
  - name: office
    match: {channel: email}
    calendar: office
    metrics:
      first_response: {targets: 2h, pause_when: [on_hold]}
      resolution: {targets: 16h, pause_when: [pending], calendar: 24x7}
"""


@pytest.fixture(scope="module")
def policies() -> slaengine.PolicySet:
    return slaengine.loads_policies(POLICIES, "test.yaml")


def _at(when: int | str) -> str:
    return format_utc(T0 + when * 60) if isinstance(when, int) else when


def make_timeline(
    *steps: tuple[Any, ...], channel: str = "chat", priority: str = "normal", status: str = "new"
) -> list[dict[str, Any]]:
    """Event dicts: a created event at minute 0, then (when, type, fields) steps."""
    events = [
        {
            "ticket": "T",
            "at": _at(0),
            "type": "created",
            "channel": channel,
            "priority": priority,
            "status": status,
        }
    ]
    for when, kind, *rest in steps:
        fields = rest[0] if rest else {}
        events.append({"ticket": "T", "at": _at(when), "type": kind, **fields})
    return events


AGENT = {"author": "agent", "agent": "ada"}
CUSTOMER = {"author": "customer"}


def clocks_at(
    policies: slaengine.PolicySet, events: list[dict[str, Any]], now: int | str
) -> dict[tuple[str, int], ClockResult]:
    parsed = [parse_event(e, seq=i) for i, e in enumerate(events)]
    timelines = slaengine.build_timelines(parsed)
    assert not timelines.problems
    now_epoch = T0 + now * 60 if isinstance(now, int) else parse_instant(now)
    (result,) = slaengine.evaluate(policies, timelines, now_epoch)
    return {(c.metric, c.instance): c for c in result.clocks}


@dataclass(frozen=True)
class Expect:
    state: str
    elapsed_min: float
    due: int | str | None
    stop: int | str | None = None
    target_min: int | None = None


CASES: list[tuple[str, list[dict[str, Any]], int | str, str, int, Expect]] = [
    # first_response (24x7, normal = 1h)
    (
        "fr-achieved",
        make_timeline((30, "message", AGENT)),
        45,
        "first_response",
        1,
        Expect("achieved", 30, 60, 30),
    ),
    (
        "fr-reply-exactly-at-due-achieves",
        make_timeline((60, "message", AGENT)),
        90,
        "first_response",
        1,
        Expect("achieved", 60, 60, 60),
    ),
    ("fr-running-active", make_timeline(), 45, "first_response", 1, Expect("active", 45, 60)),
    ("fr-running-breached", make_timeline(), 90, "first_response", 1, Expect("breached", 90, 60)),
    (
        "fr-late-reply-breached",
        make_timeline((61, "message", AGENT)),
        90,
        "first_response",
        1,
        Expect("breached", 61, 60, 61),
    ),
    (
        "fr-internal-note-does-not-count",
        make_timeline((10, "message", {**AGENT, "public": False})),
        30,
        "first_response",
        1,
        Expect("active", 30, 60),
    ),
    (
        "fr-bot-does-not-count-by-default",
        make_timeline((5, "message", {"author": "bot"})),
        30,
        "first_response",
        1,
        Expect("active", 30, 60),
    ),
    (
        "fr-bot-counts-when-allowed",
        make_timeline((5, "message", {"author": "bot"}), channel="whatsapp"),
        30,
        "first_response",
        1,
        Expect("achieved", 5, 60, 5),
    ),
    (
        "fr-customer-message-does-not-count",
        make_timeline((5, "message", CUSTOMER)),
        30,
        "first_response",
        1,
        Expect("active", 30, 60),
    ),
    (
        "fr-system-message-does-not-count",
        make_timeline((5, "message", {"author": "system"})),
        30,
        "first_response",
        1,
        Expect("active", 30, 60),
    ),
    (
        "fr-later-events-ignored",
        make_timeline((30, "message", AGENT)),
        20,
        "first_response",
        1,
        Expect("active", 20, 60),
    ),
    # solving stops response clocks without fulfilling them
    (
        "fr-solved-in-time-cancelled",
        make_timeline((30, "status", {"status": "solved"})),
        45,
        "first_response",
        1,
        Expect("cancelled", 30, 60, 30),
    ),
    (
        "fr-solved-late-breached",
        make_timeline((90, "status", {"status": "closed"})),
        120,
        "first_response",
        1,
        Expect("breached", 90, 60, 90),
    ),
    # priority change re-targets a running clock from its original start
    (
        "fr-priority-raised-breaches",
        make_timeline((10, "update", {"priority": "urgent"})),
        20,
        "first_response",
        1,
        Expect("breached", 20, 15, target_min=15),
    ),
    (
        "fr-priority-lowered-extends",
        make_timeline((10, "update", {"priority": "low"}), priority="urgent"),
        60,
        "first_response",
        1,
        Expect("active", 60, 240, target_min=240),
    ),
    (
        "fr-stopped-keeps-target-in-force",
        make_timeline((30, "message", AGENT), (40, "update", {"priority": "urgent"})),
        60,
        "first_response",
        1,
        Expect("achieved", 30, 60, 30, target_min=60),
    ),
    (
        "resolution-running-takes-new-priority",
        make_timeline((30, "message", AGENT), (40, "update", {"priority": "urgent"})),
        60,
        "resolution",
        1,
        Expect("active", 60, 240, target_min=240),
    ),
    # next_response: starts on a customer message after the first response
    (
        "nr-first-instance",
        make_timeline(
            (5, "message", CUSTOMER),
            (10, "message", AGENT),
            (20, "message", CUSTOMER),
            (25, "message", CUSTOMER),
            (50, "message", AGENT),
        ),
        100,
        "next_response",
        1,
        Expect("achieved", 30, 80, 50),
    ),
    (
        "nr-second-instance",
        make_timeline(
            (10, "message", AGENT),
            (20, "message", CUSTOMER),
            (50, "message", AGENT),
            (70, "message", CUSTOMER),
        ),
        100,
        "next_response",
        2,
        Expect("active", 30, 130),
    ),
    (
        "nr-cancelled-by-solve",
        make_timeline(
            (10, "message", AGENT), (20, "message", CUSTOMER), (30, "status", {"status": "solved"})
        ),
        100,
        "next_response",
        1,
        Expect("cancelled", 10, 80, 30),
    ),
    # periodic_update: each agent message starts one, the next fulfils it
    (
        "pu-fulfilled-by-next-agent-message",
        make_timeline((10, "message", AGENT), (40, "message", AGENT)),
        60,
        "periodic_update",
        1,
        Expect("achieved", 30, 130, 40),
    ),
    (
        "pu-paused-has-no-due",
        make_timeline(
            (10, "message", AGENT), (40, "message", AGENT), (50, "status", {"status": "pending"})
        ),
        200,
        "periodic_update",
        2,
        Expect("paused", 10, None),
    ),
    (
        "pu-resumed-projects-due",
        make_timeline(
            (10, "message", AGENT),
            (50, "status", {"status": "pending"}),
            (80, "status", {"status": "open"}),
        ),
        100,
        "periodic_update",
        1,
        Expect("active", 60, 160),
    ),
    # resolution: pauses, solve, reopen
    (
        "res-pause-and-solve",
        make_timeline(
            (60, "status", {"status": "pending"}),
            (120, "status", {"status": "open"}),
            (180, "status", {"status": "solved"}),
        ),
        200,
        "resolution",
        1,
        Expect("achieved", 120, 24 * 60 + 60, 180),
    ),
    (
        "res-reopen-keeps-elapsed",
        make_timeline(
            (60, "status", {"status": "solved"}),
            (120, "status", {"status": "open"}),
            (150, "status", {"status": "solved"}),
        ),
        200,
        "resolution",
        1,
        Expect("achieved", 90, 150 + 24 * 60 - 90, 150),
    ),
    (
        "res-reopened-running",
        make_timeline((60, "status", {"status": "solved"}), (120, "status", {"status": "open"})),
        200,
        "resolution",
        1,
        Expect("active", 140, 200 + 24 * 60 - 140),
    ),
    (
        "res-paused-before-breach-has-no-due",
        make_timeline((30, "status", {"status": "pending"}), priority="urgent"),
        600,
        "resolution",
        1,
        Expect("paused", 30, None),
    ),
    (
        "res-created-solved-starts-at-reopen",
        make_timeline((30, "status", {"status": "open"}), status="solved"),
        90,
        "resolution",
        1,
        Expect("active", 60, 30 + 24 * 60),
    ),
]


@pytest.mark.parametrize(
    ("events", "now", "metric", "instance", "expect"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_clock_rules(policies, events, now, metric, instance, expect):
    clocks = clocks_at(policies, events, now)
    clock = clocks[(metric, instance)]
    assert clock.state == expect.state
    assert clock.elapsed == round(expect.elapsed_min * 60)
    expected_due = (
        None
        if expect.due is None
        else (T0 + expect.due * 60 if isinstance(expect.due, int) else parse_instant(expect.due))
    )
    assert clock.due == expected_due
    expected_stop = (
        None
        if expect.stop is None
        else (T0 + expect.stop * 60 if isinstance(expect.stop, int) else parse_instant(expect.stop))
    )
    assert clock.stop == expected_stop
    if expect.target_min is not None:
        assert clock.target == expect.target_min * 60


def test_breached_while_paused_reports_state_breached_and_due(policies):
    # urgent resolution 4h; paused from minute 300 after running 300 minutes.
    events = make_timeline((300, "status", {"status": "pending"}), priority="urgent")
    clock = clocks_at(policies, events, 400)[("resolution", 1)]
    assert clock.state == "breached"
    assert clock.due == T0 + 240 * 60
    assert clock.breached_at == clock.due
    assert clock.remaining == -60 * 60


def test_pauses_and_paused_seconds_are_reported(policies):
    events = make_timeline(
        (60, "status", {"status": "pending"}),
        (120, "status", {"status": "on_hold"}),
        (150, "status", {"status": "open"}),
        (200, "status", {"status": "pending"}),
    )
    clock = clocks_at(policies, events, 230)[("resolution", 1)]
    # pending then on_hold are one continuous pause; a second pause is still open.
    assert clock.pauses == ((T0 + 3600, T0 + 150 * 60), (T0 + 200 * 60, None))
    assert clock.paused == (90 + 30) * 60
    assert clock.elapsed == (60 + 50) * 60
    assert clock.state == "paused"


def test_no_clock_starts_while_solved(policies):
    events = make_timeline((10, "message", CUSTOMER), (20, "message", AGENT), status="solved")
    clocks = clocks_at(policies, events, 60)
    assert clocks == {}


def test_reopen_does_not_restart_first_response(policies):
    events = make_timeline(
        (10, "message", AGENT),
        (20, "status", {"status": "solved"}),
        (30, "status", {"status": "open"}),
    )
    clocks = clocks_at(policies, events, 60)
    assert [key for key in clocks if key[0] == "first_response"] == [("first_response", 1)]
    assert clocks[("resolution", 1)].elapsed == (20 + 30) * 60


def test_customer_message_on_solved_ticket_starts_nothing(policies):
    events = make_timeline(
        (10, "message", AGENT), (20, "status", {"status": "solved"}), (30, "message", CUSTOMER)
    )
    clocks = clocks_at(policies, events, 60)
    assert ("next_response", 1) not in clocks


def test_fulfilling_agent_is_recorded(policies):
    clock = clocks_at(policies, make_timeline((30, "message", AGENT)), 45)[("first_response", 1)]
    assert clock.agent == "ada"
    assert clock.stop_reason == "fulfilled"


def test_input_order_does_not_matter(policies):
    events = make_timeline(
        (10, "message", AGENT),
        (20, "message", CUSTOMER),
        (30, "status", {"status": "pending"}),
        (45, "status", {"status": "open"}),
        (50, "message", AGENT),
        (70, "update", {"priority": "high"}),
        (90, "status", {"status": "solved"}),
    )
    expected = clocks_at(policies, events, 120)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert clocks_at(policies, shuffled, 120) == expected


def test_duplicate_event_ids_are_ignored(policies):
    events = make_timeline(
        (30, "message", {**AGENT, "id": "m1"}), (50, "message", {**CUSTOMER, "id": "m2"})
    )
    doubled = [*events, {**events[1], "id": "m1"}, {**events[2], "id": "m2"}]
    assert clocks_at(policies, doubled, 90) == clocks_at(policies, events, 90)


# -- business-hours calendars -------------------------------------------------

OFFICE_CASES = [
    # Office: Berlin 09-17 Mon-Fri, 2025-12-24 closed; first_response 2h.
    ("over-the-weekend", "2025-12-05T16:00:00+01:00", None, "2025-12-08T10:00:00+01:00"),
    (
        "reply-monday-morning",
        "2025-12-05T16:00:00+01:00",
        "2025-12-08T09:30:00+01:00",
        "2025-12-08T10:00:00+01:00",
    ),
    ("created-before-opening", "2025-12-01T06:00:00+01:00", None, "2025-12-01T11:00:00+01:00"),
    ("holiday-skipped", "2025-12-23T16:00:00+01:00", None, "2025-12-25T10:00:00+01:00"),
    ("across-spring-forward", "2025-03-28T16:00:00+01:00", None, "2025-03-31T10:00:00+02:00"),
    ("across-fall-back", "2025-10-24T16:30:00+02:00", None, "2025-10-27T10:30:00+01:00"),
]


@pytest.mark.parametrize(
    ("created", "reply", "due"), [c[1:4] for c in OFFICE_CASES], ids=[c[0] for c in OFFICE_CASES]
)
def test_office_calendar_first_response(policies, created, reply, due):
    events = [
        {"ticket": "T", "at": created, "type": "created", "channel": "email", "priority": "normal"}
    ]
    if reply:
        events.append({"ticket": "T", "at": reply, "type": "message", **AGENT})
    now = reply or created
    clock = clocks_at(policies, events, now)[("first_response", 1)]
    assert clock.due == parse_instant(due)
    assert clock.calendar == "office"
    if reply:
        assert clock.state == "achieved"
        assert clock.elapsed == 90 * 60
    else:
        assert clock.elapsed == 0
        assert clock.remaining == 2 * 3600


def test_pause_across_closed_hours(policies):
    # Open 16:00-16:30 Monday (30m), on hold until Tuesday 10:00, then running.
    events = [
        {
            "ticket": "T",
            "at": "2025-12-01T16:00:00+01:00",
            "type": "created",
            "channel": "email",
            "priority": "normal",
        },
        {"ticket": "T", "at": "2025-12-01T16:30:00+01:00", "type": "status", "status": "on_hold"},
        {"ticket": "T", "at": "2025-12-02T10:00:00+01:00", "type": "status", "status": "open"},
    ]
    clock = clocks_at(policies, events, "2025-12-02T10:30:00+01:00")[("first_response", 1)]
    assert clock.elapsed == 60 * 60
    assert clock.state == "active"
    assert clock.due == parse_instant("2025-12-02T11:30:00+01:00")
    # Paused business time: 16:30-17:00 Monday and 09:00-10:00 Tuesday.
    assert clock.paused == 90 * 60


def test_metric_calendar_overrides_policy_calendar(policies):
    events = [
        {
            "ticket": "T",
            "at": "2025-12-05T16:00:00+01:00",
            "type": "created",
            "channel": "email",
            "priority": "normal",
        }
    ]
    clocks = clocks_at(policies, events, "2025-12-06T10:00:00+01:00")
    resolution = clocks[("resolution", 1)]
    assert resolution.calendar == "24x7"
    assert resolution.elapsed == 18 * 3600
    assert resolution.state == "breached"
    assert clocks[("first_response", 1)].elapsed == 3600


def test_unmatched_ticket_is_reported_not_dropped():
    only_chat = slaengine.loads_policies(
        "policies:\n  - name: chat\n    match: {channel: chat}\n"
        "    metrics: {first_response: {targets: 1h}}\n"
    )
    events = [
        parse_event(
            {"ticket": "X", "at": _at(0), "type": "created", "channel": "email", "priority": "low"}
        )
    ]
    (result,) = slaengine.evaluate(only_chat, slaengine.build_timelines(events), T0 + 60)
    assert result.policy is None
    assert not result.matched
    assert result.clocks == ()


def test_policy_selection_uses_current_attributes(policies):
    events = make_timeline((10, "update", {"channel": "email"}))
    parsed = [parse_event(e, seq=i) for i, e in enumerate(events)]
    timelines = slaengine.build_timelines(parsed)
    (before,) = slaengine.evaluate(policies, timelines, T0 + 5 * 60)
    (after,) = slaengine.evaluate(policies, timelines, T0 + 20 * 60)
    assert before.policy is not None
    assert before.policy.name == "round-the-clock"
    assert after.policy is not None
    assert after.policy.name == "office"


def test_ticket_created_after_now_is_skipped(policies):
    parsed = [parse_event(e) for e in make_timeline()]
    assert slaengine.evaluate(policies, slaengine.build_timelines(parsed), T0 - 1) == []


def test_now_accepts_aware_datetimes_only(policies):
    import datetime as dt

    parsed = [parse_event(e) for e in make_timeline()]
    timelines = slaengine.build_timelines(parsed)
    aware = dt.datetime(2025, 12, 1, 11, 0, tzinfo=dt.UTC)
    (result,) = slaengine.evaluate(policies, timelines, aware)
    assert result.clocks[0].elapsed == 3600
    assert to_epoch(aware) == T0 + 3600
    with pytest.raises(ValueError, match="naive"):
        slaengine.evaluate(policies, timelines, dt.datetime(2025, 12, 1, 11, 0))


def test_priority_change_at_the_stop_second_but_after_it_does_not_retarget(policies):
    # Reply at minute 30 (normal: 1h, achieved), then raised to urgent in the same second.
    events = make_timeline((30, "message", AGENT), (30, "update", {"priority": "urgent"}))
    clock = clocks_at(policies, events, 60)[("first_response", 1)]
    assert clock.state == "achieved"
    assert clock.target == 3600
    assert clock.priority == "normal"


def test_priority_change_just_before_the_stop_retargets(policies):
    events = make_timeline((30, "update", {"priority": "urgent"}), (30, "message", AGENT))
    clock = clocks_at(policies, events, 60)[("first_response", 1)]
    assert clock.state == "breached"
    assert clock.target == 15 * 60


@pytest.mark.parametrize(
    "steps",
    [
        ((30, "message", CUSTOMER), (30, "status", {"status": "open"})),
        ((30, "status", {"status": "open"}), (30, "message", CUSTOMER)),
        ((25, "message", CUSTOMER), (30, "status", {"status": "open"})),
    ],
    ids=["message-then-reopen", "reopen-then-message", "message-while-solved-reopen-later"],
)
def test_customer_message_that_reopens_starts_next_response_at_the_reopen(policies, steps):
    events = make_timeline((10, "message", AGENT), (20, "status", {"status": "solved"}), *steps)
    clock = clocks_at(policies, events, 60)[("next_response", 1)]
    assert clock.start == T0 + 30 * 60
    assert clock.state == "active"
    assert clock.elapsed == 30 * 60


def test_reopen_without_customer_message_starts_no_next_response(policies):
    events = make_timeline(
        (10, "message", AGENT),
        (20, "status", {"status": "solved"}),
        (25, "message", CUSTOMER),
        (26, "status", {"status": "closed"}),
        (28, "status", {"status": "solved"}),
        (30, "status", {"status": "open"}),
    )
    clocks = clocks_at(policies, events, 60)
    # The customer wrote while solved; the ticket reopened later: one instance, at the reopen.
    assert [k for k in clocks if k[0] == "next_response"] == [("next_response", 1)]
    events = make_timeline(
        (10, "message", AGENT),
        (20, "status", {"status": "solved"}),
        (30, "status", {"status": "open"}),
    )
    assert ("next_response", 1) not in clocks_at(policies, events, 60)
