"""explain's ``counts_from: latest_customer_message`` note follows the recorded trigger.

A metric defined in YAML can restart its count on something other than a customer
message (an agent message, a status change); the note names what fired the start the
engine recorded at the event first counted from, and says "the customer also wrote"
only when that was a customer message.
"""

from __future__ import annotations

from typing import Any

import slaengine
from slaengine.calendar import format_utc
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain import ClockExplanation, explain_ticket

D = "2025-12-01T"

POLICY = """\
version: 1
metrics:
  customer_wait:
    start: START
    stop: STOP
    repeat: true
    counts_from: latest_customer_message
policies:
  - name: p
    metrics:
      customer_wait: {targets: 4h}
"""


def _clock(
    start: str, events: list[dict[str, Any]], at: str, stop: str = "customer_message"
) -> ClockExplanation:
    rows = [{"at": D + "09:00:00Z", "type": "created", "channel": "email", "priority": "normal"}]
    parsed = [
        parse_event({"ticket": "R-1", **row}, seq=i, line=i + 1)
        for i, row in enumerate(rows + events)
    ]
    timeline = slaengine.build_timelines(parsed).timelines["R-1"]
    policies = slaengine.loads_policies(
        POLICY.replace("START", start).replace("STOP", stop), "p.yaml"
    )
    explanation = explain_ticket(policies, timeline, parse_instant(D + at))
    [clock] = explanation.clocks
    return clock


def _counts_from(clock: ClockExplanation) -> list[str]:
    return [n.render(format_utc) for n in clock.notes if n.code == "counts_from_latest"]


def _message(at: str, author: str, agent: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"at": D + at, "type": "message", "author": author, "public": True}
    if agent is not None:
        row["agent"] = agent
    return row


def test_a_restart_on_agent_messages_names_the_reply_and_its_trigger():
    clock = _clock(
        "agent_message",
        [_message("09:10:00Z", "agent", "mia"), _message("09:30:00Z", "agent", "lea")],
        "10:00:00Z",
    )
    assert format_utc(clock.clock.start) == "2025-12-01T09:30:00Z"
    assert clock.start_line == 3
    assert _counts_from(clock) == [
        "mia's reply at 2025-12-01T09:10:00Z (line 2) fired start: agent_message and a later "
        "one did too; with counts_from: latest_customer_message the clock counts from the "
        "latest start"
    ]
    assert not any("customer also wrote" in n.text for n in clock.notes)


def test_a_restart_on_a_status_names_the_status_change():
    clock = _clock(
        "{status: pending}",
        [
            {"at": D + "09:10:00Z", "type": "status", "status": "pending"},
            {"at": D + "09:20:00Z", "type": "status", "status": "open"},
            {"at": D + "09:30:00Z", "type": "status", "status": "pending"},
        ],
        "10:00:00Z",
    )
    notes = _counts_from(clock)
    assert clock.start_line == 4
    assert notes == [
        "the status change to pending at 2025-12-01T09:10:00Z (line 2) fired start: "
        "status pending and a later one did too; with counts_from: latest_customer_message "
        "the clock counts from the latest start"
    ]


def test_a_restart_on_customer_messages_keeps_the_customer_wording():
    events = [_message("09:10:00Z", "customer"), _message("09:40:00Z", "customer")]
    clock = _clock("customer_message", events, "10:00:00Z", stop="agent_reply")
    assert _counts_from(clock) == [
        "the customer also wrote at 2025-12-01T09:10:00Z (line 2); with counts_from: "
        "latest_customer_message the clock counts from the latest message"
    ]


def test_one_start_moves_nothing():
    clock = _clock("agent_message", [_message("09:10:00Z", "agent", "mia")], "10:00:00Z")
    assert clock.start_line == 2
    assert _counts_from(clock) == []
