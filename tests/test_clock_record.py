"""The engine's record of each clock: segments that tile its span and add up to elapsed.

Checked on the examples, the shipped policies and 5,000 generated tickets under every
``semantics:`` preset and every clock rule, at instants where clocks run, pause, hide
their deadline, wait for a deferred start and have stopped.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

import slaengine
from slaengine.clock_record import ClockRecord
from slaengine.clocks import ClockResult
from slaengine.engine import TicketResult
from slaengine.inputs.synthetic import to_event_objects
from slaengine.policy import load_policies, loads_policies
from slaengine.policy.semantics import PRESETS
from slaengine.timeline import build_timelines

ROOT = Path(__file__).resolve().parent.parent
START = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
TICKETS = 5_000
# One instant inside the generated window (clocks running, paused, not started yet) and
# one after it (most stopped).
INSTANTS = (
    dt.datetime(2025, 11, 20, 16, 59, 31, tzinfo=dt.UTC),
    dt.datetime(2025, 12, 6, 10, 0, 0, tzinfo=dt.UTC),
)

CALENDAR = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: [{country: DE, subdivision: BE}, 2025-12-24]
"""
METRICS = """
    metrics:
      first_response: {targets: {urgent: 30m, high: 1h, normal: 4h, low: 8h}, warn_at: [50%]}
      next_response: {targets: 2h, pause_when: [pending]}
      periodic_update: {targets: 8h}
      resolution:
        targets: {urgent: 8h, high: 16h, normal: 24h, low: 40h}
        pause_when: [pending, on_hold]
        escalations: [{after: 0m}, {after: 4h}]
"""
# Every clock rule that is not a preset's default, with its neighbours.
RULES = """
    precision: minutes
    due_at_closing: next_opening
    metrics:
      first_response: {targets: 2h, starts: first_business_minute, fulfilled_by: assignment}
      next_response:
        targets: 1h
        counts_from: latest_customer_message
        when_solved: pause
        hide_when: [on_hold]
      periodic_update: {targets: 4h, customer_message_stops: true, pause_when: [on_hold]}
      resolution:
        targets: 3 working days
        starts: first_business_minute
        on_reopen: stays_met
        pause_when: [pending]
        hide_when: [on_hold]
"""


def _policy(name: str, body: str, semantics: str | None = None, calendar: str = "office") -> str:
    preset = f"    semantics: {semantics}\n" if semantics else ""
    return (
        f"version: 1\n{CALENDAR}\npolicies:\n  - name: {name}\n    calendar: {calendar}\n"
        f"{preset}{body}"
    )


POLICIES = {
    "plain": _policy("plain", METRICS),
    "plain-24x7": _policy("plain", METRICS, calendar="24x7"),
    "rules": _policy("rules", RULES),
    **{f"preset-{name}": _policy(name, METRICS, semantics=name) for name in PRESETS},
}


def check_record(clock: ClockResult, now: int) -> None:
    """Segments tile the clock's span without gap or overlap; counted ones sum to elapsed."""
    record = clock.record
    assert isinstance(record, ClockRecord)
    end = clock.stop if clock.stop is not None else now
    assert record.end == end
    segments = record.segments
    if end < clock.start:  # a deferred start still ahead
        assert [(s.start, s.end, s.counted) for s in segments] == [(end, clock.start, False)]
    elif end == clock.start:
        assert segments == ()
    else:
        assert segments[0].start == clock.start
        assert segments[-1].end == end
        for before, after in itertools.pairwise(segments):
            assert before.end == after.start, (before, after)
        assert all(s.start < s.end for s in segments)
    assert sum(s.end - s.start for s in segments if s.counted) == clock.elapsed
    assert record.counted == clock.elapsed


def check_all(results: list[TicketResult], now: int) -> int:
    count = 0
    for result in results:
        for clock in result.clocks:
            check_record(clock, now)
            count += 1
    return count


@pytest.fixture(scope="module")
def generated() -> slaengine.TimelineSet:
    return build_timelines(to_event_objects(TICKETS, 11, START, days=30), "<synthetic>")


@pytest.mark.parametrize("name", list(POLICIES))
def test_generated_tickets_under_every_preset(generated, name):
    policies = loads_policies(POLICIES[name], f"{name}.yaml")
    reasons: set[str] = set()
    for instant in INSTANTS:
        now = slaengine.engine.as_epoch(instant)
        results = slaengine.evaluate(policies, generated, now, segments=True)
        assert check_all(results, now) > TICKETS
        reasons |= {s.reason for r in results for c in r.clocks for s in c.record.segments}
    assert {"running", "paused"} <= reasons
    # Under on_reopen: stays_met a reopen never resumes the resolution clock. Under
    # stops_at: closed a solve does not stop it, so only a reopen after a close would.
    metrics = [m for p in policies.policies for m in p.metrics]
    stays_met = any(m.on_reopen == "stays_met" for m in metrics)
    if not any(m.stops_at == "closed" for m in metrics):
        assert ("stopped" in reasons) is not stays_met
    else:
        assert "stopped" not in reasons or not stays_met
    assert ("closed" in reasons) is (name != "plain-24x7")


# Metrics defined in YAML, on what generated tickets do: assignments, status conditions,
# tags and fields set at creation, reopens.
DEFINED = """
metrics:
  time_to_own: {start: created, stop: assigned}
  on_hold_time:
    start: {status: on_hold}
    stop: {not: {status: on_hold}}
    repeat: true
  waiting:
    start: customer_message
    stop: agent_reply
    cancel: solved
    repeat: true
    pause: [{tag: vip}, pending]
  handling:
    start: {not: {status: new}}
    stop: solved
    on_reopen: resume
    when_solved: pause
    pause: {field: {plan: [free, pro]}}
"""
DEFINED_METRICS = """
    metrics:
      time_to_own: {targets: 2h, warn_at: [50%]}
      on_hold_time: {targets: 8h}
      waiting: {targets: 1h}
      handling:
        targets: 3 working days
        pause_when: [{group: billing}]
        hide_when: [on_hold]
      resolution: {targets: 24h, pause_when: [pending, {tag: vip}]}
"""


@pytest.mark.parametrize("rules", ["", "    precision: minutes\n"], ids=["seconds", "minutes"])
def test_defined_metrics_on_generated_tickets(generated, rules):
    text = _policy("defined", rules + DEFINED_METRICS).replace("\npolicies:", DEFINED + "policies:")
    policies = loads_policies(text, "defined.yaml")
    reasons: set[str] = set()
    metrics: set[str] = set()
    conditions: set[str | None] = set()
    for instant in INSTANTS:
        now = slaengine.engine.as_epoch(instant)
        results = slaengine.evaluate(policies, generated, now, segments=True)
        assert check_all(results, now) > TICKETS
        for result in results:
            for clock in result.clocks:
                metrics.add(clock.metric)
                reasons |= {s.reason for s in clock.record.segments}
                conditions |= {s.condition for s in clock.record.segments}
    assert metrics == {"time_to_own", "on_hold_time", "waiting", "handling", "resolution"}
    assert {"running", "hidden", "closed", "paused", "stopped"} <= reasons
    assert {"tag vip", "group billing", "field plan free, pro"} <= conditions


def test_rules_policy_records_every_kind_of_segment(generated):
    policies = loads_policies(POLICIES["rules"], "rules.yaml")
    reasons: set[str] = set()
    rules: set[str] = set()
    for instant in INSTANTS:
        now = slaengine.engine.as_epoch(instant)
        for result in slaengine.evaluate(policies, generated, now, segments=True):
            for clock in result.clocks:
                reasons |= {s.reason for s in clock.record.segments}
                rules |= {a.rule for a in clock.record.adjustments}
    # on_reopen: stays_met never resumes a resolution clock, so nothing is "stopped".
    assert reasons == {"running", "hidden", "closed", "paused", "not_started", "rounded"}
    assert {"precision", "hide_when"} <= rules


def test_examples_and_shipped_policies():
    policies = load_policies(ROOT / "policies")
    timelines = slaengine.read_events(ROOT / "examples" / "tickets.jsonl", policies.status_map)
    count = 0
    for now in (
        slaengine.engine.as_epoch(dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC)),
        slaengine.engine.as_epoch(dt.datetime(2025, 12, 20, tzinfo=dt.UTC)),
    ):
        count += check_all(slaengine.evaluate(policies, timelines, now, segments=True), now)
    assert count > 20


def test_bench_policy_on_generated_tickets(generated):
    policies = load_policies(ROOT / "benchmarks" / "policies" / "bench.yaml")
    now = slaengine.engine.as_epoch(INSTANTS[0])
    assert check_all(slaengine.evaluate(policies, generated, now, segments=True), now) > TICKETS


def test_recording_changes_no_result(generated):
    policies = loads_policies(POLICIES["rules"], "rules.yaml")
    now = slaengine.engine.as_epoch(INSTANTS[0])
    plain = slaengine.evaluate(policies, generated, now)
    recorded = slaengine.evaluate(policies, generated, now, segments=True)
    assert all(c.record is None for r in plain for c in r.clocks)
    for a, b in zip(plain, recorded, strict=True):
        assert [(c.state, c.due, c.elapsed, c.paused, c.alerts) for c in a.clocks] == [
            (c.state, c.due, c.elapsed, c.paused, c.alerts) for c in b.clocks
        ]


def _timeline(*rows: tuple[str, str, dict[str, object]]) -> slaengine.Timeline:
    events = [
        slaengine.parse_event({"ticket": "T-1", "at": at, "type": kind, **extra}, seq=n, line=n)
        for n, (at, kind, extra) in enumerate(rows, start=1)
    ]
    return build_timelines(events).timelines["T-1"]


def _story(clock: ClockResult) -> list[tuple[str, str, str, str | None, int | None, str | None]]:
    assert clock.record is not None
    return [
        (
            slaengine.calendar.format_utc(s.start)[11:16],
            slaengine.calendar.format_utc(s.end)[11:16],
            s.reason,
            s.status,
            s.event.line if s.event is not None else None,
            s.rule,
        )
        for s in clock.record.segments
    ]


OFFICE_POLICY = _policy(
    "office",
    """
    metrics:
      first_response: {targets: 1h}
      resolution: {targets: 8h, pause_when: [pending]}
""",
)


def test_segments_name_the_event_or_rule_at_each_boundary():
    timeline = _timeline(
        ("2025-12-01T07:30:00Z", "created", {"channel": "email", "priority": "normal"}),
        ("2025-12-01T08:30:00Z", "message", {"author": "agent", "agent": "jonas"}),
        ("2025-12-01T09:00:00Z", "status", {"status": "pending"}),
        ("2025-12-01T10:00:00Z", "status", {"status": "open"}),
        ("2025-12-01T11:00:00Z", "status", {"status": "solved"}),
        ("2025-12-01T12:00:00Z", "status", {"status": "open"}),
    )
    policies = loads_policies(OFFICE_POLICY)
    now = slaengine.engine.as_epoch(dt.datetime(2025, 12, 1, 13, tzinfo=dt.UTC))
    result = slaengine.evaluate_timeline(policies, timeline, now, segments=True)
    assert result is not None
    first, resolution = result.clocks
    assert _story(first) == [
        ("07:30", "08:00", "closed", None, 1, None),
        ("08:00", "08:30", "running", None, None, "calendar"),
    ]
    assert first.record is not None
    assert first.record.stop_event is not None
    assert first.record.stop_event.line == 2
    assert _story(resolution) == [
        ("07:30", "08:00", "closed", None, 1, None),
        ("08:00", "09:00", "running", None, None, "calendar"),
        ("09:00", "10:00", "paused", "pending", 3, None),
        ("10:00", "11:00", "running", None, 4, None),
        ("11:00", "12:00", "stopped", "solved", 5, None),
        ("12:00", "13:00", "running", None, 6, None),
    ]
    assert resolution.elapsed == 3 * 3600


def test_reopen_before_a_deferred_start_resumes_at_the_start():
    """Created Saturday, solved and reopened before Monday's opening: the clock starts at
    the opening and the early solve and reopen do not move it (a behaviour change: the
    reopen used to resume the clock at the reopen, before its start)."""
    text = _policy(
        "deferred",
        """
    metrics:
      resolution: {targets: 8h, calendar: 24x7, starts: first_business_minute}
""",
    )
    timeline = _timeline(
        ("2025-12-06T10:00:00Z", "created", {"channel": "email", "priority": "normal"}),
        ("2025-12-06T10:30:00Z", "status", {"status": "solved"}),
        ("2025-12-06T11:00:00Z", "status", {"status": "open"}),
    )
    now = slaengine.engine.as_epoch(dt.datetime(2025, 12, 8, 9, tzinfo=dt.UTC))
    result = slaengine.evaluate_timeline(loads_policies(text), timeline, now, segments=True)
    assert result is not None
    [clock] = result.clocks
    assert (clock.state, clock.elapsed, clock.due) == (
        "active",
        3600,
        slaengine.engine.as_epoch(dt.datetime(2025, 12, 8, 16, tzinfo=dt.UTC)),
    )
    assert _story(clock) == [("08:00", "09:00", "running", None, 3, "starts")]


def test_cli_prints_segments(tmp_path, capsys):
    from slaengine.cli import main

    code = main(
        [
            "evaluate",
            "--policies",
            str(ROOT / "policies"),
            "--events",
            str(ROOT / "examples" / "tickets.jsonl"),
            "--at",
            "2025-12-01T12:00:00Z",
            "--format",
            "json",
            "--segments",
        ]
    )
    assert code in (0, 1)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    clocks = [m for line in lines for m in line["metrics"]]
    assert clocks
    for clock in clocks:
        counted = 0
        for segment in clock["segments"]:
            assert set(segment) >= {"from", "to", "counted", "reason"}
            start = dt.datetime.fromisoformat(segment["from"])
            end = dt.datetime.fromisoformat(segment["to"])
            if segment["counted"]:
                counted += int((end - start).total_seconds())
        assert counted == clock["elapsed_seconds"]


def test_cli_segments_need_json(capsys):
    from slaengine.cli import main

    code = main(
        [
            "evaluate",
            "--policies",
            str(ROOT / "policies"),
            "--events",
            str(ROOT / "examples" / "tickets.jsonl"),
            "--segments",
        ]
    )
    assert code == 2
    assert "--segments needs --format json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("policy_rule", "pause_when", "created", "later"),
    [
        pytest.param("", "pending", {"status": "pending"}, [], id="created-pending"),
        pytest.param(
            "",
            "pending",
            {"status": "pending"},
            [("2025-12-01T09:30:00Z", "status", {"status": "pending"})],
            id="pending-repeated",
        ),
        pytest.param("", "new", {}, [], id="plain-new"),
        pytest.param(
            "    precision: minutes\n", "pending", {"status": "pending"}, [], id="with-rules"
        ),
    ],
)
def test_created_in_a_pausing_status_is_paused_from_creation(
    policy_rule, pause_when, created, later
):
    """A behaviour change: such a ticket was not paused until a later status event."""
    text = (
        "version: 1\npolicies:\n  - name: pausing\n    calendar: 24x7\n"
        f"{policy_rule}    metrics:\n"
        f"      resolution: {{targets: 8h, pause_when: [{pause_when}]}}\n"
    )
    policies = loads_policies(text)
    assert policies.policies[0].has_rules is bool(policy_rule)
    timeline = _timeline(
        (
            "2025-12-01T09:00:00Z",
            "created",
            {"channel": "email", "priority": "normal", **created},
        ),
        *later,
    )
    now = slaengine.engine.as_epoch(dt.datetime(2025, 12, 1, 10, tzinfo=dt.UTC))
    result = slaengine.evaluate_timeline(policies, timeline, now, segments=True)
    assert result is not None
    [clock] = result.clocks
    assert (clock.state, clock.elapsed, clock.paused, clock.due) == ("paused", 0, 3600, None)
    assert _story(clock) == [("09:00", "10:00", "paused", pause_when, 1, None)]
