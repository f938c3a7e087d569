"""``slaengine explain`` on policies with clock rules: the story matches the engine's clocks.

Each timeline is worked out by hand (docs/policies.md#clock-rules); the tests
assert the exact stop texts and notes, and that the segments of every clock add
up to what the engine measured.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from rich.console import Console

import slaengine
from slaengine.calendar import format_utc
from slaengine.engine import evaluate_timeline
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain import (
    PAUSED,
    RUNNING,
    ClockExplanation,
    Explanation,
    explain_ticket,
)
from slaengine.policy.model import MINUTES, NEXT_OPENING
from slaengine.report.explain import explanation_renderables, explanation_to_dict
from slaengine.timeline import Timeline

D = "2025-12-01T"  # a Monday

OFFICE = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
"""


def _timeline(events: list[dict[str, Any]]) -> Timeline:
    parsed = [
        parse_event({"ticket": "R-1", **event}, seq=i, line=i + 1) for i, event in enumerate(events)
    ]
    return slaengine.build_timelines(parsed).timelines["R-1"]


def _explain(policy: str, events: list[dict[str, Any]], at: str) -> Explanation:
    policies = slaengine.loads_policies("version: 1\n" + policy, "p.yaml")
    return explain_ticket(policies, _timeline(events), parse_instant(at))


def _clock(explanation: Explanation, metric: str, instance: int = 1) -> ClockExplanation:
    return next(
        c for c in explanation.clocks if c.clock.metric == metric and c.clock.instance == instance
    )


def _notes(item: ClockExplanation | Explanation) -> list[str]:
    return [n.render(format_utc) for n in item.notes]


def _created(at: str, **extra: Any) -> dict[str, Any]:
    return {"at": at, "type": "created", "channel": "email", "priority": "normal", **extra}


def _message(at: str, author: str, agent: str | None = None, public: bool = True) -> dict[str, Any]:
    event: dict[str, Any] = {"at": at, "type": "message", "author": author, "public": public}
    if agent is not None:
        event["agent"] = agent
    return event


def _status(at: str, status: str) -> dict[str, Any]:
    return {"at": at, "type": "status", "status": status}


def _rendered(explanation: Explanation, timezone: str = "UTC") -> list[str]:
    """The terminal output, one stripped line each, without box-drawing characters."""
    out = io.StringIO()
    console = Console(file=out, width=140, no_color=True, soft_wrap=False)
    for renderable in explanation_renderables(explanation, timezone):
        console.print(renderable)
    return [line.strip("│ ").rstrip(" │") for line in out.getvalue().splitlines()]


# -- scenarios: one or more per rule ----------------------------------------------

FULFILLED_BY = """
policies:
  - name: p
    metrics:
      first_response: {targets: 1h, fulfilled_by: RULE}
"""
FULFILLED_BY_EVENTS = [
    _created(D + "10:00:00Z"),
    _message(D + "10:00:05Z", "bot"),
    _message(D + "10:20:00Z", "agent", "mia", public=False),
    _message(D + "10:40:00Z", "agent", "lea"),
]
ASSIGNMENT = """
policies:
  - name: p
    semantics: glpi
    metrics:
      first_response: {targets: 1h}
"""
ASSIGNMENT_EVENTS = [
    _created(D + "10:00:00Z"),
    _message(D + "10:10:00Z", "agent", "lea"),
    {"at": D + "10:30:00Z", "type": "update", "assignee": "mia"},
]
STARTS = (
    OFFICE
    + """
policies:
  - name: p
    calendar: office
    metrics:
      first_response: {targets: 1h, starts: first_business_minute}
      resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute}
"""
)
SATURDAY = "2025-12-06T10:00:00Z"
SWITCH = """
policies:
  - name: p
    metrics:
      next_response: {targets: 1h, counts_from: COUNTS}
      periodic_update: {targets: 2h, customer_message_stops: true}
"""
SWITCH_EVENTS = [
    _created(D + "09:00:00Z"),
    _message(D + "09:10:00Z", "agent", "lea"),
    _message(D + "09:30:00Z", "customer"),
    _message(D + "09:40:00Z", "customer"),
    _message(D + "10:00:00Z", "agent", "lea"),
]
SOLVED = """
policies:
  - name: p
    metrics:
      first_response: {targets: 1h, when_solved: pause}
      resolution: {targets: 8h, on_reopen: stays_met}
"""
SOLVED_EVENTS = [
    _created(D + "09:00:00Z"),
    _status(D + "09:20:00Z", "solved"),
    _status(D + "10:00:00Z", "open"),
    _message(D + "10:30:00Z", "agent", "mia"),
]
HIDE = """
policies:
  - name: p
    metrics:
      periodic_update: {targets: 2h, hide_when: [on_hold]}
"""
HIDE_EVENTS = [
    _created(D + "09:00:00Z"),
    _message(D + "09:10:00Z", "agent", "mia"),
    _status(D + "10:00:00Z", "on_hold"),
    _status(D + "12:00:00Z", "open"),
]
MINUTES_POLICY = """
policies:
  - name: p
    precision: minutes
    metrics:
      first_response: {targets: 1h}
      resolution: {targets: 8h, pause_when: [pending]}
"""
MINUTES_EVENTS = [
    _created(D + "08:00:00Z"),
    _status(D + "08:10:30Z", "pending"),
    _status(D + "08:20:50Z", "open"),
    _message(D + "09:00:45Z", "agent", "mia"),
]
NEXT_OPENING_POLICY = (
    OFFICE
    + """
policies:
  - name: p
    calendar: office
    due_at_closing: next_opening
    metrics:
      first_response: {targets: 1h}
"""
)
VERSIONS = """
policies:
  - name: email-2026
    effective_from: 2026-01-01T00:00:00+01:00
    match: {channel: email}
    metrics:
      first_response: {targets: 4h}
  - name: email
    match: {channel: email}
    metrics:
      first_response: {targets: 8h}
"""

SCENARIOS: dict[str, tuple[str, list[dict[str, Any]], str]] = {
    "fulfilled_by-public_agent": (
        FULFILLED_BY.replace("RULE", "public_agent"), FULFILLED_BY_EVENTS, D + "12:00:00Z"
    ),
    "fulfilled_by-agent": (
        FULFILLED_BY.replace("RULE", "agent"), FULFILLED_BY_EVENTS, D + "12:00:00Z"
    ),
    "fulfilled_by-not_requester": (
        FULFILLED_BY.replace("RULE", "not_requester"), FULFILLED_BY_EVENTS, D + "12:00:00Z"
    ),
    "fulfilled_by-any_outgoing": (
        FULFILLED_BY.replace("RULE", "any_outgoing"),
        [FULFILLED_BY_EVENTS[0], *FULFILLED_BY_EVENTS[2:]],
        D + "12:00:00Z",
    ),
    "fulfilled_by-assignment": (ASSIGNMENT, ASSIGNMENT_EVENTS, D + "12:00:00Z"),
    "starts-not-yet": (STARTS, [_created(SATURDAY)], "2025-12-06T12:00:00Z"),
    "starts-answered-before": (
        STARTS,
        [_created(SATURDAY), _message("2025-12-06T11:00:00Z", "agent", "mia")],
        "2025-12-08T17:00:00Z",
    ),
    "staff_created": (
        "policies:\n  - name: p\n    semantics: zendesk\n    metrics:\n"
        "      first_response: {targets: 1h}\n      resolution: {targets: 8h}\n",
        [_created(D + "09:00:00Z"), _message(D + "09:05:00Z", "agent", "mia")],
        D + "10:00:00Z",
    ),
    "counts_from-oldest": (
        SWITCH.replace("COUNTS", "oldest_unanswered"), SWITCH_EVENTS, D + "10:30:00Z"
    ),
    "counts_from-latest": (
        SWITCH.replace("COUNTS", "latest_customer_message"), SWITCH_EVENTS, D + "10:30:00Z"
    ),
    "when_solved-on_reopen": (SOLVED, SOLVED_EVENTS, D + "12:00:00Z"),
    "when_solved-still-solved": (SOLVED, SOLVED_EVENTS[:2], D + "12:00:00Z"),
    "hide_when-hidden": (HIDE, HIDE_EVENTS, D + "11:00:00Z"),
    "hide_when-hidden-breached": (HIDE, HIDE_EVENTS, D + "11:30:00Z"),
    "hide_when-shown": (HIDE, HIDE_EVENTS, D + "12:30:00Z"),
    "precision-paused": (MINUTES_POLICY, MINUTES_EVENTS, D + "09:00:00Z"),
    "precision-late-reply": (MINUTES_POLICY, MINUTES_EVENTS, D + "10:00:00Z"),
    "due_at_closing-running": (
        NEXT_OPENING_POLICY, [_created("2025-12-01T15:00:00Z")], "2025-12-01T15:30:00Z"
    ),
    "due_at_closing-breached": (
        NEXT_OPENING_POLICY, [_created("2025-12-01T15:00:00Z")], "2025-12-02T09:30:00Z"
    ),
    "effective_from": (VERSIONS, [_created("2025-12-31T22:00:00Z")], "2025-12-31T23:30:00Z"),
    "semantics-zammad": (
        "policies:\n  - name: p\n    semantics: zammad\n    metrics:\n"
        "      first_response: {targets: 1h}\n      resolution: {targets: 8h}\n",
        [*MINUTES_EVENTS, _status(D + "09:30:10Z", "solved"), _status(D + "09:50:00Z", "open")],
        D + "11:00:00Z",
    ),
    "semantics-rt": (
        OFFICE
        + "policies:\n  - name: p\n    semantics: rt\n    calendar: office\n    metrics:\n"
        "      first_response: {targets: 1h, starts: first_business_minute}\n"
        "      next_response: {targets: 1h}\n"
        "      periodic_update: {targets: 2h}\n      resolution: {targets: 8h}\n",
        [
            _created("2025-12-05T18:00:00Z"),
            _message("2025-12-05T18:05:00Z", "customer"),
            _message("2025-12-08T07:30:00Z", "system"),
            _message("2025-12-08T09:00:00Z", "customer"),
            _message("2025-12-08T09:20:00Z", "agent", "mia"),
        ],
        "2025-12-08T12:00:00Z",
    ),
}  # fmt: skip


def _scenario(name: str) -> Explanation:
    policy, events, at = SCENARIOS[name]
    return _explain(policy, events, at)


# -- the explanation agrees with the engine ------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_segments_agree_with_the_engine(name):
    policy_text, events, at = SCENARIOS[name]
    policies = slaengine.loads_policies("version: 1\n" + policy_text, "p.yaml")
    timeline = _timeline(events)
    now = parse_instant(at)
    result = evaluate_timeline(policies, timeline, now)
    explanation = explain_ticket(policies, timeline, now)
    assert result is not None
    assert result.policy is explanation.policy
    assert [c.clock for c in explanation.clocks] == list(result.clocks)
    assert explanation.policy is not None
    minutes = explanation.policy.precision == MINUTES
    for item, clock in zip(explanation.clocks, result.clocks, strict=True):
        segments = item.segments
        metric = next(m for m in explanation.policy.metrics if m.kind == clock.metric)
        running = sum(s.business for s in segments if s.kind == RUNNING)
        paused = sum(s.paused_open for s in segments)
        # Whole minutes drop the seconds of the sum, never more.
        assert running - item.uncounted == clock.elapsed, (clock.metric, clock.instance)
        assert item.uncounted == (running % 60 if minutes else 0)
        assert paused - (paused % 60 if minutes else 0) == clock.paused
        end = clock.stop if clock.stop is not None else now
        if end <= clock.start:  # stopped at its start, or not started yet
            assert segments == ()
            assert clock.elapsed == 0
            continue
        assert segments[0].start == clock.start
        assert segments[-1].end == end
        for before, after in itertools.pairwise(segments):
            assert before.end == after.start
        assert segments[-1].elapsed_after == running
        # The instant running time reaches the target is the engine's due, as shown.
        reached = next(
            (
                s.start + clock.target - (s.elapsed_after - s.business)
                for s in segments
                if s.kind == RUNNING and s.elapsed_after - s.business < clock.target
                and clock.target <= s.elapsed_after
            ),
            None,
        )  # fmt: skip
        paused_now = clock.stop is None and segments[-1].kind == PAUSED
        if reached is None and not paused_now:
            reached = metric.calendar.add(end, clock.target - running)
        if item.due_hidden_by is not None:
            assert clock.due is None
            continue
        expected = reached
        if (
            explanation.policy.due_at_closing == NEXT_OPENING
            and reached is not None
            and metric.calendar.is_closing(reached)
        ):
            expected = metric.calendar.next_open(reached)
        assert clock.due == expected, (clock.metric, clock.instance)
        breach = item.breach_segment
        if clock.state == "breached":
            assert breach is not None
            assert breach.breach_at == reached
        else:
            assert breach is None


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_renders_and_serialises(name):
    explanation = _scenario(name)
    assert _rendered(explanation)
    data = explanation_to_dict(explanation)
    assert [m["stop_text"] for m in data["metrics"]] == [c.stop_text for c in explanation.clocks]


# -- fulfilled_by ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "stop", "text", "notes"),
    [
        (
            "public_agent", "2025-12-01T10:40:00Z", "fulfilled by lea's reply",
            [
                "bot message at 2025-12-01T10:00:05Z (line 2) does not count: the policy has "
                "bot_replies_count: false",
                "internal note at 2025-12-01T10:20:00Z (line 3) does not count as a reply",
            ],
        ),
        (
            "agent", "2025-12-01T10:20:00Z", "fulfilled by mia's internal note",
            [
                "bot message at 2025-12-01T10:00:05Z (line 2) does not count: the policy has "
                "bot_replies_count: false",
            ],
        ),
        ("not_requester", "2025-12-01T10:00:05Z", "fulfilled by a bot reply", []),
    ],
    ids=["public_agent", "agent", "not_requester"],
)  # fmt: skip
def test_fulfilled_by_names_the_message_that_counted(rule, stop, text, notes):
    first = _clock(_scenario(f"fulfilled_by-{rule}"), "first_response")
    assert format_utc(first.clock.stop or 0) == stop
    assert first.stop_text == text
    assert _notes(first) == notes


def test_fulfilled_by_any_outgoing_counts_an_internal_note():
    first = _clock(_scenario("fulfilled_by-any_outgoing"), "first_response")
    assert (first.stop_line, first.stop_text) == (2, "fulfilled by mia's internal note")


def test_fulfilled_by_not_requester_with_a_system_message():
    # rt: Response is any correspondence not from the requestor; with starts:
    # first_business_minute the clock starts at Monday's first business minute (09:00
    # Berlin), so the system message at 08:30 Berlin counts 0s.
    explanation = _scenario("semantics-rt")
    first = _clock(explanation, "first_response")
    assert first.stop_text == "fulfilled by a system message"
    assert (first.start_line, first.stop_line) == (1, 3)
    assert format_utc(first.clock.start) == "2025-12-08T08:00:00Z"
    assert _notes(first) == [
        "created at 2025-12-05T18:00:00Z (line 1), outside the open hours of calendar 'office'; "
        "with starts: first_business_minute the clock starts at its next opening "
        "2025-12-08T08:00:00Z",
        "the event at 2025-12-08T07:30:00Z (line 3) came before the clock started: it stops "
        "the clock at its start, with 0s elapsed",
    ]
    assert first.clock.elapsed == 0
    reply = _clock(explanation, "next_response")
    assert (reply.start_line, reply.stop_line, reply.stop_text) == (
        4,
        5,
        "fulfilled by mia's reply",
    )


def test_assignment_fulfils_time_to_own_and_messages_do_not():
    explanation = _scenario("fulfilled_by-assignment")
    first = _clock(explanation, "first_response")
    assert first.clock.agent == "mia"
    assert (first.stop_line, first.stop_text) == (3, "fulfilled by the assignment to mia")
    assert _notes(first) == [
        "agent message at 2025-12-01T10:10:00Z (line 2) does not count: the metric has "
        "fulfilled_by: assignment"
    ]
    assert "stop      Mon 2025-12-01 10:30 (line 3): fulfilled by the assignment to mia" in (
        _rendered(explanation)
    )


def test_assignment_at_creation():
    explanation = _explain(ASSIGNMENT, [_created(D + "10:00:00Z", assignee="mia")], D + "11:00:00Z")
    first = _clock(explanation, "first_response")
    assert (first.stop_line, first.stop_text) == (
        1,
        "fulfilled by the assignment to mia at creation",
    )
    assert first.segments == ()


def test_a_reply_without_an_agent_name_has_the_right_article():
    explanation = _explain(
        "policies:\n  - name: p\n    metrics:\n      first_response: {targets: 1h}\n",
        [_created(D + "10:00:00Z"), _message(D + "10:30:00Z", "agent")],
        D + "11:00:00Z",
    )
    assert _clock(explanation, "first_response").stop_text == "fulfilled by an agent reply"


# -- starts and staff_created --------------------------------------------------------------


def test_first_business_minute_not_started_yet():
    explanation = _scenario("starts-not-yet")
    for metric, due in (("first_response", "09:00"), ("resolution", "16:00")):
        item = _clock(explanation, metric)
        assert item.stop_text == "not started yet"
        assert item.start_line == 1
        assert item.segments == ()
        assert format_utc(item.clock.start) == "2025-12-08T08:00:00Z"
        assert format_utc(item.clock.due or 0) == f"2025-12-08T{due}:00Z"
        assert _notes(item) == [
            "created at 2025-12-06T10:00:00Z (line 1), outside the open hours of calendar "
            "'office'; with starts: first_business_minute the clock starts at its next opening "
            "2025-12-08T08:00:00Z"
        ]
    lines = _rendered(explanation, "Europe/Berlin")
    assert "start     Mon 2025-12-08 09:00 (line 1)" in lines
    assert "stop      not started yet at Sat 2025-12-06 13:00" in lines


def test_first_business_minute_answered_before_the_start():
    explanation = _scenario("starts-answered-before")
    first = _clock(explanation, "first_response")
    assert first.clock.state == "achieved"
    assert (first.clock.elapsed, first.segments) == (0, ())
    assert (first.stop_line, first.stop_text) == (2, "fulfilled by mia's reply")
    assert _notes(first)[1] == (
        "the event at 2025-12-06T11:00:00Z (line 2) came before the clock started: it stops the "
        "clock at its start, with 0s elapsed"
    )
    resolution = _clock(explanation, "resolution")  # 8 real hours from Monday 08:00Z
    assert [(s.kind, format_utc(s.start), format_utc(s.end)) for s in resolution.segments] == [
        (RUNNING, "2025-12-08T08:00:00Z", "2025-12-08T17:00:00Z")
    ]
    breach = resolution.breach_segment
    assert breach is not None
    assert format_utc(breach.breach_at or 0) == "2025-12-08T16:00:00Z"


def test_staff_created_ticket_says_why_it_has_no_first_response():
    explanation = _scenario("staff_created")
    assert [c.clock.metric for c in explanation.clocks] == ["resolution"]
    assert _notes(explanation) == [
        "no first_response clock: the ticket was opened by staff and the metric has "
        "staff_created: exempt; its first public message is from agent mia at "
        "2025-12-01T09:05:00Z (line 2)"
    ]
    assert explanation_to_dict(explanation)["notes"][0]["code"] == "staff_created"


def test_staff_created_by_the_created_author_names_that_event():
    policy, _, at = SCENARIOS["staff_created"]
    explanation = _explain(policy, [_created(D + "09:00:00Z", author="agent")], at)
    assert [c.clock.metric for c in explanation.clocks] == ["resolution"]
    assert _notes(explanation) == [
        "no first_response clock: the ticket was opened by staff and the metric has "
        "staff_created: exempt; its created event names the author agent (line 1)"
    ]


# -- follow-up clocks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "reply_start", "reply_line", "notes"),
    [
        ("oldest", "2025-12-01T09:30:00Z", 3, []),
        (
            "latest", "2025-12-01T09:40:00Z", 4,
            [
                "the customer also wrote at 2025-12-01T09:30:00Z (line 3); with counts_from: "
                "latest_customer_message the clock counts from the latest message"
            ],
        ),
    ],
)  # fmt: skip
def test_superseded_update_hands_over_to_next_response(counts, reply_start, reply_line, notes):
    explanation = _scenario(f"counts_from-{counts}")
    update = _clock(explanation, "periodic_update")
    assert update.clock.state == "cancelled"
    assert update.clock.stop_reason == "superseded"
    assert (update.stop_line, update.stop_text) == (
        3, "the customer wrote; next_response #1 took over",
    )  # fmt: skip
    assert format_utc(update.clock.stop or 0) == "2025-12-01T09:30:00Z"
    reply = _clock(explanation, "next_response")
    assert format_utc(reply.clock.start) == reply_start
    assert (reply.start_line, reply.stop_line) == (reply_line, 5)
    assert _notes(reply) == notes
    second = _clock(explanation, "periodic_update", 2)
    assert (second.start_line, second.stop_text) == (5, "still running")
    assert (
        "stop      Mon 2025-12-01 09:30 (line 3): the customer wrote; next_response #1 took over"
        in (_rendered(explanation))
    )


def test_superseded_without_next_response():
    explanation = _explain(
        "policies:\n  - name: p\n    metrics:\n"
        "      periodic_update: {targets: 2h, customer_message_stops: true}\n",
        SWITCH_EVENTS,
        D + "10:30:00Z",
    )
    update = _clock(explanation, "periodic_update")
    assert update.stop_text == "the customer wrote (customer_message_stops: true)"


# -- solved and reopened ---------------------------------------------------------------------


def test_when_solved_pause_and_stays_met():
    explanation = _scenario("when_solved-on_reopen")
    first = _clock(explanation, "first_response")
    assert (first.clock.state, first.clock.elapsed, first.clock.paused) == ("achieved", 3000, 2400)
    assert [(s.kind, s.status, format_utc(s.start)) for s in first.segments] == [
        (RUNNING, None, "2025-12-01T09:00:00Z"),
        (PAUSED, "solved", "2025-12-01T09:20:00Z"),
        (RUNNING, None, "2025-12-01T10:00:00Z"),
    ]
    assert _notes(first) == [
        "ticket solved at 2025-12-01T09:20:00Z and reopened at 2025-12-01T10:00:00Z: with "
        "when_solved: pause the clock was paused, not stopped"
    ]
    assert first.stop_text == "fulfilled by mia's reply"
    resolution = _clock(explanation, "resolution")
    assert (resolution.clock.state, resolution.clock.elapsed) == ("achieved", 1200)
    assert (resolution.stop_line, resolution.stop_text) == (2, "ticket solved")
    assert _notes(resolution) == [
        "reopened at 2025-12-01T10:00:00Z (line 3); with on_reopen: stays_met resolution stays "
        "stopped at the first solve 2025-12-01T09:20:00Z"
    ]


def test_when_solved_pause_while_still_solved():
    first = _clock(_scenario("when_solved-still-solved"), "first_response")
    assert (first.clock.state, first.stop_text) == ("paused", "still paused")
    assert _notes(first) == [
        "due is unknown while paused: it depends on when the pause ends",
        "ticket solved at 2025-12-01T09:20:00Z: with when_solved: pause the clock is paused "
        "until the ticket is reopened",
    ]


def test_when_solved_pause_stopped_while_still_solved():
    """A customer message to the solved ticket supersedes the paused update clock: the note
    names the stop, not a reopen."""
    explanation = _explain(
        "policies:\n  - name: p\n    metrics:\n"
        "      next_response: {targets: 1h}\n"
        "      periodic_update: {targets: 2h, when_solved: pause, customer_message_stops: true}\n",
        [
            _created(D + "09:00:00Z"),
            _message(D + "09:10:00Z", "agent", "lea"),
            _status(D + "09:30:00Z", "solved"),
            _message(D + "09:40:00Z", "customer"),
            _status(D + "10:00:00Z", "open"),
        ],
        D + "10:30:00Z",
    )
    update = _clock(explanation, "periodic_update")
    assert (update.clock.state, update.clock.stop_reason) == ("cancelled", "superseded")
    assert _notes(update) == [
        "ticket solved at 2025-12-01T09:30:00Z: with when_solved: pause the clock was paused, "
        "not stopped, until it stopped at 2025-12-01T09:40:00Z, the ticket still solved"
    ]
    assert update.stop_text == "the customer wrote; next_response #1 took over"
    assert _clock(explanation, "next_response").clock.start == parse_instant(D + "10:00:00Z")


# -- hide_when -------------------------------------------------------------------------------


def test_hidden_due_is_not_called_paused():
    explanation = _scenario("hide_when-hidden")
    update = _clock(explanation, "periodic_update")
    assert (update.clock.state, update.clock.due, update.clock.elapsed) == ("active", None, 6600)
    assert update.due_hidden_by == "on_hold"
    assert update.stop_text == "still running"
    assert _notes(update) == [
        "the deadline is hidden while the ticket is on_hold (hide_when); its time still counts, "
        "due at 2025-12-01T11:10:00Z if shown"
    ]
    lines = _rendered(explanation)
    assert "due       hidden while the ticket is on_hold (hide_when)" in lines
    assert not any("unknown while paused" in line for line in lines)
    assert explanation_to_dict(explanation)["metrics"][0]["due_hidden_by"] == "on_hold"


def test_hidden_due_of_a_breached_clock():
    update = _clock(_scenario("hide_when-hidden-breached"), "periodic_update")
    assert (update.clock.state, update.clock.due) == ("breached", None)
    assert _notes(update) == [
        "the deadline is hidden while the ticket is on_hold (hide_when); its time still counts: "
        "the target ran out at 2025-12-01T11:10:00Z"
    ]
    breach = update.breach_segment
    assert breach is not None
    assert format_utc(breach.breach_at or 0) == "2025-12-01T11:10:00Z"


def test_shown_again_after_the_hiding_status():
    update = _clock(_scenario("hide_when-shown"), "periodic_update")
    assert (update.clock.state, update.due_hidden_by, update.notes) == ("breached", None, ())
    assert format_utc(update.clock.due or 0) == "2025-12-01T11:10:00Z"


# -- precision -------------------------------------------------------------------------------


def test_whole_minute_pauses_in_the_segments():
    # pending 08:10:30 to 08:20:50 pauses 08:10 to 08:20: 50 minutes count, 10 are paused.
    resolution = _clock(_scenario("precision-paused"), "resolution")
    assert (resolution.clock.elapsed, resolution.clock.paused) == (3000, 600)
    segments = resolution.segments
    assert [(s.kind, s.status, format_utc(s.start), format_utc(s.end)) for s in segments] == [
        (RUNNING, None, "2025-12-01T08:00:00Z", "2025-12-01T08:10:00Z"),
        (PAUSED, "pending", "2025-12-01T08:10:00Z", "2025-12-01T08:20:00Z"),
        (RUNNING, None, "2025-12-01T08:20:00Z", "2025-12-01T09:00:00Z"),
    ]  # fmt: skip
    assert resolution.notes == ()


def test_whole_minutes_keep_a_late_reply_within_target():
    first = _clock(_scenario("precision-late-reply"), "first_response")
    assert (first.clock.state, first.clock.elapsed, first.uncounted) == ("achieved", 3600, 45)
    assert _notes(first) == [
        "precision: minutes: running time 1h45s counts as 1h (whole minutes)",
        "the running time passes the 1h target by 45s, less than a minute: in whole minutes it "
        "is within it",
    ]
    resolution = _clock(_scenario("precision-late-reply"), "resolution")
    assert resolution.uncounted == 0  # 08:10:00-08:20:00 paused: whole minutes already


# -- due_at_closing --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["due_at_closing-running", "due_at_closing-breached"])
def test_due_at_next_opening_is_explained(name):
    first = _clock(_scenario(name), "first_response")
    assert format_utc(first.clock.due or 0) == "2025-12-02T08:00:00Z"
    assert _notes(first) == [
        "the deadline falls at closing time 2025-12-01T16:00:00Z; with due_at_closing: "
        "next_opening it is shown as the next opening 2025-12-02T08:00:00Z"
    ]


# -- effective_from --------------------------------------------------------------------------


def test_policy_not_yet_in_force_is_reported():
    explanation = _scenario("effective_from")
    assert explanation.policy is not None
    assert explanation.policy.name == "email"
    newer, older = explanation.checks
    assert (newer.name, newer.matched, newer.failed) == ("email-2026", False, ())
    assert newer.why_not(format_utc) == (
        "ticket created before 2025-12-31T23:00:00Z; the policy applies to tickets created "
        "from then",
    )
    assert older.matched
    selection = explanation_to_dict(explanation)["selection"][0]
    assert selection["effective_from"] == "2025-12-31T23:00:00Z"
    assert selection["failed"] == list(newer.why_not(format_utc))
    lines = _rendered(explanation, "Europe/Berlin")
    assert any(
        "no match │ ticket created before Thu 2026-01-01 00:00; the policy applies to" in line
        for line in lines
    ), lines


def test_policy_in_force_and_not_matching_lists_only_conditions():
    explanation = _explain(VERSIONS, [_created("2026-01-02T09:00:00Z", channel="chat")],
                           "2026-01-02T10:00:00Z")  # fmt: skip
    assert explanation.policy is None
    newer = explanation.checks[0]
    assert newer.why_not(format_utc) == ("channel 'chat' not in ['email']",)


def test_hidden_and_paused_says_the_clock_is_paused():
    explanation = _explain(
        "policies:\n  - name: p\n    metrics:\n"
        "      resolution: {targets: 8h, pause_when: [on_hold], hide_when: [on_hold]}\n",
        [_created(D + "09:00:00Z"), _status(D + "10:00:00Z", "on_hold")],
        D + "11:00:00Z",
    )
    resolution = _clock(explanation, "resolution")
    assert (resolution.clock.state, resolution.clock.elapsed) == ("paused", 3600)
    assert resolution.stop_text == "still paused"
    assert _notes(resolution) == [
        "the deadline is hidden while the ticket is on_hold (hide_when); the clock is paused too"
    ]


def test_start_delay_note():
    text = OFFICE + (
        "policies:\n  - name: p\n    calendar: office\n    metrics:\n"
        "      resolution: {targets: 8h, start_delay: 60m}\n"
    )
    explanation = _explain(text, [_created("2025-12-05T15:30:00Z")], "2025-12-08T12:00:00Z")
    res = _clock(explanation, "resolution")
    assert format_utc(res.clock.start) == "2025-12-08T08:30:00Z"
    assert _notes(res) == [
        "created at 2025-12-05T15:30:00Z (line 1); with start_delay: 1h the clock starts after "
        "that much open time of calendar 'office', at 2025-12-08T08:30:00Z"
    ]
