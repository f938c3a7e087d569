"""The engine records the metrics a rule kept from starting (``staff_created: exempt``).

``TicketResult.exemptions`` is the fact explain reads for its "opened by staff" note:
each names the metric, the rule and the event that says who opened the ticket.
"""

from __future__ import annotations

from typing import Any

import pytest

import slaengine
from slaengine.clock_walk import STAFF_CREATED, Exemption
from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.timeline import Timeline

D = "2025-12-01T"

EXEMPT = (
    "version: 1\npolicies:\n  - name: p\n    semantics: zendesk\n    metrics:\n"
    "      first_response: {targets: 1h}\n      resolution: {targets: 8h}\n"
)
MEASURED = EXEMPT.replace("    semantics: zendesk\n", "")


def _result(
    policy: str, events: list[dict[str, Any]], at: str = D + "10:00:00Z", segments: bool = False
) -> TicketResult:
    parsed = [
        parse_event({"ticket": "R-1", "channel": "email", **event}, seq=i, line=i + 1)
        for i, event in enumerate(events)
    ]
    timeline: Timeline = slaengine.build_timelines(parsed).timelines["R-1"]
    policies = slaengine.loads_policies(policy, "p.yaml")
    result = evaluate_timeline(policies, timeline, parse_instant(at), segments=segments)
    assert result is not None
    return result


def _created(**extra: Any) -> dict[str, Any]:
    return {"at": D + "09:00:00Z", "type": "created", "priority": "normal", **extra}


def _message(author: str, at: str = D + "09:05:00Z", **extra: Any) -> dict[str, Any]:
    return {"at": at, "type": "message", "author": author, "public": True, **extra}


def test_a_ticket_staff_opened_by_message_records_the_exemption():
    result = _result(EXEMPT, [_created(), _message("agent", agent="mia")])
    assert [c.metric for c in result.clocks] == ["resolution"]
    assert len(result.exemptions) == 1
    exemption = result.exemptions[0]
    assert (exemption.metric, exemption.rule) == ("first_response", STAFF_CREATED)
    assert (exemption.event.type, exemption.event.line, exemption.event.agent) == (
        "message",
        2,
        "mia",
    )


def test_a_created_event_naming_staff_is_the_deciding_event():
    result = _result(EXEMPT, [_created(author="agent")])
    assert [(e.metric, e.event.type, e.event.line) for e in result.exemptions] == [
        ("first_response", "created", 1)
    ]


@pytest.mark.parametrize(
    ("policy", "events"),
    [
        (EXEMPT, [_created(), _message("customer")]),  # the customer opened it
        (EXEMPT, [_created()]),  # nobody has written yet: the clock runs
        (MEASURED, [_created(), _message("agent", agent="mia")]),  # staff_created: measured
        (EXEMPT, [_created(status="solved"), _message("agent", agent="mia")]),  # never started
    ],
)
def test_no_exemption_when_the_rule_did_not_decide(policy, events):
    result = _result(policy, events)
    assert result.exemptions == ()


def test_exemptions_without_and_with_segments_agree():
    events = [_created(), _message("agent", agent="mia")]
    plain = _result(EXEMPT, events)
    assert [type(e) for e in plain.exemptions] == [Exemption]
    assert _result(EXEMPT, events, segments=True).exemptions == plain.exemptions
