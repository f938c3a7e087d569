"""explain's notes on what a metric's triggers did, read from the engine's record.

The record names the start trigger that fired at an instance's start, the stop or
cancel trigger at its stop, and the messages it ran through with the triggers each
fires. explain words them for a metric defined in YAML exactly as for a built-in: why a
message did not stop the clock, what paused it, what cancelled it, what started each
repeated instance. On generated tickets the record's facts are held against the walk's
decisions: a message the clock ran through never fires its stop.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.cli import main
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain import explain_ticket
from slaengine.inputs.synthetic import to_event_objects
from slaengine.policy import loads_policies
from slaengine.policy.definition import On
from slaengine.timeline import Timeline, build_timelines
from slaengine.vocabulary import StopReason

POLICY = """\
version: 1
metrics:
  waiting:
    start: customer_message
    stop: agent_reply
    cancel: solved
    repeat: true
  noted:
    start: created
    stop: [agent_message, {group: tier2}]
  vendor:
    start: created
    stop: customer_message
    cancel: [{priority: low}, {tag: spam}]
    pause: {tag: waiting-vendor}
policies:
  - name: p
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
      waiting: {targets: 1h}
      noted: {targets: 4h}
      vendor: {targets: 4h}
"""
AT = "2025-12-01T16:00:00Z"


def _ev(ticket: str, at: str, kind: str, **extra: object) -> dict[str, object]:
    return {"ticket": ticket, "at": f"2025-12-01T{at}:00Z", "type": kind, **extra}


# W: a customer writes; a bot, an internal note and a system message do not answer; kim
# does; the customer writes again and the ticket is solved unanswered. V: waits for a
# vendor (paused by the tag), then is marked spam (cancelled).
EVENTS = [
    _ev("W", "09:00", "created", channel="chat", priority="normal"),
    _ev("W", "09:05", "message", author="customer"),
    _ev("W", "09:10", "message", author="bot"),
    _ev("W", "09:15", "message", author="agent", public=False, agent="kim"),
    _ev("W", "09:20", "message", author="system"),
    _ev("W", "09:30", "message", author="agent", agent="kim"),
    _ev("W", "10:00", "message", author="customer"),
    _ev("W", "10:30", "status", status="solved"),
    _ev("V", "09:00", "created", channel="chat", priority="normal"),
    _ev("V", "10:00", "update", tags=["waiting-vendor"]),
    _ev("V", "11:00", "update", tags=["spam"]),
]


def _timeline(ticket: str) -> Timeline:
    parsed = [parse_event(e, seq=i, line=i + 1) for i, e in enumerate(EVENTS)]
    return build_timelines(parsed).timelines[ticket]


def _explained(ticket: str) -> dict[tuple[str, int], Any]:
    policies = loads_policies(POLICY, "p.yaml")
    explanation = explain_ticket(policies, _timeline(ticket), parse_instant(AT))
    return {(c.clock.metric, c.clock.instance): c for c in explanation.clocks}


def _notes(item: Any) -> list[tuple[str, str]]:
    return [(n.code, n.render(lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M")))
            for n in item.notes]  # fmt: skip


def test_the_record_names_the_triggers_and_the_messages_passed() -> None:
    policies = loads_policies(POLICY, "p.yaml")
    result = slaengine.evaluate_timeline(policies, _timeline("W"), parse_instant(AT), segments=True)
    assert result is not None
    facts = {}
    for clock in result.clocks:
        record = clock.record
        assert record is not None
        facts[(clock.metric, clock.instance)] = (
            record.start_trigger.text if record.start_trigger else None,
            record.stop_trigger.text if record.stop_trigger else None,
            [p.event.line for p in record.passed],
        )
    assert facts == {
        ("first_response", 1): ("created", "agent_reply", [2, 3, 4, 5]),
        ("waiting", 1): ("customer_message", "agent_reply", [3, 4, 5]),
        ("waiting", 2): ("customer_message", "solved", []),
        ("noted", 1): ("created", "agent_message", [2, 3]),
        ("vendor", 1): ("created", "customer_message", []),
    }
    bot = next(c for c in result.clocks if c.metric == "waiting").record
    assert bot is not None
    # The bot's message fires what any non-customer public message fires, not agent_reply.
    assert bot.passed[0].fires == {On.PUBLIC_REPLY, On.ANY_REPLY}


def test_recording_without_events_gives_no_trigger_facts() -> None:
    policies = loads_policies(POLICY, "p.yaml")
    result = slaengine.evaluate_timeline(policies, _timeline("W"), parse_instant(AT))
    assert result is not None
    assert all(c.record is None for c in result.clocks)


def test_a_yaml_metric_says_why_messages_did_not_stop_it_like_a_built_in() -> None:
    clocks = _explained("W")
    builtin = _notes(clocks[("first_response", 1)])
    defined = _notes(clocks[("waiting", 1)])
    assert builtin == [
        ("bot_ignored", "bot message at 09:10 (line 3) does not count: the policy has "
         "bot_replies_count: false"),
        ("internal_note_ignored", "internal note at 09:15 (line 4) does not count as a reply"),
        ("system_ignored", "system message at 09:20 (line 5) does not count: the metric has "
         "fulfilled_by: public_agent"),
    ]  # fmt: skip
    assert defined == [
        ("started_by", "waiting #1 started at 09:05 (line 2) by a customer message: start: "
         "customer_message happened (repeat: true starts an instance each time, when none "
         "is running)"),
        ("bot_ignored", "bot message at 09:10 (line 3) does not count: the policy has "
         "bot_replies_count: false"),
        ("internal_note_ignored", "internal note at 09:15 (line 4) does not count as a reply "
         "(stop: agent_reply)"),
        ("system_ignored", "system message at 09:20 (line 5) does not count: waiting has "
         "stop: agent_reply"),
    ]  # fmt: skip


def test_a_metric_met_by_any_agent_message_says_only_the_bot_did_not_count() -> None:
    clocks = _explained("W")
    noted = clocks[("noted", 1)]
    assert noted.stop_text == "fulfilled by kim's internal note"
    assert _notes(noted) == [
        ("bot_ignored", "bot message at 09:10 (line 3) does not count: the policy has "
         "bot_replies_count: false"),
        # Two ways to be met: the note names the one that fired.
        ("stopped_by", "kim's internal note at 09:15 (line 4) fired stop: agent_message "
         "(of stop: agent_message, group tier2)"),
    ]  # fmt: skip


def test_what_cancelled_a_repeated_instance() -> None:
    waiting = _explained("W")[("waiting", 2)]
    assert waiting.clock.state == "cancelled"
    assert waiting.stop_text == "cancelled by the status change to solved"
    assert _notes(waiting)[1:] == [
        ("cancelled_by", "the status change to solved at 10:30 (line 8) fired cancel: solved, "
         "so the clock was cancelled, not met"),
    ]  # fmt: skip
    assert _notes(waiting)[0][1].startswith("waiting #2 started at 10:00 (line 7)")


def test_what_paused_and_cancelled_a_metric_waiting_for_a_customer() -> None:
    vendor = _explained("V")[("vendor", 1)]
    assert vendor.stop_text == "cancelled by the tags spam"
    assert _notes(vendor) == [
        ("paused_by_condition", "paused from 10:00 (line 10) to 11:00 while tag "
         "waiting-vendor held: a pause condition of vendor"),
        ("cancelled_by", "the tags spam at 11:00 (line 11) fired cancel: tag spam (of cancel: "
         "priority low, tag spam), so the clock was cancelled, not met"),
    ]  # fmt: skip


def test_a_pause_that_lasts_says_the_condition_holds() -> None:
    policies = loads_policies(POLICY, "p.yaml")
    at = parse_instant("2025-12-01T10:30:00Z")
    explanation = explain_ticket(policies, _timeline("V"), at)
    vendor = next(c for c in explanation.clocks if c.clock.metric == "vendor")
    assert vendor.stop_text == "still paused"
    assert [n.code for n in vendor.notes] == ["due_unknown", "paused_by_condition"]
    assert vendor.notes[-1].render(str) == (
        f"paused from {parse_instant('2025-12-01T10:00:00Z')} (line 10) while tag "
        "waiting-vendor holds: a pause condition of vendor"
    )


def test_the_cli_prints_the_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    args = ["explain", "-p", str(tmp_path / "p.yaml"), "-e", str(events), "--ticket", "V"]
    assert main([*args, "--at", AT]) == 0
    out = capsys.readouterr().out
    assert "fired cancel: tag spam" in out
    assert "while tag waiting-vendor held" in out


# -- the record's facts against the walk's decisions, on generated tickets ------------

DEFINED = """\
version: 1
metrics:
  time_to_own: {start: created, stop: assigned}
  on_hold_time: {start: {status: on_hold}, stop: {not: {status: on_hold}}, repeat: true}
  waiting:
    start: customer_message
    stop: [agent_reply, {status: pending}]
    cancel: solved
    repeat: true
  noted: {start: created, stop: agent_message, cancel: {priority: low}}
policies:
  - name: p
    calendar: 24x7
    metrics:
      time_to_own: {targets: 2h}
      on_hold_time: {targets: 8h}
      waiting: {targets: 1h}
      noted: {targets: 4h}
      first_response: {targets: 1h, fulfilled_by: agent}
      next_response: {targets: 1h}
"""


def test_recorded_triggers_agree_with_the_walk_on_generated_tickets() -> None:
    policies = loads_policies(DEFINED, "defined.yaml")
    start = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
    timelines = build_timelines(to_event_objects(800, 5, start, days=14), "<synthetic>")
    now = parse_instant("2025-11-20T12:00:00Z")
    seen: dict[str, int] = {"stop": 0, "cancel": 0, "passed": 0}
    for result in slaengine.evaluate(policies, timelines, now, segments=True):
        for clock in result.clocks:
            record = clock.record
            assert record is not None
            metric = next(m for m in policies.policies[0].metrics if m.kind == clock.metric)
            definition = metric.definition
            if not definition.builtin:
                # Every defined instance starts by one of its start triggers.
                assert record.start_trigger in definition.start, clock
            if clock.stop_reason == StopReason.FULFILLED:
                assert record.stop_trigger in definition.fulfil, clock
                seen["stop"] += 1
            elif clock.stop_reason == StopReason.CANCELLED:
                assert record.stop_trigger in definition.cancel, clock
                seen["cancel"] += 1
            elif clock.stop is None:
                assert record.stop_trigger is None
            wanted = {t.on for t in definition.fulfil if t.on is not None}
            for passed in record.passed:
                # The clock ran through it: the message fired none of its stops.
                assert not passed.fires & wanted, (clock, passed)
                assert clock.start <= passed.event.at < record.end
                seen["passed"] += 1
    assert min(seen.values()) > 10, seen


def test_the_metrics_page_example_tells_what_the_page_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text("utf-8")
    section = page[page.index("## Metrics you define") :]
    policy = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    events = section.split("```jsonl\n", 1)[1].split("```", 1)[0]
    (tmp_path / "p.yaml").write_text(policy, encoding="utf-8")
    (tmp_path / "e.jsonl").write_text(events, encoding="utf-8")
    args = ["explain", "-p", str(tmp_path / "p.yaml"), "-e", str(tmp_path / "e.jsonl")]
    assert main([*args, "--ticket", "U-1", "--at", "2025-12-01T16:00:00Z", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = next(m for m in doc["metrics"] if (m["metric"], m["instance"]) == ("tier2_time", 1))
    texts = " ".join(n["text"] for n in first["notes"]) + " " + first["stop_text"]
    said = " ".join(
        section.split("`slaengine explain` tells the same story", 1)[1].split("\n\n")[0].split()
    )
    quoted_texts = said.split("`")[1::2][:4]
    assert len(quoted_texts) == 4
    for quoted in quoted_texts:
        assert quoted in texts, quoted


OWNERSHIP = """\
version: 1
metrics:
  ownership: {per: group}
policies:
  - name: p
    calendar: 24x7
    metrics:
      ownership: {targets: 2h}
"""


def test_each_group_s_turn_says_which_group_took_the_ticket() -> None:
    policies = loads_policies(OWNERSHIP, "o.yaml")
    rows = [
        _ev("G", "09:00", "created", channel="chat", priority="normal", group="tier1"),
        _ev("G", "10:00", "update", group="tier2"),
    ]
    parsed = [parse_event(e, seq=i, line=i + 1) for i, e in enumerate(rows)]
    timeline = build_timelines(parsed).timelines["G"]
    explanation = explain_ticket(policies, timeline, parse_instant(AT))
    notes = [[n.render(str) for n in c.notes] for c in explanation.clocks]
    nine, ten = parse_instant("2025-12-01T09:00:00Z"), parse_instant("2025-12-01T10:00:00Z")
    assert notes == [
        [f"ownership #1 started at {nine} (line 1) when group tier1 took the ticket (per: "
         "group: one instance per group's turn)"],
        [f"ownership #2 started at {ten} (line 2) when group tier2 took the ticket (per: "
         "group: one instance per group's turn)"],
    ]  # fmt: skip
