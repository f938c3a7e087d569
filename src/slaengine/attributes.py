"""How events change a ticket's attributes: the one rule every walk over events follows.

The clock walk, :meth:`Timeline.state_at`, the audit's ticket facts and explain's list
of attribute changes all decide "did this event change the status (priority, group...)"
here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from slaengine.timeline import Event

# Attributes an ``update`` event sets by giving a value; an absent or empty value keeps
# the old one.
TEXT_ATTRIBUTES: Final = ("channel", "priority", "group", "assignee", "customer")
# The attributes policy selection looks at, in a stable order.
SELECTION_ATTRIBUTES: Final = (*TEXT_ATTRIBUTES, "tags", "fields")


def status_after(event: Event, status: str) -> str:
    """The status after ``event``: a ``status`` event's own, else ``status`` unchanged."""
    return (event.status or status) if event.type == "status" else status


def initial_attributes(created: Event) -> dict[str, Any]:
    """The selection attributes a ``created`` event sets (tags sorted, fields a mapping)."""
    return {
        "channel": created.channel or "",
        "priority": created.priority or "normal",
        "group": created.group,
        "assignee": created.assignee,
        "customer": created.customer,
        "tags": tuple(sorted(created.tags or ())),
        "fields": dict(created.fields or {}),
    }


def update_changes(event: Event, current: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(attribute, old, new)`` for each attribute the ``update`` ``event`` changes.

    A text attribute changes when the event gives a non-empty value different from the
    current one; ``tags`` when given (the list replaces the old one; order does not
    matter); ``fields`` when given values differ (they merge into the old ones).
    ``current`` holds the attributes as :func:`initial_attributes` gives them.
    """
    changes: list[tuple[str, Any, Any]] = []
    for name in TEXT_ATTRIBUTES:
        value = getattr(event, name)
        if value and value != current[name]:
            changes.append((name, current[name], value))
    if event.tags is not None:
        tags = tuple(sorted(event.tags))
        if tags != current["tags"]:
            changes.append(("tags", current["tags"], tags))
    if event.fields is not None:
        fields = {**current["fields"], **event.fields}
        if fields != current["fields"]:
            changes.append(("fields", current["fields"], fields))
    return changes


__all__ = [
    "SELECTION_ATTRIBUTES",
    "TEXT_ATTRIBUTES",
    "initial_attributes",
    "status_after",
    "update_changes",
]
