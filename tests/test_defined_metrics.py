"""Metrics defined in YAML (a policy file's top-level ``metrics:``), end to end.

Through the CLI and the Python API, checked by ``slaengine check`` with line and column,
and held against the built-in metrics they can spell: the same definition run by the
trigger machine gives the built-in's results on generated tickets.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

import slaengine
from slaengine.cli import main
from slaengine.errors import PolicyError
from slaengine.inputs.synthetic import to_event_objects
from slaengine.policy import loads_policies
from slaengine.policy.model import Match
from slaengine.timeline import PRIORITIES, build_timelines
from test_clock_record import check_all

POLICY = """\
version: 1
metrics:
  time_to_own:
    description: From creation to the first assignment.
    start: created
    stop: assigned
  tier2_time:
    description: Each stint in group tier2.
    start: {group: tier2}
    stop: {not: {group: tier2}}
    repeat: true
    pause: [{tag: waiting-vendor}]
policies:
  - name: support
    calendar: 24x7
    metrics:
      time_to_own: {targets: 1h, warn_at: [50%]}
      tier2_time: {targets: 4h, pause_when: [pending]}
      resolution: {targets: 24h}
"""
EVENTS = [
    ("2025-12-01T09:00:00Z", "created", {"channel": "email", "priority": "normal"}),
    ("2025-12-01T09:40:00Z", "update", {"assignee": "lea"}),
    ("2025-12-01T10:00:00Z", "update", {"group": "tier2"}),
    ("2025-12-01T11:00:00Z", "update", {"tags": ["waiting-vendor"]}),
    ("2025-12-01T12:00:00Z", "status", {"status": "pending"}),
    ("2025-12-01T12:30:00Z", "status", {"status": "open"}),
    ("2025-12-01T13:00:00Z", "update", {"tags": []}),
    ("2025-12-01T14:00:00Z", "update", {"group": "tier1"}),
    ("2025-12-01T15:00:00Z", "update", {"group": "tier2"}),
    ("2025-12-01T15:30:00Z", "status", {"status": "pending"}),
]
NOW = "2025-12-01T16:00:00Z"


def _events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    rows = [{"ticket": "T-1", "at": at, "type": kind, **extra} for at, kind, extra in EVENTS]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _expect(clocks: list[dict[str, object]]) -> None:
    summary = [
        (c["metric"], c["instance"], c["state"], c["stop_reason"], c["elapsed_seconds"])
        for c in clocks
    ]
    assert summary == [
        ("time_to_own", 1, "achieved", "fulfilled", 2400),
        # 10:00-11:00 counted; 11:00-13:00 paused (tag, then pending inside it); 13:00-14:00.
        ("tier2_time", 1, "achieved", "fulfilled", 7200),
        # 15:00-15:30 counted, then paused by pending.
        ("tier2_time", 2, "paused", None, 1800),
        ("resolution", 1, "active", None, 7 * 3600),
    ]


def test_cli_evaluates_a_metric_defined_in_yaml(tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    code = main(
        [
            "evaluate",
            "--policies",
            str(policy),
            "--events",
            str(_events_file(tmp_path)),
            "--at",
            NOW,
            "--format",
            "json",
            "--segments",
        ]
    )
    assert code in (0, 1)
    [ticket] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    clocks = ticket["metrics"]
    _expect(clocks)
    own, first_stint = clocks[0], clocks[1]
    assert (own["agent"], own["stop"], own["due"]) == (
        "lea",
        "2025-12-01T09:40:00Z",
        "2025-12-01T10:00:00Z",
    )
    assert own["alerts"][0]["at"] == "2025-12-01T09:30:00Z"
    assert first_stint["pauses"] == [{"from": "2025-12-01T11:00:00Z", "to": "2025-12-01T13:00:00Z"}]
    story = [
        (s["from"][11:16], s["to"][11:16], s["reason"], s["status"], s["condition"], s["line"])
        for s in first_stint["segments"]
    ]
    assert story == [
        ("10:00", "11:00", "running", None, None, 3),
        ("11:00", "12:00", "paused", None, "tag waiting-vendor", 4),
        ("12:00", "12:30", "paused", "pending", None, 5),
        ("12:30", "13:00", "paused", None, "tag waiting-vendor", 6),
        ("13:00", "14:00", "running", None, None, 7),
    ]
    for clock in clocks:
        counted = sum(s["seconds"] for s in clock["segments"])
        assert counted == clock["elapsed_seconds"]


def test_python_api_evaluates_a_metric_defined_in_yaml(tmp_path):
    policies = loads_policies(POLICY, "policy.yaml")
    metric = policies.policies[0].metrics[1]
    assert metric.kind == "tier2_time"
    assert metric.definition.repeat
    assert not metric.definition.builtin
    assert metric.pause_when == frozenset({"pending"})
    [condition] = metric.pause_conditions
    assert condition.text == "tag waiting-vendor"
    timelines = slaengine.read_events(_events_file(tmp_path))
    [result] = slaengine.evaluate(
        policies, timelines, dt.datetime(2025, 12, 1, 16, tzinfo=dt.UTC), segments=True
    )
    now = slaengine.engine.as_epoch(dt.datetime(2025, 12, 1, 16, tzinfo=dt.UTC))
    assert check_all([result], now) == 4
    _expect(
        [
            {
                "metric": c.metric,
                "instance": c.instance,
                "state": c.state,
                "stop_reason": c.stop_reason,
                "elapsed_seconds": c.elapsed,
            }
            for c in result.clocks
        ]
    )


def _evaluate(policy: str, rows: list[tuple[str, str, dict[str, object]]], at: str):
    result = _evaluate_with(loads_policies(policy), rows, at)
    now = slaengine.engine.as_epoch(dt.datetime.fromisoformat(at))
    assert check_all([result], now) == len(result.clocks)
    return result.clocks


def _evaluate_with(policies, rows, at: str) -> slaengine.TicketResult:
    events = [
        slaengine.parse_event({"ticket": "T-1", "at": t, "type": kind, **extra}, seq=n, line=n)
        for n, (t, kind, extra) in enumerate(rows, start=1)
    ]
    timeline = build_timelines(events).timelines["T-1"]
    now = slaengine.engine.as_epoch(dt.datetime.fromisoformat(at))
    result = slaengine.evaluate_timeline(policies, timeline, now, segments=True)
    assert result is not None
    return result


def _one_metric(definition: str, metric: str = "{targets: 2h}") -> str:
    return (
        "version: 1\nmetrics:\n  m:\n"
        + textwrap.indent(textwrap.dedent(definition), "    ")
        + f"policies:\n  - name: p\n    metrics:\n      m: {metric}\n"
    )


CREATED = ("2025-12-01T09:00:00Z", "created", {"channel": "chat", "priority": "normal"})


def test_cancel_trigger_and_solve():
    policy = _one_metric(
        """\
        start: customer_message
        stop: agent_reply
        cancel: {tag: spam}
        repeat: true
        """
    )
    clocks = _evaluate(
        policy,
        [
            CREATED,
            ("2025-12-01T09:10:00Z", "message", {"author": "customer"}),
            ("2025-12-01T09:20:00Z", "message", {"author": "agent", "public": False}),
            ("2025-12-01T09:30:00Z", "message", {"author": "agent", "agent": "lea"}),
            ("2025-12-01T10:00:00Z", "message", {"author": "customer"}),
            ("2025-12-01T10:05:00Z", "update", {"tags": ["spam"]}),
            ("2025-12-01T11:00:00Z", "message", {"author": "customer"}),
            ("2025-12-01T11:30:00Z", "status", {"status": "solved"}),
        ],
        "2025-12-01T12:00:00+00:00",
    )
    assert [(c.instance, c.state, c.stop_reason, c.elapsed) for c in clocks] == [
        (1, "achieved", "fulfilled", 1200),  # the internal note did not stop it
        (2, "cancelled", "cancelled", 300),
        (3, "cancelled", "solved", 1800),  # solving stops it (when_solved: stop)
    ]


def test_solve_as_stop_pause_on_solve_and_resume_on_reopen():
    rows = [
        CREATED,
        ("2025-12-01T10:00:00Z", "status", {"status": "solved"}),
        ("2025-12-01T11:00:00Z", "status", {"status": "open"}),
    ]
    at = "2025-12-01T12:00:00+00:00"
    met = _evaluate(_one_metric("start: created\nstop: solved\non_reopen: resume\n"), rows, at)
    assert [(c.state, c.stop, c.elapsed) for c in met] == [("active", None, 7200)]
    stays = _evaluate(_one_metric("start: created\nstop: solved\n"), rows, at)
    assert [(c.state, c.stop_reason, c.elapsed) for c in stays] == [("achieved", "solved", 3600)]
    by_status = _evaluate(_one_metric("start: created\nstop: {status: solved}\n"), rows, at)
    assert [(c.state, c.stop_reason) for c in by_status] == [("achieved", "fulfilled")]
    cancelled = _evaluate(_one_metric("start: created\ncancel: {status: solved}\n"), rows, at)
    assert [(c.state, c.stop_reason) for c in cancelled] == [("cancelled", "cancelled")]
    paused = _evaluate(_one_metric("start: created\nwhen_solved: pause\n"), rows, at)
    assert [(c.state, c.paused, c.elapsed) for c in paused] == [("active", 3600, 7200)]
    assert [s.reason for s in paused[0].record.segments] == ["running", "paused", "running"]


def test_a_condition_holding_at_creation_starts_and_pauses():
    created = (
        "2025-12-01T09:00:00Z",
        "created",
        {"channel": "chat", "priority": "normal", "group": "tier2"},
    )
    policy = _one_metric(
        """\
        start: {group: tier2}
        stop: {not: {group: tier2}}
        pause: {field: {plan: free}}
        """,
        "{targets: 2h, pause_when: [{tag: vip}]}",
    )
    clocks = _evaluate(
        policy,
        [
            created,
            ("2025-12-01T09:30:00Z", "update", {"fields": {"plan": "free"}}),
            ("2025-12-01T10:00:00Z", "update", {"fields": {"plan": "pro"}, "tags": ["vip"]}),
            ("2025-12-01T10:15:00Z", "update", {"tags": []}),
        ],
        "2025-12-01T11:00:00+00:00",
    )
    [clock] = clocks
    assert (clock.start, clock.elapsed, clock.paused) == (
        slaengine.engine.as_epoch(dt.datetime(2025, 12, 1, 9, tzinfo=dt.UTC)),
        75 * 60,
        45 * 60,
    )
    assert [(s.reason, s.condition) for s in clock.record.segments] == [
        ("running", None),
        ("paused", "field plan free"),
        ("paused", "tag vip"),
        ("running", None),
    ]


# --- slaengine check -------------------------------------------------------------------

BROKEN = """\
version: 1
metrics:
  resolution: {start: created}
  own:
    start: created
    stop: asigned
    cancel: {group: a, tag: b}
    repeat: yes please
  stint:
    start: {grop: tier2}
    pause: [solved, {status: pendng}]
    when_solved: hold
  2fast: {start: created}
  no_start: {stop: assigned}
  after_solve: {start: [solved, {status: closed}]}
  empty: {start: {tag: []}, stop: [{field: {plan: []}}, {group: [a, [b]]}]}
policies:
  - name: p
    metrics:
      own: {targets: 1h, fulfilled_by: agent}
      stnt: {targets: 1h}
"""
EXPECTED = [
    "3:3: E218 'resolution' is a built-in metric; give yours another name",
    "6:11: E218 unknown event 'asigned' in 'stop'; expected one of created, customer_message,"
    " agent_reply, agent_message, public_reply, any_reply, assigned, solved, reopened, or a"
    " condition like {group: tier2}; did you mean 'assigned'?",
    "7:13: E218 a condition has exactly one key, one of status, priority, group, assignee,"
    " channel, tag, field, not; got 2",
    "8:13: E103 'repeat' must be true or false, got 'yes please'",
    "10:13: E218 unknown condition 'grop'; expected one of status, priority, group, assignee,"
    " channel, tag, field, not; did you mean 'group'?",
    "11:13: E208 'solved' stops clocks; it cannot pause them",
    "11:30: E208 unknown status 'pendng'; expected one of new, open, pending, on_hold, solved,"
    " closed; did you mean 'pending'?",
    "12:18: E214 unknown value 'hold' for 'when_solved'; expected one of stop, pause",
    "13:3: E218 metric name '2fast' must start with a letter and hold only letters, digits,"
    " '_' and '-'",
    "14:13: E102 metric 'no_start' is missing required key 'start'",
    "15:24: E218 metric 'after_solve' would start only on a solved or closed ticket, where no"
    " clock starts; start it on something else (stop or cancel may be 'solved')",
    "16:24: E218 'tag: []' never holds; give at least one value",
    "16:51: E218 field 'plan' lists no value; give at least one",
    "16:69: E103 a value of 'group' must be text, got a list",
    "20:26: E213 'fulfilled_by' does not apply to own; it is a rule of first_response,"
    " next_response, periodic_update (a metric defined under 'metrics:' says what it does"
    " there)",
    "21:7: E101 unknown metric 'stnt' in policy 'p'; expected one of first_response,"
    " next_response, periodic_update, resolution, after_solve, empty, no_start, own, stint; did"
    " you mean 'stint'?",
]


def test_check_reports_bad_definitions_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    found = [line.split(":", 1)[1] for line in out.splitlines() if line.startswith(str(path))]
    assert found == EXPECTED


def test_definitions_are_shared_across_files_and_defined_once(tmp_path, capsys):
    (tmp_path / "a-metrics.yaml").write_text(
        "version: 1\nmetrics:\n  own: {start: created, stop: assigned}\n", encoding="utf-8"
    )
    (tmp_path / "b-policies.yaml").write_text(
        "version: 1\npolicies:\n  - name: p\n    metrics:\n      own: {targets: 1h}\n",
        encoding="utf-8",
    )
    policies = slaengine.load_policies(tmp_path)
    assert policies.policies[0].metrics[0].definition.name == "own"
    (tmp_path / "c-again.yaml").write_text(
        "version: 1\nmetrics:\n  own: {start: created}\n", encoding="utf-8"
    )
    with pytest.raises(PolicyError) as raised:
        slaengine.load_policies(tmp_path)
    [problem] = raised.value.problems
    assert (problem.line, problem.column, problem.code) == (3, 3, "E104")
    assert "already defined at" in problem.message
    assert "a-metrics.yaml:3" in problem.message


def test_fmt_keeps_definitions(tmp_path):
    from slaengine.policy.fmt import format_text

    messy = POLICY.replace(
        "    pause: [{tag: waiting-vendor}]", "    pause:\n    - {tag: waiting-vendor}"
    )
    out = format_text(messy, "policy.yaml")
    assert "    pause:\n      - {tag: waiting-vendor}\n" in out

    def metrics(text: str) -> list[tuple[object, ...]]:
        [policy] = loads_policies(text).policies
        return [(m.kind, m.definition, m.pause_when, m.pause_conditions) for m in policy.metrics]

    assert metrics(out) == metrics(POLICY)


# --- the trigger machine against the built-in metrics ----------------------------------

START = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
INSTANTS = (
    dt.datetime(2025, 11, 20, 16, 59, 31, tzinfo=dt.UTC),
    dt.datetime(2025, 12, 6, 10, 0, 0, tzinfo=dt.UTC),
)
SPELT = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
metrics:
  first_reply:
    start: created
    stop: agent_reply
  own:
    start: created
    stop: assigned
  update:
    start: agent_reply
    stop: agent_reply
    repeat: true
  solve:
    start: created
    stop: solved
    on_reopen: resume
policies:
  - name: p
    calendar: office
    metrics:
      first_response: {targets: 4h, pause_when: [on_hold]}
      first_reply: {targets: 4h, pause_when: [on_hold]}
      periodic_update: {targets: 8h}
      update: {targets: 8h}
      resolution: {targets: 24h, pause_when: [pending]}
      solve: {targets: 24h, pause_when: [pending]}
  - name: owning
    calendar: office
    metrics:
      first_response: {targets: 2h, fulfilled_by: assignment}
      own: {targets: 2h}
"""
PAIRS = {
    "first_response": "first_reply",
    "periodic_update": "update",
    "resolution": "solve",
}


@pytest.fixture(scope="module")
def generated() -> slaengine.TimelineSet:
    return build_timelines(to_event_objects(3_000, 7, START, days=30), "<synthetic>")


def _facts(clock: slaengine.ClockResult) -> tuple[object, ...]:
    return (
        clock.instance,
        clock.state,
        clock.start,
        clock.stop,
        clock.due,
        clock.elapsed,
        clock.paused,
        clock.priority,
        clock.agent,
        clock.pauses,
    )


@pytest.mark.parametrize("owning", [False, True], ids=["replies", "assignment"])
def test_defined_metrics_give_the_built_in_results(generated, owning):
    """The built-in behaviour written as a definition gives the built-in metric's results."""
    text = SPELT
    if owning:
        text = text.replace("  - name: p\n", "  - name: p\n    match: {channel: none}\n")
    else:
        text = text[: text.index("  - name: owning")]
    policies = loads_policies(text)
    pairs = {"first_response": "own"} if owning else PAIRS
    compared = 0
    for instant in INSTANTS:
        now = slaengine.engine.as_epoch(instant)
        for result in slaengine.evaluate(policies, generated, now, segments=True):
            check_all([result], now)
            for builtin, defined in pairs.items():
                left = [_facts(c) for c in result.clocks if c.metric == builtin]
                right = [_facts(c) for c in result.clocks if c.metric == defined]
                assert left == right, (result.ticket, builtin)
                compared += len(left)
    assert compared > 3_000


def test_a_metric_model_built_by_hand_without_a_definition_never_starts():
    from types import MappingProxyType

    from slaengine.calendar import AlwaysOpen
    from slaengine.policy.model import MetricPolicy, Policy, PolicySet

    calendar = AlwaysOpen("24x7")
    metric = MetricPolicy("unknown", MappingProxyType(dict.fromkeys(PRIORITIES, 3600)), calendar)
    assert metric.definition.start == ()
    assert not metric.definition.builtin
    policies = PolicySet((Policy("p", Match(), calendar, (metric,)),), {})
    result = _evaluate_with(policies, [CREATED], "2025-12-01T10:00:00+00:00")
    assert result.policy is not None
    assert result.clocks == ()


# Each clock rule of a built-in metric (the metric and its entry) and the definition that
# spells it, measured with the targets and pauses of that entry.
RULE_PAIRS = {
    "agent": (
        "first_response",
        "{targets: 4h, fulfilled_by: agent}",
        "{start: created, stop: agent_message}",
        "{targets: 4h}",
    ),
    "not_requester": (
        "first_response",
        "{targets: 4h, fulfilled_by: not_requester}",
        "{start: created, stop: public_reply}",
        "{targets: 4h}",
    ),
    "any_outgoing": (
        "first_response",
        "{targets: 4h, fulfilled_by: any_outgoing}",
        "{start: created, stop: any_reply}",
        "{targets: 4h}",
    ),
    "when_solved-pause": (
        "first_response",
        "{targets: 4h, when_solved: pause}",
        "{start: created, stop: agent_reply, when_solved: pause}",
        "{targets: 4h}",
    ),
    "update-by-agent": (
        "periodic_update",
        "{targets: 8h, fulfilled_by: agent}",
        "{start: agent_message, stop: agent_message, repeat: true}",
        "{targets: 8h}",
    ),
    "stays_met": (
        "resolution",
        "{targets: 24h, on_reopen: stays_met, pause_when: [pending]}",
        "{start: created, stop: solved, pause: pending}",
        "{targets: 24h}",
    ),
}


@pytest.mark.parametrize("bots", [False, True], ids=["no-bots", "bots"])
@pytest.mark.parametrize("rule", list(RULE_PAIRS))
def test_clock_rules_are_settings_a_definition_spells(generated, rule, bots):
    name, builtin, definition, entry = RULE_PAIRS[rule]
    text = (
        f"version: 1\nmetrics:\n  m: {definition}\npolicies:\n  - name: p\n"
        f"    bot_replies_count: {str(bots).lower()}\n"
        f"    metrics:\n      {name}: {builtin}\n      m: {entry}\n"
    )
    policies = loads_policies(text)
    compared = 0
    for instant in INSTANTS:
        for result in slaengine.evaluate(policies, generated, instant):
            left = [_facts(c) for c in result.clocks if c.metric == name]
            right = [_facts(c) for c in result.clocks if c.metric == "m"]
            assert left == right, (result.ticket, rule)
            compared += len(left)
    assert compared > 3_000


H_2 = [
    CREATED,
    ("2025-12-01T09:05:00Z", "message", {"author": "agent", "agent": "lea"}),
    ("2025-12-01T09:10:00Z", "status", {"status": "solved"}),
    ("2025-12-01T09:20:00Z", "message", {"author": "agent", "agent": "lea"}),
    ("2025-12-01T09:25:00Z", "message", {"author": "customer"}),
    ("2025-12-01T09:30:00Z", "status", {"status": "open"}),
]


def test_a_definition_like_next_response_starts_nothing_at_the_reopen():
    """Only the built-in starts at the reopen for a customer message written while solved
    (docs/policies.md lists it among the behaviours only built-ins have)."""
    at = "2025-12-01T10:00:00+00:00"
    like = _one_metric("start: customer_message\nstop: agent_reply\nrepeat: true\n")
    assert _evaluate(like, H_2, at) == ()
    builtin = _evaluate(
        like.replace("      m: {targets: 2h}", "      next_response: {targets: 2h}"), H_2, at
    )
    assert [(c.metric, c.instance, c.elapsed) for c in builtin] == [("next_response", 1, 1800)]
    # Starting at every reopen too, as the docs suggest, keeps that wait.
    reopens = _one_metric("start: [customer_message, reopened]\nstop: agent_reply\nrepeat: true\n")
    assert [(c.instance, c.state, c.elapsed) for c in _evaluate(reopens, H_2, at)] == [
        (1, "active", 1800)
    ]


def test_an_empty_metrics_map_lists_the_defined_metrics_too():
    text = textwrap.dedent(
        """\
        version: 1
        metrics:
          ownership: {per: group}
        agreements:
          - name: tier2-ola
            metrics: {}
        """
    )
    with pytest.raises(PolicyError) as raised:
        loads_policies(text, "p.yaml")
    [problem] = raised.value.problems
    assert (problem.line, problem.column, problem.code) == (6, 14, "E102")
    assert problem.message.endswith(
        "expected some of first_response, next_response, periodic_update, resolution, ownership"
    )
