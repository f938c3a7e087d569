"""Named presets of clock rules (``semantics: zendesk``), one per established help desk.

A preset only supplies defaults: any rule a policy or metric writes itself wins.
Each preset is written from the public documentation and observable behaviour
of the system it is named after; docs/migrating.md lists what each one sets and
the differences that remain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from slaengine.day_targets import KEEP_TIME
from slaengine.policy.model import (
    ASSIGNMENT,
    AT_CLOSED,
    FIRST_RESPONSE,
    MINUTES,
    NEXT_OPENING,
    NEXT_RESPONSE,
    NOT_REQUESTER,
    PAUSE,
    PER_CUSTOMER_MESSAGE,
    PERIODIC_UPDATE,
    RESOLUTION,
    STAYS_MET,
)

# Rules a preset may set per metric, with the values validate.py understands:
# fulfilled_by, starts, start_delay (seconds), staff_created (bool), assignment_counts
# (tuple), counts_from,
# customer_message_stops (bool), before_first_reply (bool), when_solved, on_reopen,
# stops_at, misses, day_targets, hide_when (frozenset), pause_when (frozenset).
METRIC_RULES: Final = (
    "fulfilled_by",
    "starts",
    "start_delay",
    "staff_created",
    "assignment_counts",
    "counts_from",
    "customer_message_stops",
    "before_first_reply",
    "when_solved",
    "on_reopen",
    "stops_at",
    "misses",
    "day_targets",
    "hide_when",
)
# Rules a preset may set for the whole policy.
POLICY_RULES: Final = ("precision", "due_at_closing", "bot_replies_count")


def _frozen(rules: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({kind: MappingProxyType(dict(r)) for kind, r in rules.items()})


@dataclass(frozen=True, slots=True)
class Preset:
    """Defaults of one named semantics: policy rules and rules per metric kind."""

    name: str
    summary: str
    policy: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))

    def metric_default(self, kind: str, rule: str) -> Any:
        """The preset's value of ``rule`` for metric ``kind``; ``None`` when it sets none."""
        return self.metrics.get(kind, MappingProxyType({})).get(rule)


PRESETS: Final[Mapping[str, Preset]] = MappingProxyType(
    {
        "slaengine": Preset("slaengine", "slaengine's own defaults (the same as no preset)."),
        "zendesk": Preset(
            "zendesk",
            "First reply, next reply (from the oldest unanswered customer comment), periodic "
            "update, requester wait time; no first reply target on agent-created tickets.",
            metrics=_frozen(
                {
                    FIRST_RESPONSE: {"staff_created": False},
                    RESOLUTION: {"pause_when": frozenset({"pending"})},
                }
            ),
        ),
        "zammad": Preset(
            "zammad",
            "First response, response time (from the first unanswered customer contact, "
            "before the first reply too), update time (from creation), solution time; whole "
            "minutes; pending states pause every clock, a closed period pauses response and "
            "update time; a closed ticket's solution time stays met.",
            policy=MappingProxyType({"precision": MINUTES}),
            metrics=_frozen(
                {
                    FIRST_RESPONSE: {"pause_when": frozenset({"pending", "on_hold"})},
                    # Response time runs from the first unanswered customer contact and
                    # update time from creation, both before the first reply too; a closed
                    # period is a break in both (they continue on reopen).
                    NEXT_RESPONSE: {
                        "pause_when": frozenset({"pending", "on_hold"}),
                        "before_first_reply": True,
                        "when_solved": PAUSE,
                    },
                    PERIODIC_UPDATE: {
                        "pause_when": frozenset({"pending", "on_hold"}),
                        "before_first_reply": True,
                        "when_solved": PAUSE,
                    },
                    RESOLUTION: {
                        "pause_when": frozenset({"pending", "on_hold"}),
                        "on_reopen": STAYS_MET,
                    },
                }
            ),
        ),
        "rt": Preset(
            "rt",
            "Response (any correspondence from someone other than the requestor, from the "
            "oldest unanswered one), KeepInLoop that hands over to Response when the requestor "
            "writes, Resolve; due dates count from creation (RT's Starts date does not "
            "move them), so real-minute targets on a 24x7 calendar start at creation too.",
            metrics=_frozen(
                {
                    FIRST_RESPONSE: {"fulfilled_by": NOT_REQUESTER, "staff_created": False},
                    NEXT_RESPONSE: {"fulfilled_by": NOT_REQUESTER},
                    PERIODIC_UPDATE: {
                        "fulfilled_by": NOT_REQUESTER,
                        "customer_message_stops": True,
                    },
                }
            ),
        ),
        "znuny": Preset(
            "znuny",
            "First response, update time (from the oldest article of the trailing run of "
            "customer articles, before the first reply too; from the last agent article when "
            "the agent wrote last; hidden while pending), solution time.",
            metrics=_frozen(
                {
                    NEXT_RESPONSE: {
                        "before_first_reply": True,
                        "hide_when": frozenset({"pending"}),
                    },
                    PERIODIC_UPDATE: {
                        "customer_message_stops": True,
                        "hide_when": frozenset({"pending"}),
                    },
                    RESOLUTION: {"on_reopen": STAYS_MET},
                }
            ),
        ),
        "glpi": Preset(
            "glpi",
            "Time to own (assigning a technician, a group or a supplier) and time to "
            "resolve; the waiting status pauses time to resolve but never time to own; a "
            "deadline at closing time is shown at the next opening; targets in working days "
            "keep the time of day, whatever the days' lengths.",
            policy=MappingProxyType({"due_at_closing": NEXT_OPENING}),
            metrics=_frozen(
                {
                    # GLPI counts targets in days day by day ("work in days").
                    FIRST_RESPONSE: {
                        "fulfilled_by": ASSIGNMENT,
                        "assignment_counts": ("assignee", "group", "field:supplier"),
                        "pause_when": frozenset(),
                        "day_targets": KEEP_TIME,
                    },
                    RESOLUTION: {"pause_when": frozenset({"pending"}), "day_targets": KEEP_TIME},
                }
            ),
        ),
        "chatwoot": Preset(
            "chatwoot",
            "First response, next response and resolution time; bot messages do not count; "
            "each customer message written while next response is overdue is one more miss.",
            policy=MappingProxyType({"bot_replies_count": False}),
            metrics=_frozen({NEXT_RESPONSE: {"misses": PER_CUSTOMER_MESSAGE}}),
        ),
        "servicenow-closed": Preset(
            "servicenow-closed",
            "A ServiceNow instance whose resolution SLA stops at Closed, not at Resolved: "
            "resolution runs on while the ticket is solved.",
            metrics=_frozen({RESOLUTION: {"stops_at": AT_CLOSED}}),
        ),
    }
)


def preset(name: str) -> Preset | None:
    """The preset called ``name`` (case-insensitive), or ``None``."""
    return PRESETS.get(name.strip().lower())


__all__ = ["METRIC_RULES", "POLICY_RULES", "PRESETS", "Preset", "preset"]
