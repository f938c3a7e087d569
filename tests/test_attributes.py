"""One rule for how events change a ticket's attributes, shared by every walk over events."""

from __future__ import annotations

import pytest

from slaengine.attributes import initial_attributes, status_after, update_changes
from slaengine.audit.facts import ticket_facts
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.explain_selection import attribute_changes
from slaengine.timeline import build_timelines

T0 = "2025-12-01T09:00:00Z"


def _timeline(*updates: dict[str, object]):
    rows = [
        {"type": "created", "channel": "email", "priority": "normal", "group": "tier1",
         "assignee": "mia", "tags": ["b", "a"], "fields": {"plan": "pro"}},
        *({"type": "update", **u} for u in updates),
    ]  # fmt: skip
    events = [
        parse_event({"ticket": "T", "at": f"2025-12-01T09:{n:02d}:00Z", **row}, seq=n, line=n + 1)
        for n, row in enumerate(rows)
    ]
    return build_timelines(events).timelines["T"]


@pytest.mark.parametrize(
    ("update", "changes"),
    [
        pytest.param({"group": ""}, [], id="empty-keeps"),
        pytest.param({"group": "tier1"}, [], id="same-keeps"),
        pytest.param({"tags": ["a", "b"]}, [], id="tags-in-another-order"),
        pytest.param({"group": "tier2"}, [("group", "tier1", "tier2")], id="group"),
        pytest.param({"tags": []}, [("tags", ("a", "b"), ())], id="tags-cleared"),
        pytest.param(
            {"fields": {"plan": "pro", "vip": True}},
            [("fields", {"plan": "pro"}, {"plan": "pro", "vip": True})],
            id="fields-merge",
        ),
    ],
)
def test_every_walk_agrees_on_what_an_update_changes(update, changes):
    timeline = _timeline(update)
    created, event = timeline.events
    assert update_changes(event, initial_attributes(created)) == changes
    explained = [(c.attribute, c.old, c.new) for c in attribute_changes(timeline.events)]
    assert explained == changes
    state = timeline.state_at(parse_instant("2025-12-01T10:00:00Z"))
    expected = dict(initial_attributes(created))
    expected.update({name: new for name, _old, new in changes})
    assert (state.group, state.tags, dict(state.fields)) == (
        expected["group"],
        frozenset(expected["tags"]),
        expected["fields"],
    )
    reassigned = ticket_facts(timeline, parse_instant("2025-12-01T10:00:00Z")).reassigned
    assert reassigned is any(name in ("group", "assignee") for name, _, _ in changes)


def test_status_after():
    timeline = _timeline()
    created = timeline.events[0]
    status = parse_event({"ticket": "T", "at": T0, "type": "status", "status": "pending"})
    assert status_after(status, "open") == "pending"
    assert status_after(created, "open") == "open"
