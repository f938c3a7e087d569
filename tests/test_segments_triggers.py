"""``evaluate --format json --segments`` gives the record's trigger facts: what started,
stopped or cancelled each clock, and which pause conditions paused it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import slaengine
from slaengine.cli import main
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.report.json import ticket_json, ticket_to_dict
from slaengine.timeline import build_timelines

POLICY = """\
version: 1
metrics:
  waiting:
    start: customer_message
    stop: agent_reply
    cancel: solved
    repeat: true
  vendor:
    start: created
    stop: customer_message
    cancel: [{priority: low}, {tag: spam}]
    pause: {tag: waiting-vendor}
policies:
  - name: p
    calendar: 24x7
    metrics:
      waiting: {targets: 1h}
      vendor: {targets: 4h}
"""
AT = "2025-12-01T16:00:00Z"


def _ev(ticket: str, at: str, kind: str, **extra: object) -> dict[str, object]:
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


# W: the customer writes, kim answers, the customer writes again, solved unanswered.
# V: waits for a vendor (paused by the tag), then is marked spam (cancelled).
# U: still waiting for the vendor at the evaluation instant.
EVENTS = [
    _ev("W", "09:00", "created", channel="chat", priority="normal"),
    _ev("W", "09:05", "message", author="customer"),
    _ev("W", "09:30", "message", author="agent", agent="kim"),
    _ev("W", "10:00", "message", author="customer"),
    _ev("W", "10:30", "status", status="solved"),
    _ev("V", "09:00", "created", channel="chat", priority="normal"),
    _ev("V", "10:00", "update", tags=["waiting-vendor"]),
    _ev("V", "11:00", "update", tags=["spam"]),
    _ev("U", "09:00", "created", channel="chat", priority="normal"),
    _ev("U", "10:00", "update", tags=["waiting-vendor"]),
]


def _evaluate(tmp_path: Path, capsys: Any, *more: str) -> dict[tuple[str, str, int], Any]:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    argv = ["evaluate", "-p", str(tmp_path / "p.yaml"), "-e", str(events), "--at", AT]
    assert main([*argv, "--format", "json", *more]) == 0
    tickets = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {(t["ticket"], m["metric"], m["instance"]): m for t in tickets for m in t["metrics"]}


def _fired(trigger: str | None, event: str, line: int, at: str) -> dict[str, object]:
    return {"trigger": trigger, "event": event, "line": line, "at": f"2025-12-01T{at}:00Z"}


def test_segments_name_the_triggers_that_started_stopped_and_cancelled(tmp_path, capsys):
    clocks = _evaluate(tmp_path, capsys, "--segments")
    met = clocks[("W", "waiting", 1)]
    assert met["started_by"] == _fired("customer_message", "message", 2, "09:05")
    assert met["stopped_by"] == _fired("agent_reply", "message", 3, "09:30")
    assert met["cancelled_by"] is None
    assert met["paused_by_condition"] == []
    cancelled = clocks[("W", "waiting", 2)]
    assert cancelled["state"] == "cancelled"
    assert cancelled["started_by"] == _fired("customer_message", "message", 4, "10:00")
    assert cancelled["stopped_by"] is None
    assert cancelled["cancelled_by"] == _fired("solved", "status", 5, "10:30")


def test_segments_name_each_pause_condition_and_whether_it_still_holds(tmp_path, capsys):
    clocks = _evaluate(tmp_path, capsys, "--segments")
    vendor = clocks[("V", "vendor", 1)]
    assert vendor["started_by"] == _fired("created", "created", 6, "09:00")
    assert vendor["cancelled_by"] == _fired("tag spam", "update", 8, "11:00")
    assert vendor["paused_by_condition"] == [
        {"condition": "tag waiting-vendor", "from": "2025-12-01T10:00:00Z",
         "to": "2025-12-01T11:00:00Z", "event": "update", "line": 7},
    ]  # fmt: skip
    waiting = clocks[("U", "vendor", 1)]
    assert waiting["state"] == "paused"
    assert waiting["stopped_by"] is None
    assert waiting["cancelled_by"] is None
    assert waiting["paused_by_condition"] == [
        {"condition": "tag waiting-vendor", "from": "2025-12-01T10:00:00Z", "to": None,
         "event": "update", "line": 10},
    ]  # fmt: skip


def test_without_segments_the_output_has_no_record(tmp_path, capsys):
    for clock in _evaluate(tmp_path, capsys).values():
        for key in ("segments", "started_by", "stopped_by", "cancelled_by", "paused_by_condition"):
            assert key not in clock


def test_the_fast_json_line_matches_the_dict_with_segments():
    policies = slaengine.loads_policies(POLICY, "p.yaml")
    parsed = [parse_event(e, seq=i, line=i + 1) for i, e in enumerate(EVENTS)]
    for timeline in build_timelines(parsed).timelines.values():
        result = slaengine.evaluate_timeline(policies, timeline, parse_instant(AT), segments=True)
        assert result is not None
        assert ticket_json(result) == json.dumps(ticket_to_dict(result), ensure_ascii=False)


def test_the_worked_example_in_metrics_md_shows_what_evaluate_prints(tmp_path, capsys):
    page = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text("utf-8")
    start = page.index("  tier2_time:\n    description")
    policy = page[page.rindex("```yaml\n", 0, start) + 8 : page.index("```", start)]
    first = page.index('{"ticket": "U-1", "at": "2025-12-01T09:00:00Z"')
    events = page[first : page.index("```", first)]
    shown_at = page.index('{"started_by": {"trigger": "group tier2"')
    shown = json.loads(page[shown_at : page.index("\n", shown_at)])
    (tmp_path / "p.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(events, encoding="utf-8")
    argv = ["evaluate", "-p", str(tmp_path / "p.yaml"), "-e", str(tmp_path / "e.jsonl")]
    assert main([*argv, "--at", "2025-12-01T16:00:00Z", "--format", "json", "--segments"]) == 0
    (ticket,) = map(json.loads, capsys.readouterr().out.splitlines())
    clock = next(m for m in ticket["metrics"] if (m["metric"], m["instance"]) == ("tier2_time", 1))
    assert {key: clock[key] for key in shown} == shown
