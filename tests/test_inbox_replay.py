"""A conversation replayed through an inbox evaluates to the expected first-response state.

The deliveries of one conversation, in the order the vendor sends them (some
twice, as a retrying vendor does), become events; the engine then sees a
private note that does not fulfil the first response, and the public reply
that does.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import slaengine
from slaengine.plugins import make_plugins

DATA = Path(__file__).resolve().parent / "data" / "inbox"
POLICY = """\
version: 1
policies:
  - name: everything
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
"""


def _at(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


# vendor -> (ticket, deliveries in order, the private note's instant, the reply's
# instant and agent). Every conversation starts at 2026-03-02T09:00:00Z.
CONVERSATIONS = {
    "chatwoot": (
        "42",
        [
            "conversation_created",
            "message_customer",
            "message_customer",  # a retried delivery
            "message_private_note",
            "conversation_updated_assignment",
            "message_agent_reply",
            "status_resolved",
        ],
        "2026-03-02T09:10:00+00:00",
        ("2026-03-02T09:25:00+00:00", "7"),
    ),
    "zendesk": (
        "5158",
        [
            "ticket_created",
            "comment_customer",
            "comment_private_note",
            "comment_private_note",  # a retried delivery
            "agent_assignment_changed",
            "comment_agent_reply",
            "status_pending",
            "status_solved",
        ],
        "2026-03-02T09:10:00+00:00",
        ("2026-03-02T09:25:00+00:00", "8447388090495"),
    ),
    "freshdesk": (
        "6541",
        [
            "ticket_created",
            "customer_reply",
            "private_note",
            "assignment",
            "assignment",  # a retried delivery
            "agent_reply",
            "status_pending",
            "status_resolved",
        ],
        "2026-03-02T09:10:00+00:00",
        ("2026-03-02T09:25:00+00:00", "jonas@acme.example"),
    ),
    "intercom": (
        "147258369",
        [
            "user_created",
            "user_replied",
            "admin_noted",
            "admin_assigned",
            "admin_replied",
            "admin_replied",  # a retried delivery
            "admin_closed",
            "rating_added",
        ],
        "2026-03-02T09:10:00+00:00",
        ("2026-03-02T09:25:00+00:00", "5017691"),
    ),
    "front": (
        "cnv_5v8k2q3",
        [
            "inbound_received",
            "rule_inbound_followup",
            "new_comment_added",
            "new_comment_added",  # a retried delivery
            "assignee_changed",
            "out_reply",
            "conversation_archived",
        ],
        "2026-03-02T09:10:00+00:00",
        ("2026-03-02T09:25:00+00:00", "tea_55c8c149"),
    ),
}


@pytest.fixture(scope="module")
def inboxes():
    return make_plugins(entry_points=False).inboxes()


@pytest.fixture(scope="module")
def policies():
    return slaengine.loads_policies(POLICY, "inbox.yaml")


def _replay(inboxes, vendor):
    ticket, files, _, _ = CONVERSATIONS[vendor]
    objects = []
    for name in files:
        payload = json.loads((DATA / vendor / f"{name}.json").read_text(encoding="utf-8"))
        objects.extend(inboxes[vendor].translate(payload).events)
    events = [slaengine.parse_event(obj, seq=seq) for seq, obj in enumerate(objects)]
    timelines = slaengine.build_timelines(events)
    assert timelines.problems == []
    return ticket, len(objects), timelines


def _first_response(policies, timelines, ticket, now):
    [result] = slaengine.evaluate(policies, timelines.timelines.values(), now)
    assert result.ticket == ticket
    [clock] = [c for c in result.clocks if c.metric == "first_response"]
    return clock


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_repeated_deliveries_are_duplicates(inboxes, vendor):
    ticket, count, timelines = _replay(inboxes, vendor)
    [timeline] = timelines.timelines.values()
    assert timeline.ticket == ticket
    ids = [event.id for event in timeline.events]
    assert len(ids) == len(set(ids))
    # Every delivery repeats the created event; one retried delivery repeats a message too.
    assert timelines.duplicates == count - len(ids)
    assert timelines.duplicates == len(CONVERSATIONS[vendor][1])
    assert [e.type for e in timeline.events].count("created") == 1


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_a_private_note_does_not_fulfil_the_first_response(inboxes, policies, vendor):
    ticket, _, timelines = _replay(inboxes, vendor)
    note = _at(CONVERSATIONS[vendor][2])
    clock = _first_response(policies, timelines, ticket, note + 60)
    assert clock.state == "active"
    assert clock.stop is None
    assert clock.start == _at("2026-03-02T09:00:00+00:00")


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_the_public_reply_achieves_the_first_response(inboxes, policies, vendor):
    ticket, _, timelines = _replay(inboxes, vendor)
    reply, agent = CONVERSATIONS[vendor][3]
    clock = _first_response(policies, timelines, ticket, _at(reply) + 3600)
    assert clock.state == "achieved"
    assert clock.stop == _at(reply)
    assert clock.agent == agent
    assert clock.elapsed == _at(reply) - _at("2026-03-02T09:00:00+00:00")


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_without_the_reply_the_first_response_breaches(inboxes, policies, vendor):
    ticket, _, timelines = _replay(inboxes, vendor)
    reply, _ = CONVERSATIONS[vendor][3]
    [timeline] = timelines.timelines.values()
    kept = [
        e
        for e in timeline.events
        if not (e.type == "message" and e.public and e.author == "agent") and e.type != "status"
    ]
    clock = _first_response(policies, slaengine.build_timelines(kept), ticket, _at(reply) + 7200)
    assert clock.state == "breached"


BOT_REPLIES = {
    "chatwoot": ("42", ["conversation_created", "message_bot_reply"]),
    "intercom": ("147258369", ["user_created", "operator_replied"]),
    "front": ("cnv_5v8k2q3", ["inbound_received", "outbound_auto_reply"]),
}


@pytest.mark.parametrize("vendor", BOT_REPLIES)
def test_a_bot_or_automated_reply_is_not_a_first_response(inboxes, policies, vendor):
    ticket, files = BOT_REPLIES[vendor]
    objects = []
    for name in files:
        payload = json.loads((DATA / vendor / f"{name}.json").read_text(encoding="utf-8"))
        objects.extend(inboxes[vendor].translate(payload).events)
    assert [obj.get("author") for obj in objects if obj["type"] == "message"][-1] == "bot"
    events = [slaengine.parse_event(obj, seq=seq) for seq, obj in enumerate(objects)]
    clock = _first_response(
        policies, slaengine.build_timelines(events), ticket, _at("2026-03-02T09:02:00+00:00")
    )
    assert clock.state == "active"
