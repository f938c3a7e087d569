"""Clock results that once contradicted docs/metrics.md and docs/policies.md, with their figures.

Each case runs ``slaengine evaluate --format json`` on a policy file and an events file and
checks the figures the documentation gives. The office calendar is Berlin 09:00-17:00 on
weekdays: 08:00-16:00 UTC in December. 2025-12-06 is a Saturday.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slaengine.calendar import format_utc
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.live import LiveEngine, Store
from slaengine.policy import loads_policies

OFFICE = """version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["09:00-17:00"]
policies:
  - name: p
    calendar: office
    metrics:
"""
DEFERRED = (
    OFFICE + "      resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute}\n"
)
DEFERRED_ALERTS = OFFICE + (
    "      resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute,\n"
    "                   warn_at: [50%], escalations: [{after: 1h}]}\n"
)
ROUND_THE_CLOCK = """version: 1
policies:
  - name: p
    calendar: 24x7
    metrics:
"""


def line(at: str, kind: str, **fields: Any) -> dict[str, Any]:
    found = {"ticket": "T", "at": at, "type": kind, **fields}
    if kind == "created":
        found.setdefault("channel", "chat")
        found.setdefault("priority", "normal")
    return found


def evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, events: list[Any], at: str
) -> dict[str, Any]:
    """The ticket ``slaengine evaluate --format json --at AT`` prints."""
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    lines = "".join(json.dumps(e) + "\n" for e in events)
    (tmp_path / "events.jsonl").write_text(lines, encoding="utf-8")
    args = ["evaluate", "-p", str(tmp_path / "policy.yaml"), "-e", str(tmp_path / "events.jsonl")]
    code = main([*args, "--at", at, "--format", "json"])
    assert code in (0, 1)
    [ticket] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    return ticket


def clock(ticket: dict[str, Any], metric: str, instance: int = 1) -> dict[str, Any]:
    [found] = [m for m in ticket["metrics"] if (m["metric"], m["instance"]) == (metric, instance)]
    return found


def figures(found: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(found[name] for name in names)


# -- a status that never changes pauses --------------------------------------------------


@pytest.mark.parametrize(
    ("pause_when", "created", "later"),
    [
        pytest.param("pending", {"status": "pending"}, [], id="created-pending"),
        pytest.param("new", {}, [], id="plain-new"),
        pytest.param(
            "pending",
            {"status": "pending"},
            [line("2025-12-01T09:30:00Z", "status", status="pending")],
            id="pending-repeated",
        ),
    ],
)
def test_a_status_that_never_changes_pauses(tmp_path, capsys, pause_when, created, later):
    policy = ROUND_THE_CLOCK + f"      resolution: {{targets: 8h, pause_when: [{pause_when}]}}\n"
    events = [line("2025-12-01T09:00:00Z", "created", **created), *later]
    ticket = evaluate(tmp_path, capsys, policy, events, "2025-12-01T10:00Z")
    found = clock(ticket, "resolution")
    assert figures(found, "state", "elapsed_seconds", "paused_seconds", "due") == (
        "paused",
        0,
        3600,
        None,
    )


# -- warning levels follow the share ---------------------------------------------------


def test_warning_levels_are_numbered_by_share_not_by_list_order(tmp_path, capsys):
    policy = ROUND_THE_CLOCK + "      first_response: {targets: 1h, warn_at: [80%, 50%]}\n"
    ticket = evaluate(
        tmp_path, capsys, policy, [line("2025-12-01T09:00:00Z", "created")], "2025-12-01T09:10Z"
    )
    alerts = [(a["kind"], a["level"], a["at"]) for a in clock(ticket, "first_response")["alerts"]]
    assert alerts == [
        ("warning", 1, "2025-12-01T09:30:00Z"),
        ("warning", 2, "2025-12-01T09:48:00Z"),
    ]


# -- a deferred start and an early solve and reopen ------------------------------------

SATURDAY_SOLVED_AND_REOPENED = [
    line("2025-12-06T10:00:00Z", "created"),
    line("2025-12-06T10:30:00Z", "status", status="solved"),
    line("2025-12-06T11:00:00Z", "status", status="open"),
]


def test_reopen_before_a_deferred_start_counts_from_the_start(tmp_path, capsys):
    ticket = evaluate(tmp_path, capsys, DEFERRED, SATURDAY_SOLVED_AND_REOPENED, "2025-12-08T09:00Z")
    found = clock(ticket, "resolution")
    assert figures(found, "state", "start", "elapsed_seconds", "due", "stop") == (
        "active",
        "2025-12-08T08:00:00Z",
        3600,
        "2025-12-08T16:00:00Z",
        None,
    )


def test_solved_again_before_a_deferred_start_stops_at_the_start(tmp_path, capsys):
    """Solved again at 11:30 on Saturday: the stop is the start, never before it."""
    events = [
        *SATURDAY_SOLVED_AND_REOPENED,
        line("2025-12-06T11:30:00Z", "status", status="solved"),
    ]
    ticket = evaluate(tmp_path, capsys, DEFERRED, events, "2025-12-08T09:00Z")
    found = clock(ticket, "resolution")
    assert figures(found, "state", "start", "stop", "stop_reason", "elapsed_seconds", "due") == (
        "achieved",
        "2025-12-08T08:00:00Z",
        "2025-12-08T08:00:00Z",
        "solved",
        0,
        "2025-12-08T16:00:00Z",
    )


# -- alerts of a clock that has not started yet ----------------------------------------


@pytest.mark.parametrize(
    ("events", "at"),
    [
        pytest.param([line("2025-12-06T10:00:00Z", "created")], "2025-12-06T12:00Z", id="plain"),
        pytest.param(
            [
                line("2025-12-06T10:00:00Z", "created"),
                line("2025-12-06T11:00:00Z", "status", status="pending"),
                line("2025-12-06T11:30:00Z", "status", status="open"),
            ],
            "2025-12-07T12:00Z",
            id="after-a-status-change",
        ),
    ],
)
def test_alerts_of_a_clock_not_yet_started_count_from_its_start(tmp_path, capsys, events, at):
    policy = DEFERRED_ALERTS.replace("escalations:", "pause_when: [pending], escalations:")
    ticket = evaluate(tmp_path, capsys, policy, events, at)
    found = clock(ticket, "resolution")
    assert figures(found, "state", "start", "due", "elapsed_seconds") == (
        "active",
        "2025-12-08T08:00:00Z",
        "2025-12-08T16:00:00Z",
        0,
    )
    assert [(a["kind"], a["level"], a["at"]) for a in found["alerts"]] == [
        ("warning", 1, "2025-12-08T12:00:00Z"),
        ("escalation", 1, "2025-12-08T17:00:00Z"),
    ]


def test_the_live_engine_schedules_a_deferred_clock_from_its_start(tmp_path):
    policies = loads_policies(DEFERRED_ALERTS, "deferred.yaml")
    store = Store.open(tmp_path / "state.db")
    try:
        engine = LiveEngine(policies, store, lambda notification: ("ops",))
        created = parse_instant("2025-12-06T10:00:00Z")
        engine.ingest([line("2025-12-06T10:00:00Z", "created", id="e1")], created)
        saturday = parse_instant("2025-12-06T12:00:00Z")
        assert engine.advance(saturday).notifications == ()
        [status] = engine.status("T", saturday).metrics
        assert status.next_alert is not None
        assert (status.next_alert.kind, status.next_alert.at) == (
            "warning",
            parse_instant("2025-12-08T12:00:00Z"),
        )
        # Nothing to look at before Monday's warning point.
        assert store.next_wake() == parse_instant("2025-12-08T12:00:00Z")
        monday = engine.advance(parse_instant("2025-12-08T12:00:00Z"))
        assert [(n.kind, n.level, n.at) for n in monday.notifications] == [
            ("warning", 1, parse_instant("2025-12-08T12:00:00Z"))
        ]
        later = engine.advance(parse_instant("2025-12-08T17:00:01Z"))
        assert sorted((n.kind, n.at) for n in later.notifications) == [
            ("breach", parse_instant("2025-12-08T16:00:00Z")),
            ("escalation", parse_instant("2025-12-08T17:00:00Z")),
        ]
    finally:
        store.close()


# -- a customer message while solved, before any reply ---------------------------------

RESPONSES = ROUND_THE_CLOCK + (
    "      first_response: {targets: 1h}\n"
    "      next_response: {targets: 1h}\n"
    "      resolution: {targets: 24h}\n"
)


def test_customer_message_while_solved_before_any_reply_starts_nothing(tmp_path, capsys):
    events = [
        line("2025-12-01T09:00:00Z", "created"),
        line("2025-12-01T09:10:00Z", "status", status="solved"),
        line("2025-12-01T09:20:00Z", "message", author="customer"),
        line("2025-12-01T09:25:00Z", "message", author="agent", agent="lea"),
        line("2025-12-01T09:30:00Z", "status", status="open"),
    ]
    ticket = evaluate(tmp_path, capsys, RESPONSES, events, "2025-12-01T10:00Z")
    assert [(m["metric"], m["state"]) for m in ticket["metrics"]] == [
        ("first_response", "cancelled"),
        ("resolution", "active"),
    ]


@pytest.mark.parametrize(
    ("steps", "start"),
    [
        pytest.param([("09:20", "customer"), ("09:25", "agent")], None, id="answered-while-solved"),
        pytest.param(
            [("09:20", "agent"), ("09:25", "customer")],
            "2025-12-01T09:30:00Z",
            id="wrote-after-the-answer",
        ),
        pytest.param([("09:20", "customer")], "2025-12-01T09:30:00Z", id="unanswered"),
    ],
)
def test_customer_message_while_solved_after_a_reply(tmp_path, capsys, steps, start):
    """After the first reply, a customer message to a solved ticket starts next_response at
    the reopen, unless an agent answered it before the reopen."""
    events = [
        line("2025-12-01T09:00:00Z", "created"),
        line("2025-12-01T09:05:00Z", "message", author="agent", agent="lea"),
        line("2025-12-01T09:10:00Z", "status", status="solved"),
        *(line(f"2025-12-01T{hhmm}:00Z", "message", author=author) for hhmm, author in steps),
        line("2025-12-01T09:30:00Z", "status", status="open"),
    ]
    ticket = evaluate(tmp_path, capsys, RESPONSES, events, "2025-12-01T10:00Z")
    starts = [m["start"] for m in ticket["metrics"] if m["metric"] == "next_response"]
    assert starts == ([] if start is None else [start])


# -- customer messages while solved under when_solved: pause ---------------------------

PAUSED_THROUGH_SOLVE = ROUND_THE_CLOCK + (
    "      next_response: {targets: 1h, when_solved: pause, counts_from: latest_customer_message}\n"
    "      periodic_update: {targets: 2h, when_solved: pause, customer_message_stops: true}\n"
)


def test_customer_message_while_solved_supersedes_a_paused_update(tmp_path, capsys):
    """A behaviour change: the paused update clock ran on after the reopen beside the new
    next_response instance."""
    events = [
        line("2025-12-01T09:00:00Z", "created"),
        line("2025-12-01T09:10:00Z", "message", author="agent"),
        line("2025-12-01T09:30:00Z", "status", status="solved"),
        line("2025-12-01T09:40:00Z", "message", author="customer"),
        line("2025-12-01T10:00:00Z", "status", status="open"),
    ]
    ticket = evaluate(tmp_path, capsys, PAUSED_THROUGH_SOLVE, events, "2025-12-01T10:30Z")
    names = ("state", "start", "stop", "stop_reason", "elapsed_seconds", "paused_seconds")
    assert figures(clock(ticket, "periodic_update"), *names) == (
        "cancelled",
        "2025-12-01T09:10:00Z",
        "2025-12-01T09:40:00Z",
        "superseded",
        1200,
        600,
    )
    assert figures(clock(ticket, "next_response"), *names) == (
        "active",
        "2025-12-01T10:00:00Z",
        None,
        None,
        1800,
        0,
    )


def test_customer_message_while_solved_moves_a_paused_latest_wait(tmp_path, capsys):
    """A behaviour change: the paused instance kept counting from the earlier message."""
    events = [
        line("2025-12-01T09:00:00Z", "created"),
        line("2025-12-01T09:10:00Z", "message", author="agent"),
        line("2025-12-01T09:20:00Z", "message", author="customer"),
        line("2025-12-01T09:30:00Z", "status", status="solved"),
        line("2025-12-01T09:40:00Z", "message", author="customer"),
        line("2025-12-01T10:00:00Z", "status", status="open"),
    ]
    ticket = evaluate(tmp_path, capsys, PAUSED_THROUGH_SOLVE, events, "2025-12-01T10:30Z")
    found = clock(ticket, "next_response")
    assert figures(found, "state", "start", "due", "elapsed_seconds", "paused_seconds") == (
        "active",
        "2025-12-01T09:40:00Z",
        "2025-12-01T11:00:00Z",
        1800,
        1200,
    )
    assert [c["metric"] for c in ticket["metrics"]] == ["next_response", "periodic_update"]


# -- escalations of a clock that stopped without breaching -----------------------------


@pytest.mark.parametrize(
    ("precision", "reply", "created"),
    [
        pytest.param("", "2025-12-01T10:00:00Z", "2025-12-01T09:00:00Z", id="exactly-at-target"),
        pytest.param(
            "    precision: minutes\n",
            "2025-12-01T10:00:45Z",
            "2025-12-01T09:00:00Z",
            id="whole-minutes",
        ),
    ],
)
def test_a_clock_stopped_within_target_reaches_no_escalation(
    tmp_path, capsys, precision, reply, created
):
    """A behaviour change: `after: 0m` showed the due instant as reached."""
    policy = ROUND_THE_CLOCK.replace("    metrics:\n", precision + "    metrics:\n") + (
        "      first_response:\n"
        "        {targets: 1h, warn_at: [50%], escalations: [{after: 0m}, {after: 30m}]}\n"
    )
    events = [line(created, "created"), line(reply, "message", author="agent")]
    ticket = evaluate(tmp_path, capsys, policy, events, "2025-12-01T12:00Z")
    found = clock(ticket, "first_response")
    assert (found["state"], found["elapsed_seconds"]) == ("achieved", 3600)
    assert [(a["kind"], a["level"], a["at"]) for a in found["alerts"]] == [
        ("warning", 1, "2025-12-01T09:30:00Z"),
        ("escalation", 1, None),
        ("escalation", 2, None),
    ]


def test_a_clock_stopped_at_an_escalation_point_after_the_breach_reached_it(tmp_path, capsys):
    policy = ROUND_THE_CLOCK + (
        "      first_response:\n"
        "        {targets: 1h, warn_at: [50%], escalations: [{after: 0m}, {after: 30m}]}\n"
    )
    events = [
        line("2025-12-01T09:00:00Z", "created"),
        line("2025-12-01T10:30:00Z", "message", author="agent"),
    ]
    ticket = evaluate(tmp_path, capsys, policy, events, "2025-12-01T12:00Z")
    found = clock(ticket, "first_response")
    assert found["state"] == "breached"
    assert [(a["kind"], a["level"], a["at"]) for a in found["alerts"]] == [
        ("warning", 1, "2025-12-01T09:30:00Z"),
        ("escalation", 1, "2025-12-01T10:00:00Z"),
        ("escalation", 2, "2025-12-01T10:30:00Z"),
    ]


def _live(tmp_path: Path, policy: str, events: list[dict[str, Any]]) -> LiveEngine:
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(loads_policies(policy, "live.yaml"), store, lambda notification: ("ops",))
    stamped = [{"id": f"e{i}", **e} for i, e in enumerate(events)]
    engine.ingest(stamped, parse_instant(events[0]["at"]))
    return engine


def _delivered_until(engine: LiveEngine, start: str, end: str) -> list[tuple[str, str, int, str]]:
    """Advance from ``start`` to ``end`` wake by wake: (advanced at, kind, level, point)."""
    found = []
    now: int | None = parse_instant(start)
    while now is not None and now <= parse_instant(end):
        for n in engine.advance(now).notifications:
            found.append((format_utc(now), n.kind, n.level, format_utc(n.at)))
        now = engine.store.next_wake()
    return found


def test_the_live_engine_sends_no_escalation_for_a_reply_at_the_target(tmp_path):
    policy = ROUND_THE_CLOCK + (
        "      first_response:\n"
        "        {targets: 1h, warn_at: [50%], escalations: [{after: 0m}, {after: 30m}]}\n"
    )
    engine = _live(
        tmp_path,
        policy,
        [
            line("2025-12-01T09:00:00Z", "created", ticket="X-1"),
            line("2025-12-01T10:00:00Z", "message", ticket="X-1", author="agent"),
            line("2025-12-01T09:00:00Z", "created", ticket="X-3"),
            line("2025-12-01T10:30:00Z", "message", ticket="X-3", author="agent"),
        ],
    )
    try:
        sent = _delivered_until(engine, "2025-12-01T09:00:00Z", "2025-12-01T12:00:00Z")
    finally:
        engine.store.close()
    assert sorted(sent) == sorted(
        [
            ("2025-12-01T09:30:00Z", "warning", 1, "2025-12-01T09:30:00Z"),
            ("2025-12-01T09:30:00Z", "warning", 1, "2025-12-01T09:30:00Z"),
            ("2025-12-01T10:00:00Z", "achieved", 0, "2025-12-01T10:00:00Z"),
            ("2025-12-01T10:00:01Z", "breach", 0, "2025-12-01T10:00:00Z"),
            ("2025-12-01T10:00:01Z", "escalation", 1, "2025-12-01T10:00:00Z"),
            ("2025-12-01T10:30:00Z", "escalation", 2, "2025-12-01T10:30:00Z"),
        ]
    )


def test_the_live_engine_announces_a_reply_before_a_deferred_start_at_the_start(tmp_path):
    policy = OFFICE + (
        "      first_response: {targets: 1h, calendar: 24x7, starts: first_business_minute}\n"
    )
    engine = _live(
        tmp_path,
        policy,
        [
            line("2025-12-06T10:00:00Z", "created"),
            line("2025-12-06T11:00:00Z", "message", author="agent"),
        ],
    )
    try:
        sent = _delivered_until(engine, "2025-12-06T12:00:00Z", "2025-12-09T00:00:00Z")
    finally:
        engine.store.close()
    assert sent == [("2025-12-08T08:00:00Z", "achieved", 0, "2025-12-08T08:00:00Z")]


def test_the_live_engine_under_whole_minutes(tmp_path):
    """Warnings at their exact instants; the breach and the `after: 0m` escalation once the
    whole-minute count is over the target, each carrying the exact due instant."""
    policy = ROUND_THE_CLOCK.replace("    metrics:\n", "    precision: minutes\n    metrics:\n")
    policy += (
        "      first_response:\n"
        "        {targets: 7m, warn_at: [33%, 50%], escalations: [{after: 0m}]}\n"
    )
    engine = _live(tmp_path, policy, [line("2025-12-01T09:00:00Z", "created")])
    evaluations = []
    advance = engine.advance
    engine.advance = lambda now: evaluations.append(now) or advance(now)  # type: ignore[method-assign]
    try:
        sent = _delivered_until(engine, "2025-12-01T09:00:00Z", "2025-12-01T09:10:00Z")
    finally:
        engine.store.close()
    # Woken at each point, not every second while the clock counts its last minute.
    assert [format_utc(at)[11:19] for at in evaluations] == [
        "09:00:00",
        "09:02:18",
        "09:03:30",
        "09:07:00",
        "09:08:00",
    ]
    assert sent == [
        ("2025-12-01T09:02:18Z", "warning", 1, "2025-12-01T09:02:18Z"),
        ("2025-12-01T09:03:30Z", "warning", 2, "2025-12-01T09:03:30Z"),
        ("2025-12-01T09:08:00Z", "breach", 0, "2025-12-01T09:07:00Z"),
        ("2025-12-01T09:08:00Z", "escalation", 1, "2025-12-01T09:07:00Z"),
    ]


def test_a_reply_before_a_deferred_start_has_an_empty_record(tmp_path, capsys):
    policy = OFFICE + (
        "      first_response: {targets: 1h, calendar: 24x7, starts: first_business_minute}\n"
    )
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    events = [
        line("2025-12-06T10:00:00Z", "created"),
        line("2025-12-06T11:00:00Z", "message", author="agent"),
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    args = ["evaluate", "-p", str(tmp_path / "policy.yaml"), "-e", str(tmp_path / "events.jsonl")]
    assert main([*args, "--at", "2025-12-06T12:00Z", "--format", "json", "--segments"]) == 0
    [found] = json.loads(capsys.readouterr().out)["metrics"]
    assert figures(found, "state", "start", "stop", "elapsed_seconds", "segments") == (
        "achieved",
        "2025-12-08T08:00:00Z",
        "2025-12-08T08:00:00Z",
        0,
        [],
    )
