"""Request bodies: slaengine's JSON and the Slack-compatible message."""

from __future__ import annotations

import json

import pytest
from slaengine_webhook.payload import json_body, render, slack_body, summary

from slaengine.notifications import Notification


def test_json_body_wraps_the_notification(breach):
    assert json_body(breach, "team-lead") == {
        "event": "sla.breach",
        "notification": {
            "key": "T-1001/first_response/1/breach/0",
            "kind": "breach",
            "ticket": "T-1001",
            "policy": "standard-email",
            "metric": "first_response",
            "instance": 1,
            "level": 0,
            "at": "2025-12-01T12:00:00Z",
            "due": "2025-12-01T12:00:00Z",
            "priority": "normal",
            "notify": [],
        },
        "target": "team-lead",
    }


def test_the_json_body_round_trips_to_the_same_notification(escalation):
    body = json.loads(render(escalation, "support-leads"))
    assert body["event"] == "sla.escalation"
    assert Notification.from_dict(body["notification"]) == escalation


@pytest.mark.parametrize(
    ("kind", "level", "title"),
    [
        ("warning", 2, "SLA warning 2"),
        ("escalation", 1, "SLA escalation 1"),
        ("breach", 0, "SLA breach"),
        ("achieved", 0, "SLA achieved"),
    ],
    ids=["warning", "escalation", "breach", "achieved"],
)
def test_summary_names_kind_ticket_metric_policy_and_due(kind, level, title):
    n = Notification(kind, "T-7", "vip", "resolution", 1, level, 1764590400, 1764594000, "high")
    assert summary(n) == f"{title}: ticket T-7, resolution, policy vip, due 2025-12-01T13:00:00Z"


def test_summary_without_a_due_time():
    n = Notification("achieved", "T-7", "", "next_response", 2, 0, 1764590400, None, "low")
    assert summary(n) == "SLA achieved: ticket T-7, next_response, policy -, due no due time"


def test_slack_body_escapes_mrkdwn_control_characters():
    n = Notification("breach", "<T&1>", "p<1>", "first_response", 1, 0, 1764590400, 1764590400, "")
    body = slack_body(n, "leads")

    assert body["text"].startswith("SLA breach: ticket <T&1>,")  # plain fallback text
    section = body["blocks"][0]["text"]
    assert section["type"] == "mrkdwn"
    assert "`&lt;T&amp;1&gt;`" in section["text"]
    assert "policy p&lt;1&gt;" in section["text"]
    context = body["blocks"][1]["elements"][0]["text"]
    assert "key &lt;T&amp;1&gt;/first_response/1/breach/0" in context
    assert "target leads" in context


def test_render_is_compact_utf8_json():
    n = Notification("warning", "Ticket-ü", "p", "m", 1, 1, 1764590400, 1764594000, "normal")
    raw = render(n, "t", "slack")
    assert "Ticket-ü".encode() in raw
    assert b": " not in raw.split(b'"text":', 1)[0]  # no padding between keys and values
    assert json.loads(raw)["text"].startswith("SLA warning 1: ticket Ticket-ü")


def test_render_refuses_an_unknown_format(breach):
    with pytest.raises(ValueError, match="unknown body format 'xml'"):
        render(breach, "t", "xml")
