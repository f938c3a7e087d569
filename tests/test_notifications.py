"""What an evaluated ticket owes its watchers: reached points, the next point, the status.

Hand-worked timelines for the policies of ``live_support`` (1h first response,
warnings at 50% and 80%, escalation 1 at the breach, escalation 2 two business
hours after it):

- chat, 24x7, created Monday 10:00Z: warning 1 10:30, warning 2 10:48, due and
  escalation 1 11:00, escalation 2 13:00.
- email, Berlin 09:00-17:00 (08:00-16:00Z), created Friday 2025-12-05 16:40 local:
  20 minutes count on Friday, the rest from Monday 09:00 local, so warning 1 at
  Monday 09:10 (08:10Z), warning 2 09:28 (08:28Z), due and escalation 1 09:40
  (08:40Z), escalation 2 11:40 (10:40Z).
"""

from __future__ import annotations

import pytest

import slaengine
from live_support import (
    at,
    created,
    event,
    live_policies_fixture,  # noqa: F401 (fixtures)
    reply,
)
from slaengine.engine import TicketResult
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.notifications import (
    Notification,
    next_point,
    reached,
    ticket_status,
)


def evaluate(policies, events, now) -> TicketResult:
    timelines = slaengine.build_timelines([parse_event(e, seq=i) for i, e in enumerate(events)])
    (result,) = slaengine.evaluate(policies, timelines, now)
    return result


def points(found):
    return [(n.kind, n.level, n.at) for n in found]


CHAT = [created("T-1")]

# (now, reached (kind, level, at), next point) for the untouched chat ticket.
CHAT_TABLE = [
    ("start", at(0), [], at(30)),
    ("before-warning-1", at(30) - 1, [], at(30)),
    ("warning-1", at(30), [("warning", 1, at(30))], at(48)),
    ("warning-2", at(48), [("warning", 1, at(30)), ("warning", 2, at(48))], at(60)),
    # Exactly at due the clock has counted its target, not more: no breach yet,
    # and the next look is one second later rather than now again.
    ("at-due", at(60), [("warning", 1, at(30)), ("warning", 2, at(48))], at(60) + 1),
    (
        "due-plus-1s",
        at(60) + 1,
        [
            ("warning", 1, at(30)),
            ("warning", 2, at(48)),
            ("breach", 0, at(60)),
            ("escalation", 1, at(60)),
        ],
        at(180),
    ),
    (
        "escalation-2",
        at(180),
        [
            ("warning", 1, at(30)),
            ("warning", 2, at(48)),
            ("breach", 0, at(60)),
            ("escalation", 1, at(60)),
            ("escalation", 2, at(180)),
        ],
        None,
    ),
]


@pytest.mark.parametrize(("now", "expected", "following"), [r[1:] for r in CHAT_TABLE],
                         ids=[r[0] for r in CHAT_TABLE])  # fmt: skip
def test_chat_points_on_a_24x7_clock(live_policies, now, expected, following):
    result = evaluate(live_policies, CHAT, now)
    assert points(reached(result, now)) == expected
    assert next_point(result, now) == following


FRIDAY = parse_instant("2025-12-05T16:40:00+01:00")
EMAIL = [{**created("T-2", channel="email"), "at": "2025-12-05T16:40:00+01:00"}]
MON = "2025-12-08T"


def mon(clock: str) -> int:
    """Monday 2025-12-08 at ``clock`` UTC (Berlin is UTC+1)."""
    return parse_instant(f"{MON}{clock}Z")


EMAIL_TABLE = [
    ("friday", FRIDAY + 60, [], mon("08:10:00")),
    # Closed all weekend: nothing new, the next point is still Monday's warning.
    ("weekend", parse_instant("2025-12-07T12:00:00Z"), [], mon("08:10:00")),
    ("mon-09:10", mon("08:10:00"), [("warning", 1, mon("08:10:00"))], mon("08:28:00")),
    ("mon-09:40:01", mon("08:40:01"),
     [("warning", 1, mon("08:10:00")), ("warning", 2, mon("08:28:00")),
      ("breach", 0, mon("08:40:00")), ("escalation", 1, mon("08:40:00"))],
     mon("10:40:00")),
]  # fmt: skip


@pytest.mark.parametrize(("now", "expected", "following"), [r[1:] for r in EMAIL_TABLE],
                         ids=[r[0] for r in EMAIL_TABLE])  # fmt: skip
def test_email_points_on_an_office_calendar(live_policies, now, expected, following):
    result = evaluate(live_policies, EMAIL, now)
    assert points(reached(result, now)) == expected
    assert next_point(result, now) == following


def test_business_hours_status_counts_only_open_time(live_policies):
    # Saturday: 20 of 60 business minutes used on Friday, 40 left; due Monday 09:40 local.
    now = parse_instant("2025-12-06T10:00:00Z")
    (metric,) = ticket_status(evaluate(live_policies, EMAIL, now), now).metrics
    assert (metric.state, metric.due, metric.remaining) == (
        "active",
        mon("08:40:00"),
        40 * 60,
    )
    assert (metric.next_alert.kind, metric.next_alert.level, metric.next_alert.at) == (
        "warning",
        1,
        mon("08:10:00"),
    )


def test_reply_exactly_at_target_reaches_no_breach_and_no_further_point(live_policies):
    events = [*CHAT, reply("T-1", 60)]
    now = at(240)
    result = evaluate(live_policies, events, now)
    assert result.clocks[0].state == "achieved"
    assert points(reached(result, now)) == [
        ("warning", 1, at(30)),
        ("warning", 2, at(48)),
        ("achieved", 0, at(60)),
    ]
    assert next_point(result, now) is None


def test_stopped_clock_evaluated_at_its_stop_does_not_spin(live_policies):
    # Evaluated at the very second of the reply: the next point must not be "now" again.
    events = [*CHAT, reply("T-1", 60)]
    result = evaluate(live_policies, events, at(60))
    assert next_point(result, at(60)) is None


def test_paused_clock_has_no_next_point_until_it_resumes(live_policies):
    paused = [*CHAT, event("T-1", 40, "status", status="on_hold")]
    result = evaluate(live_policies, paused, at(120))
    assert points(reached(result, at(120))) == [("warning", 1, at(30))]
    assert next_point(result, at(120)) is None
    (metric,) = ticket_status(result, at(120)).metrics
    # 40 minutes counted before the pause; no due instant while paused.
    assert (metric.state, metric.due, metric.remaining, metric.next_alert) == (
        "paused",
        None,
        20 * 60,
        None,
    )
    # Resumed at 130: 8 more minutes to 80% (138), 20 to due (150), escalation 2 at 270.
    resumed = [*paused, event("T-1", 130, "status", status="open")]
    result = evaluate(live_policies, resumed, at(131))
    assert next_point(result, at(131)) == at(138)
    (metric,) = ticket_status(result, at(131)).metrics
    assert metric.due == at(150)
    assert (metric.next_alert.kind, metric.next_alert.level, metric.next_alert.at) == (
        "warning",
        2,
        at(138),
    )


def test_status_of_a_running_clock(live_policies):
    result = evaluate(live_policies, CHAT, at(20))
    status = ticket_status(result, at(20))
    assert status.policy == "chat"
    (metric,) = status.metrics
    assert (metric.metric, metric.instance, metric.state, metric.due, metric.remaining) == (
        "first_response",
        1,
        "active",
        at(60),
        40 * 60,
    )
    assert metric.next_alert.key == "T-1/first_response/1/warning/1"
    data = status.to_dict()
    assert data["at"] == "2025-12-01T10:20:00Z"
    assert data["metrics"][0]["due"] == "2025-12-01T11:00:00Z"
    assert data["metrics"][0]["remaining_seconds"] == 2400
    assert data["metrics"][0]["next_alert"]["at"] == "2025-12-01T10:30:00Z"


def test_status_after_the_breach_shows_the_next_escalation(live_policies):
    (metric,) = ticket_status(evaluate(live_policies, CHAT, at(90)), at(90)).metrics
    assert (metric.state, metric.remaining) == ("breached", -30 * 60)
    assert (metric.next_alert.kind, metric.next_alert.level, metric.next_alert.at) == (
        "escalation",
        2,
        at(180),
    )


def test_status_exactly_at_due_names_escalation_1_next(live_policies):
    # At 11:00:00 the clock has counted exactly 1h: not breached; escalation 1 (after
    # 0m) comes next, at the following second. Escalation 2 is two hours off.
    (metric,) = ticket_status(evaluate(live_policies, CHAT, at(60)), at(60)).metrics
    assert metric.state == "active"
    assert (metric.next_alert.kind, metric.next_alert.level) == ("escalation", 1)


def test_notification_round_trips_through_its_dict(live_policies):
    result = evaluate(live_policies, CHAT, at(61))
    for notification in reached(result, at(61)):
        data = notification.to_dict()
        assert Notification.from_dict(data) == notification
    escalation = reached(result, at(61))[-1]
    assert escalation.to_dict() == {
        "key": "T-1/first_response/1/escalation/1",
        "kind": "escalation",
        "ticket": "T-1",
        "policy": "chat",
        "metric": "first_response",
        "instance": 1,
        "level": 1,
        "at": "2025-12-01T11:00:00Z",
        "due": "2025-12-01T11:00:00Z",
        "priority": "normal",
        "notify": ["lead"],
    }


def test_round_trip_keeps_a_missing_due():
    notification = Notification("warning", "T", "p", "resolution", 2, 1, at(5), None, "high")
    assert Notification.from_dict(notification.to_dict()) == notification


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (("breach", "T-1", "first_response", 1, 0), "T-1/first_response/1/breach/0"),
        (("warning", "42", "next_response", 3, 2), "42/next_response/3/warning/2"),
        (("escalation", "A/B", "resolution", 1, 2), "A/B/resolution/1/escalation/2"),
    ],
    ids=["breach", "second-warning-third-instance", "slash-in-ticket"],
)
def test_key_is_ticket_metric_instance_kind_level(fields, expected):
    kind, ticket, metric, instance, level = fields
    notification = Notification(kind, ticket, "p", metric, instance, level, at(0), None, "low")
    assert notification.key == expected
    # The key is the identity: it does not depend on when or to whom.
    moved = Notification(kind, ticket, "q", metric, instance, level, at(9), at(10), "high", ("x",))
    assert moved.key == expected
