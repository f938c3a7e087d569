"""explain shows each clock's warnings and escalations as the engine computed them."""

from __future__ import annotations

import io
import json

from rich.console import Console

import slaengine
from slaengine.cli import main
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain import explain_ticket
from slaengine.report.explain import explanation_renderables, explanation_to_dict

POLICY = """
calendars:
  office:
    timezone: UTC
    hours: {mon-fri: "09:00-17:00"}
policies:
  - name: chat
    calendar: office
    metrics:
      first_response:
        targets: 1h
        warn_at: [{at: 50%, notify: [lead]}]
        escalations:
          - {after: 0m, notify: [lead]}
          - {after: 2h, notify: [manager]}
"""

EVENTS = [
    {
        "ticket": "T-1",
        "type": "created",
        "at": "2025-12-01T10:00:00Z",
        "channel": "chat",
        "priority": "normal",
    },
    # Replied after the breach, before the second escalation.
    {
        "ticket": "T-1",
        "type": "message",
        "at": "2025-12-01T11:30:00Z",
        "author": "agent",
        "agent": "ana",
    },
]


def _explained(events: list[dict[str, object]], at: str) -> slaengine.explain.Explanation:
    policies = slaengine.loads_policies(POLICY, "p.yaml")
    timelines = slaengine.build_timelines([parse_event(e, seq=i) for i, e in enumerate(events)])
    return explain_ticket(policies, timelines.timelines["T-1"], parse_instant(at))


def test_json_lists_each_alert_reached_or_not():
    explanation = _explained(EVENTS, "2025-12-01T12:00:00Z")
    clock = explanation_to_dict(explanation)["metrics"][0]
    assert clock["alerts"] == [
        {
            "kind": "warning",
            "level": 1,
            "at": "2025-12-01T10:30:00Z",
            "reached": True,
            "notify": ["lead"],
        },
        {
            "kind": "escalation",
            "level": 1,
            "at": "2025-12-01T11:00:00Z",
            "reached": True,
            "notify": ["lead"],
        },
        # The reply stopped the clock before two more business hours: never reached.
        {"kind": "escalation", "level": 2, "at": None, "reached": False, "notify": ["manager"]},
    ]


def test_a_running_clock_shows_when_its_alerts_fall_due():
    explanation = _explained(EVENTS[:1], "2025-12-01T10:40:00Z")
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)
    for renderable in explanation_renderables(explanation, "UTC"):
        console.print(renderable)
    out = buffer.getvalue()
    assert "warning 1: reached" in out
    assert "-> lead" in out
    assert "escalation 1: due" in out
    assert "escalation 2: due" in out
    assert "-> manager" in out
    alerts = explanation_to_dict(explanation)["metrics"][0]["alerts"]
    assert [a["reached"] for a in alerts] == [True, False, False]
    # Two business hours after the 11:00 breach: 13:00 the same day.
    assert alerts[2]["at"] == "2025-12-01T13:00:00Z"


def test_the_command_prints_alerts(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    # The command line checks notify targets against the plugins: none here.
    policy.write_text(POLICY.replace(", notify: [lead]", "").replace(", notify: [manager]", ""))
    lines = tmp_path / "e.jsonl"
    lines.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    args = ["explain", "-p", str(policy), "-e", str(lines), "--ticket", "T-1"]
    assert main([*args, "--at", "2025-12-01T12:00:00Z", "--tz", "UTC"]) == 0
    out = capsys.readouterr().out
    assert "escalation 2: not reached" in out
    assert main([*args, "--at", "2025-12-01T12:00:00Z", "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["metrics"][0]["alerts"]
    assert [(a["kind"], a["reached"]) for a in alerts] == [
        ("warning", True),
        ("escalation", True),
        ("escalation", False),
    ]


def test_explain_writes_evaluates_alert_keys_and_reached_in_the_same_order():
    # One form for both: evaluate's alert plus "reached" after "at", key order included.
    from slaengine.engine import evaluate_timeline
    from slaengine.report.json import clock_to_dict

    at = "2025-12-01T12:00:00Z"
    explained = explanation_to_dict(_explained(EVENTS, at))["metrics"][0]["alerts"]
    policies = slaengine.loads_policies(POLICY, "p.yaml")
    timelines = slaengine.build_timelines([parse_event(e, seq=i) for i, e in enumerate(EVENTS)])
    result = evaluate_timeline(policies, timelines.timelines["T-1"], parse_instant(at))
    assert result is not None
    evaluated = clock_to_dict(result.clocks[0])["alerts"]
    assert [list(a) for a in explained] == [["kind", "level", "at", "reached", "notify"]] * 3
    assert [list(a) for a in evaluated] == [["kind", "level", "at", "notify"]] * 3
    assert [{k: v for k, v in a.items() if k != "reached"} for a in explained] == evaluated
