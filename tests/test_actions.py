"""Write-back actions: declared in policies, carried on notifications, performed once by plugins."""

from __future__ import annotations

import pytest

import slaengine
from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    key,
    postgres_server_fixture,
    reply,
    state_url_fixture,
    store_fixture,
)
from slaengine.actions import ADD_TAG, ASSIGN, INTERNAL_NOTE, SET_PRIORITY, Action
from slaengine.errors import PolicyError
from slaengine.hookspecs import hookimpl
from slaengine.live import Backoff, Dispatcher, LiveEngine
from slaengine.live.recipients import ACTION_PREFIX, plugin_routing
from slaengine.notifications import Notification, reached
from slaengine.plugins import make_plugins

POLICY = """
policies:
  - name: chat
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        warn_at:
          - 50%
          - {at: 80%, actions: [{add_tag: sla-at-risk}]}
        escalations:
          - after: 0m
            notify: [lead]
            actions:
              - set_priority: urgent
              - assign: {group: tier2, agent: maria}
              - internal_note
          - after: 2h
            actions: [{internal_note: "Still unanswered: call the customer."}]
"""
AT_BREACH = (
    Action(SET_PRIORITY, "urgent"),
    Action(ASSIGN, group="tier2", agent="maria"),
    Action(INTERNAL_NOTE),
)


@pytest.fixture(scope="module")
def policies():
    return slaengine.loads_policies(POLICY, "actions.yaml")


def test_actions_are_read_into_the_alert_rules(policies):
    [metric] = policies.policies[0].metrics
    by_point = {(rule.kind, rule.level): rule.actions for rule in metric.alerts}
    assert by_point == {
        ("warning", 1): (),
        ("warning", 2): (Action(ADD_TAG, "sla-at-risk"),),
        ("escalation", 1): AT_BREACH,
        ("escalation", 2): (Action(INTERNAL_NOTE, "Still unanswered: call the customer."),),
    }


@pytest.mark.parametrize(
    ("actions", "at", "message"),
    [
        (
            "[{set_prio: urgent}]",
            "set_prio",
            "E216 unknown action 'set_prio'; expected one of set_priority, assign, add_tag, "
            "internal_note; did you mean 'set_priority'?",
        ),
        (
            "[{set_priority: urgnt}]",
            "urgnt",
            "E216 unknown priority 'urgnt' for set_priority; expected one of urgent, high, "
            "normal, low; did you mean 'urgent'?",
        ),
        ("[{assign: {}}]", "{}", "E216 assign needs a group, an agent, or both"),
        ("[{assign: {team: x}}]", "team", "E101 unknown key 'team' in 'assign'"),
        ("[{add_tag: x, set_priority: high}]", "{add_tag", "E216 an action is one mapping"),
        ("[escalate]", "escalate", "E216 an action is one mapping like {set_priority: urgent}"),
    ],
    ids=["unknown-action", "unknown-priority", "empty-assign", "assign-key", "two-in-one", "word"],
)
def test_bad_actions_are_located(actions, at, message):
    line = f"          - {{after: 0m, actions: {actions}}}"
    text = f"""
policies:
  - name: chat
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        escalations:
{line}
"""
    with pytest.raises(PolicyError) as caught:
        slaengine.loads_policies(text, "bad.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (9, line.index(at) + 1)
    assert f"{problem.code} {problem.message}".startswith(message)


def test_reached_notifications_carry_their_actions(policies):
    events = [
        slaengine.parse_event(created("T-1")),
    ]
    timelines = slaengine.build_timelines(events)
    [result] = slaengine.evaluate(policies, timelines, at(200))
    by_point = {(n.kind, n.level): n.actions for n in reached(result, at(200))}
    assert by_point[("escalation", 1)] == AT_BREACH
    assert by_point[("warning", 2)] == (Action(ADD_TAG, "sla-at-risk"),)
    assert by_point[("breach", 0)] == ()
    [escalation] = [n for n in reached(result, at(200)) if n.kind == "escalation" and n.level == 1]
    assert Notification.from_dict(escalation.to_dict()) == escalation
    assert escalation.to_dict()["actions"] == [
        {"type": "set_priority", "value": "urgent"},
        {"type": "assign", "group": "tier2", "agent": "maria"},
        {"type": "internal_note", "value": ""},
    ]


class Desk:
    """A helpdesk plugin: performs actions once per key, and fails its first attempt."""

    def __init__(self) -> None:
        self.attempts = 0
        self.done: dict[str, tuple[Action, ...]] = {}

    @hookimpl
    def slaengine_register_actions(self, register):
        register("desk", self.perform, "the test helpdesk")

    def perform(self, notification: Notification) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("helpdesk database locked")
        if notification.key not in self.done:  # the key makes a repeat harmless
            self.done[notification.key] = notification.actions


def test_actions_reach_the_performer_once_through_the_outbox(policies, store):
    desk = Desk()
    routing = plugin_routing(make_plugins(entry_points=False, plugins=[("desk", desk)]))
    engine = LiveEngine(policies, store, routing.recipients)
    engine.ingest([created("T-1"), created("T-2")], at(0))
    engine.ingest([reply("T-2", 30)], at(30))  # answered before 80%: no action for T-2
    engine.advance(at(200))
    rows = {(row.key, row.recipient) for row in store.outbox()}
    performer = ACTION_PREFIX + "desk"
    assert {(k, r) for k, r in rows if r == performer} == {
        (key("T-1", "warning", 2), performer),
        (key("T-1", "escalation", 1), performer),
        (key("T-1", "escalation", 2), performer),  # 2h after the breach at minute 60
    }
    dispatcher = Dispatcher(store, routing.deliverers, Backoff(first=10))
    first = dispatcher.dispatch(at(200))
    assert first.failed == 1  # the first attempt failed; the row waits for its backoff
    for minute in (201, 202, 203):
        dispatcher.dispatch(at(minute))
    assert desk.done == {
        key("T-1", "warning", 2): (Action(ADD_TAG, "sla-at-risk"),),
        key("T-1", "escalation", 1): AT_BREACH,
        key("T-1", "escalation", 2): (
            Action(INTERNAL_NOTE, "Still unanswered: call the customer."),
        ),
    }
    attempts = desk.attempts
    engine.advance(at(210))
    dispatcher.dispatch(at(211))
    assert desk.attempts == attempts  # delivered rows are not performed again


def test_without_a_performer_actions_add_no_recipient(policies, store):
    routing = plugin_routing(make_plugins(entry_points=False))
    engine = LiveEngine(policies, store, routing.recipients)
    engine.ingest([created("T-1")], at(0))
    engine.advance(at(200))
    assert {row.recipient for row in store.outbox()} == {"lead"}


def test_a_bad_action_does_not_hide_a_bad_notify_target():
    text = """
policies:
  - name: chat
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        warn_at:
          - {at: 80%, notify: [shift-led], actions: [{add_tag: ""}]}
        escalations:
          - {after: 0m, notify: [shift-led], actions: [{set_priority: urgnt}]}
"""
    with pytest.raises(PolicyError) as caught:
        slaengine.loads_policies(text, "both.yaml", notifiers={"shift-lead"})
    codes = sorted((p.line, p.code) for p in caught.value.problems)
    assert codes == [(9, "E216"), (9, "E305"), (11, "E216"), (11, "E305")]
