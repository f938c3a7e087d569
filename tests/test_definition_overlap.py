"""``check`` on definitions whose start and stop one event can bring (``W218``), and a
trigger under both ``stop`` and ``cancel`` (``E218``).

The warning's claim is held against the walk: the instance such an event starts runs on.
"""

from __future__ import annotations

import pytest

from slaengine.cli import main
from slaengine.policy.definition import On, StateCondition, Trigger
from slaengine.policy.definition_overlap import together
from test_defined_metrics import CREATED, _evaluate, _one_metric

POLICY = """\
version: 1
metrics:
  m_s: {start: {group: tier2}, stop: {assignee: bob}}
  tier2_time: {start: {group: tier2}, stop: {not: {group: tier2}}, repeat: true}
  moved: {start: {group: tier2}, stop: {not: {group: tier1}}}
  own: {start: {group: tier2}, stop: [solved, assigned]}
  back: {start: reopened, cancel: {status: open}}
  tags: {start: {tag: a}, stop: {not: {tag: a}}}
  replies: {start: agent_reply, stop: agent_reply, repeat: true}
policies:
  - name: p
    metrics:
      m_s: {targets: 1h}
"""


def test_check_warns_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    assert main(["check", str(path)]) == 0  # warnings only
    out = capsys.readouterr().out
    found = [line.split(":", 1)[1] for line in out.splitlines() if line.startswith(str(path))]
    assert found == [
        "3:38: W218 'start: group tier2' and 'stop: assignee bob' of metric 'm_s' can come in"
        " the same event; the stop acts first, so the instance that event starts runs until"
        " 'assignee bob' stops holding and begins again (a condition acts only as it begins to"
        " hold)",
        "5:40: W218 'start: group tier2' and 'stop: not group tier1' of metric 'moved' can come"
        " in the same event; the stop acts first, so the instance that event starts runs until"
        " 'not group tier1' stops holding and begins again (a condition acts only as it begins"
        " to hold)",
        "6:47: W218 'start: group tier2' and 'stop: assigned' of metric 'own' can come in the"
        " same event; the stop acts first, so the instance that event starts runs until the"
        " next 'assigned'",
        "7:35: W218 'start: reopened' and 'cancel: status open' of metric 'back' can come in the"
        " same event; the cancel acts first, so the instance that event starts runs until"
        " 'status open' stops holding and begins again (a condition acts only as it begins to"
        " hold)",
    ]


def test_a_trigger_under_both_stop_and_cancel_is_an_error(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nmetrics:\n  sc:\n    start: created\n    stop: [solved, agent_reply]\n"
        "    cancel: [{tag: [b, a]}, agent_reply]\n  tc:\n    start: created\n"
        "    stop: {tag: [a, b]}\n    cancel: {tag: [b, a]}\n",
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    found = [line.split(":", 1)[1] for line in out.splitlines() if line.startswith(str(path))]
    assert found == [
        "5:20: E218 'agent_reply' is under both 'stop' and 'cancel' of metric 'sc'; a stop acts"
        " before a cancel, so it would never cancel: give it once",
        "9:11: E218 'tag a, b' is under both 'stop' and 'cancel' of metric 'tc'; a stop acts"
        " before a cancel, so it would never cancel: give it once",
    ]


def test_the_warned_instance_runs_on_and_an_unwarned_one_stops():
    update = ("2025-12-01T09:10:00Z", "update", {"group": "tier2", "assignee": "bob"})
    later = ("2025-12-01T09:20:00Z", "update", {"group": "tier1", "assignee": "lea"})
    at = "2025-12-01T12:00:00+00:00"
    warned = _evaluate(
        _one_metric("start: {group: tier2}\nstop: {assignee: bob}\n"), [CREATED, update, later], at
    )
    assert [(c.state, c.start, c.elapsed) for c in warned] == [("breached", warned[0].start, 10200)]
    created_so = _evaluate(
        _one_metric("start: {group: tier2}\nstop: {assignee: bob}\n"),
        [
            (
                "2025-12-01T09:00:00Z",
                "created",
                {"channel": "chat", "priority": "normal", "group": "tier2", "assignee": "bob"},
            )
        ],
        at,
    )
    assert [(c.state, c.elapsed) for c in created_so] == [("achieved", 0)]
    plain = _evaluate(
        _one_metric("start: {group: tier2}\nstop: {not: {group: tier2}}\n"),
        [CREATED, update, later],
        at,
    )
    assert [(c.state, c.elapsed) for c in plain] == [("achieved", 600)]


G2 = StateCondition("group", ("tier2",), "group tier2")
NOT_G2 = StateCondition("group", ("tier2",), "not group tier2", negate=True)
NOT_G1 = StateCondition("group", ("tier1",), "not group tier1", negate=True)
G3 = StateCondition("group", ("tier3",), "group tier3")
ALL = StateCondition("priority", ("urgent", "high", "normal", "low"), "priority ...")
URGENT = StateCondition("priority", ("urgent",), "priority urgent")
PENDING = StateCondition("status", ("pending",), "status pending")
NOT_OPEN = StateCondition("status", ("open",), "not status open", negate=True)
SOLVED = StateCondition("status", ("solved",), "status solved")
TAG_A = StateCondition("tag", ("a",), "tag a")
NOT_TAG_A = StateCondition("tag", ("a",), "not tag a", negate=True)
NOT_TAG_B = StateCondition("tag", ("b",), "not tag b", negate=True)
PLAN = StateCondition("field", ("gold",), "field plan gold", "plan")
REGION = StateCondition("field", ("eu",), "field region eu", "region")


def c(condition: StateCondition) -> Trigger:
    return Trigger(condition=condition)


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (c(G2), c(NOT_G2), False),  # one change of the group cannot do both
        (c(G2), c(G3), False),
        (c(G2), c(NOT_G1), True),  # tier1 -> tier2
        (c(URGENT), c(ALL), False),  # every priority: it never begins
        (c(PENDING), c(NOT_OPEN), True),  # open -> pending
        (c(PENDING), c(SOLVED), False),  # no start while solved
        (c(G2), c(PENDING), False),  # updates and status changes are different events
        (c(TAG_A), c(NOT_TAG_A), False),
        (c(TAG_A), c(NOT_TAG_B), True),  # tags [b] -> [a]
        (c(PLAN), c(REGION), True),  # one update sets both fields
        (Trigger(On.ASSIGNED), c(G2), True),
        (Trigger(On.CUSTOMER_MESSAGE), c(G2), False),  # messages change nothing
        (Trigger(On.CREATED), c(G2), False),  # at creation the start comes first
        (Trigger(On.REOPENED), c(PENDING), True),
        (c(G2), Trigger(On.REOPENED), False),
        (Trigger(On.AGENT_REPLY), Trigger(On.ANY_REPLY), False),  # periodic_update's pattern
    ],
)
def test_which_pairs_one_event_can_bring(start, stop, expected):
    assert together(start, stop) is expected
