"""The one walk gathers the intervals in which each metric's pause conditions hold.

``walk`` returns them keyed by the metric's conditions, in real time (open end -1), each
naming the first condition that holds and the events that began and ended it; a
condition that holds for no time makes no interval, like a status pause.
"""

from __future__ import annotations

from typing import Any

import slaengine
from slaengine.clock_walk import walk
from slaengine.event_parsing import parse_event, parse_instant

POLICY = """\
version: 1
metrics:
  stint:
    start: created
    stop: solved
    pause: [{tag: waiting-vendor}, {group: vendor}]
policies:
  - name: p
    metrics:
      stint: {targets: 8h}
      resolution: {targets: 24h}
"""
D = "2025-12-01T"


def _walk(policy_text: str, rows: list[dict[str, Any]]) -> Any:
    parsed = [
        parse_event({"ticket": "R-1", **row}, seq=i, line=i + 1) for i, row in enumerate(rows)
    ]
    timeline = slaengine.build_timelines(parsed).timelines["R-1"]
    [policy] = slaengine.loads_policies(policy_text, "p.yaml").policies
    return policy, walk(timeline.events, policy)


def _at(hhmm: str) -> int:
    return parse_instant(f"{D}{hhmm}:00Z")


def test_the_walk_gathers_each_pause_condition_interval():
    rows = [
        {"at": D + "09:00:00Z", "type": "created", "channel": "email", "priority": "normal",
         "tags": ["waiting-vendor"]},
        {"at": D + "10:00:00Z", "type": "update", "group": "vendor"},  # the tag still names it
        {"at": D + "11:00:00Z", "type": "update", "tags": []},  # the group holds on
        {"at": D + "12:00:00Z", "type": "update", "group": "tier1"},
        {"at": D + "13:00:00Z", "type": "update", "tags": ["waiting-vendor"]},
        {"at": D + "13:00:00Z", "type": "update", "tags": []},  # held for no time
        {"at": D + "14:00:00Z", "type": "update", "group": "vendor"},
    ]  # fmt: skip
    policy, (_, _, _, _, held) = _walk(POLICY, rows)
    [conditions] = held
    assert conditions == policy.metrics[0].pause_conditions
    assert [(a, b, text, began.line, None if ended is None else ended.line)
            for a, b, text, began, ended in held[conditions]] == [
        (_at("09:00"), _at("11:00"), "tag waiting-vendor", 1, 3),
        (_at("11:00"), _at("12:00"), "group vendor", 3, 4),
        (_at("14:00"), -1, "group vendor", 7, None),
    ]  # fmt: skip


def test_no_pause_conditions_no_intervals():
    rows = [{"at": D + "09:00:00Z", "type": "created", "channel": "email", "priority": "normal"}]
    _, (_, _, _, _, held) = _walk(
        POLICY.replace("    pause: [{tag: waiting-vendor}, {group: vendor}]\n", ""), rows
    )
    assert held == {}
