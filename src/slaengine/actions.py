"""Write-back actions: what a policy asks a helpdesk to do to a ticket at a warning or escalation.

Declared in a policy beside ``notify`` and carried, with the notification, through
the live engine's outbox to every plugin that registered a performer
(``slaengine_register_actions``). This module only describes them; performing is
the plugin's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

SET_PRIORITY: Final = "set_priority"  # value: urgent, high, normal or low
ASSIGN: Final = "assign"  # group and/or agent
ADD_TAG: Final = "add_tag"  # value: the tag
INTERNAL_NOTE: Final = "internal_note"  # value: the note's text ("" for the default text)
ACTION_TYPES: Final = (SET_PRIORITY, ASSIGN, ADD_TAG, INTERNAL_NOTE)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do to the ticket: its ``type`` and what it needs."""

    type: str
    value: str = ""
    group: str | None = None
    agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping with only the fields this action uses."""
        data: dict[str, Any] = {"type": self.type}
        if self.type == ASSIGN:
            data.update({k: v for k, v in (("group", self.group), ("agent", self.agent)) if v})
        else:
            data["value"] = self.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        """The action :meth:`to_dict` wrote."""
        return cls(
            type=str(data["type"]),
            value=str(data.get("value", "")),
            group=None if data.get("group") is None else str(data["group"]),
            agent=None if data.get("agent") is None else str(data["agent"]),
        )

    def describe(self) -> str:
        """A short text for people: ``set priority to urgent``, ``assign to group tier2``."""
        if self.type == SET_PRIORITY:
            return f"set priority to {self.value}"
        if self.type == ASSIGN:
            parts = [
                f"group {self.group}" if self.group else "",
                f"agent {self.agent}" if self.agent else "",
            ]
            return "assign to " + " and ".join(part for part in parts if part)
        if self.type == ADD_TAG:
            return f"add tag {self.value}"
        return "add an internal note"


__all__ = ["ACTION_TYPES", "ADD_TAG", "ASSIGN", "INTERNAL_NOTE", "SET_PRIORITY", "Action"]
