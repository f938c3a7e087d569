"""Start and stop triggers of a metric definition that one event after creation can bring.

After creation the walk stops or cancels the running instance first and then starts the
next (docs/policies.md, "How a defined metric runs"). When one event brings both a start
and a stop, the stop finds nothing to stop, and a stop *condition* acts only as it begins
to hold: the instance that event starts is not stopped until the condition stops holding
and begins again. ``slaengine check`` warns about such pairs (``W218``).

Which events change what: messages change no attribute; a ``status`` event changes the
status only (``solved``, ``reopened``); an ``update`` changes any other attributes at once
(``assigned`` comes with one) but never empties a text attribute.
"""

from __future__ import annotations

from itertools import permutations
from typing import Any, Final

from slaengine.policy.definition import On, StateCondition, Trigger
from slaengine.timeline import PRIORITIES, STATUSES, STOPPED_STATUSES

_OTHER: Final = object()  # a value no condition names (an open set of groups, assignees...)


def _key(condition: StateCondition) -> tuple[str, str | None]:
    """What a condition looks at: the attribute, and the field's name for ``field``."""
    return condition.attribute, condition.name


def _holds(condition: StateCondition, value: Any) -> bool:
    """The condition on one attribute's ``value`` (a set of tags for ``tag``)."""
    if condition.attribute == "tag":
        found = not set(value).isdisjoint(condition.values)
    else:
        found = value in condition.values
    return found is not condition.negate


def _values(a: StateCondition, b: StateCondition) -> list[Any]:
    """The values worth trying for the attribute both conditions look at."""
    if a.attribute == "status":
        return list(STATUSES)
    named = [*dict.fromkeys((*a.values, *b.values))]
    if a.attribute == "priority":
        return list(PRIORITIES)
    if a.attribute == "tag":
        # Sets of tags: none, each named one, all of them, and each with an unnamed one.
        sets = [frozenset(), frozenset(named), *(frozenset({v}) for v in named)]
        return [*sets, *(s | {_OTHER} for s in sets)]
    return [*named, _OTHER]


def _begin_together(a: StateCondition, b: StateCondition) -> bool:
    """True when one change of the attribute both look at makes both begin to hold."""
    for old, new in permutations(_values(a, b), 2):
        if a.attribute == "status" and new in STOPPED_STATUSES:
            continue  # no instance starts while the ticket is solved or closed
        if _holds(a, new) and _holds(b, new) and not _holds(a, old) and not _holds(b, old):
            return True
    return False


def _begins_at(condition: StateCondition, on: On) -> bool:
    """True when ``condition`` can begin to hold at the event that brings ``on``."""
    if on == On.ASSIGNED:  # an update
        return condition.attribute != "status" and _begin_together(condition, condition)
    if on == On.REOPENED:  # a status event from solved or closed to another status
        return condition.attribute == "status" and any(
            not _holds(condition, old) and _holds(condition, new)
            for old in STOPPED_STATUSES
            for new in STATUSES
            if new not in STOPPED_STATUSES
        )
    return False  # messages change nothing; 'created' is creation; no start while solved


def together(start: Trigger, stop: Trigger) -> bool:
    """True when one event after creation can bring both ``start`` and ``stop``, and the
    instance it starts then waits for a later stop. Two events (``agent_reply`` and
    ``agent_reply``) are the ``periodic_update`` pattern, meant to stop one instance and
    start the next, and give False."""
    a, b = start.condition, stop.condition
    if a is None and b is None:
        return False
    if a is None:
        assert start.on is not None
        assert b is not None
        return _begins_at(b, start.on)
    if b is None:
        assert stop.on is not None
        return _begins_at(a, stop.on)
    if (a.attribute == "status") != (b.attribute == "status"):
        return False  # status events and updates are different events
    if _key(a) == _key(b):
        return _begin_together(a, b)
    return _begin_together(a, a) and _begin_together(b, b)  # one update changes both


def same_trigger(a: Trigger, b: Trigger) -> bool:
    """True when two triggers are the same event, or the same condition however its values
    are ordered."""
    if a.on is not None or b.on is not None:
        return a.on == b.on
    assert a.condition is not None
    assert b.condition is not None
    c, d = a.condition, b.condition
    return (_key(c), c.negate, frozenset(c.values)) == (_key(d), d.negate, frozenset(d.values))


__all__ = ["same_trigger", "together"]
