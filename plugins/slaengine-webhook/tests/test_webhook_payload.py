"""Request bodies: slaengine's JSON, and the Slack, Teams and Google Chat messages."""

from __future__ import annotations

import json

import pytest
from slaengine_webhook.payload import (
    google_chat_body,
    json_body,
    render,
    slack_body,
    summary,
    teams_body,
)

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


def test_teams_body_is_an_adaptive_card_in_a_message(escalation):
    body = json.loads(render(escalation, "leads-teams", "teams"))

    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, line, fact_set = card["body"]
    assert (title["type"], title["text"], title["weight"]) == (
        "TextBlock",
        "SLA escalation 1",
        "Bolder",
    )
    assert line["text"] == summary(escalation)
    assert fact_set["type"] == "FactSet"
    facts = {f["title"]: f["value"] for f in fact_set["facts"]}
    assert facts["Ticket"] == "T-1001"
    assert facts["Priority"] == "high"
    assert facts["Due"] == "2025-12-01T12:00:00Z"
    assert facts["Key"] == "T-1001/first_response/1/escalation/1"
    assert facts["Target"] == "leads-teams"


def test_an_achievement_card_is_not_coloured_as_an_alarm():
    n = Notification("achieved", "T-1", "p", "m", 1, 0, 1764590400, 1764594000, "low")
    assert teams_body(n, "t")["attachments"][0]["content"]["body"][0]["color"] == "Good"
    assert teams_body(n, "t")["attachments"][0]["content"]["body"][0]["text"] == "SLA achieved"


def test_google_chat_body_has_text_and_a_card(breach):
    body = json.loads(render(breach, "leads-chat", "google-chat"))

    assert body["text"] == summary(breach)
    [card] = body["cardsV2"]
    assert card["cardId"].startswith("sla-")
    assert card["card"]["header"]["title"] == "SLA breach"
    assert card["card"]["header"]["subtitle"] == "ticket T-1001 · first_response"
    [section] = card["card"]["sections"]
    labels = {
        w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in section["widgets"]
    }
    assert labels["Ticket"] == "T-1001"
    assert labels["Policy"] == "standard-email"
    assert labels["Key"] == "T-1001/first_response/1/breach/0"
    assert labels["Target"] == "leads-chat"


def test_google_chat_card_id_is_stable_per_key(breach, escalation):
    one = google_chat_body(breach, "a")["cardsV2"][0]["cardId"]
    assert one == google_chat_body(breach, "b")["cardsV2"][0]["cardId"]
    assert one != google_chat_body(escalation, "a")["cardsV2"][0]["cardId"]


def test_google_chat_text_cannot_mention_or_link_and_card_text_is_escaped():
    n = Notification(
        "breach", "<users/all> <http://x|y> & <b>", "p", "m", 1, 0, 1764590400, 1764590400, ""
    )
    body = google_chat_body(n, "t")
    assert "<" not in body["text"]
    assert ">" not in body["text"]
    assert "\u2039users/all\u203a" in body["text"]
    widgets = body["cardsV2"][0]["card"]["sections"][0]["widgets"]
    ticket = next(w for w in widgets if w["decoratedText"]["topLabel"] == "Ticket")
    assert ticket["decoratedText"]["text"] == "&lt;users/all&gt; &lt;http://x|y&gt; &amp; &lt;b&gt;"
