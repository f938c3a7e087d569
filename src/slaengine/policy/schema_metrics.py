"""The JSON Schema of a policy's metrics and of metric definitions (top-level ``metrics:``).

Part of :mod:`slaengine.policy.schema`, which assembles the whole document's schema.
"""

from __future__ import annotations

from typing import Any, Final

from slaengine.actions import ADD_TAG, ASSIGN, INTERNAL_NOTE, SET_PRIORITY
from slaengine.policy.definition import LABEL_MAX, On
from slaengine.vocabulary import MetricKind

_PRIORITIES: Final = ("urgent", "high", "normal", "low")
_STATUSES: Final = ("new", "open", "pending", "on_hold", "solved", "closed")
_PAUSABLE: Final = ("new", "open", "pending", "on_hold")
BUILTIN_METRICS: Final = tuple(str(kind) for kind in MetricKind)
# The name of a metric defined under 'metrics:'.
METRIC_NAME_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_-]*$"
# An escalation's 'after': a duration, or zero (at the breach) written 0, 0m, 0h or 0s.
AFTER_PATTERN: Final = (
    r"^\s*(?:0\s*[hHmMsS]?|(?=[^1-9]*[1-9])(?:\d+|(?:\d+\s*[hH])?\s*(?:\d+\s*[mM](?:[iI][nN])?)?\s*"
    r"(?:\d+\s*[sS])?))\s*$"
)
# Working days after the target (the loader checks the number): 1 working day, 2wd.
_WORKING_DAYS: Final = (
    r"^\s*\d+[\s_-]*(?:[wW][dD]|[wW][oO][rR][kK][iI][nN][gG][\s_-]*[dD][aA][yY][sS]?)\s*$"
)
# A warning: a share of the target from 1% to 99%.
PERCENT_PATTERN: Final = r"^\s*(?:[1-9]|[1-9]\d)\s*%\s*$"


def _text(description: str) -> dict[str, Any]:
    # The loader reads numbers as text where it expects text (a group named 42).
    return {"description": description, "type": ["string", "number"]}


def _one_or_many(item: dict[str, Any], description: str, min_items: int = 0) -> dict[str, Any]:
    many: dict[str, Any] = {"type": "array", "items": item}
    if min_items:
        many["minItems"] = min_items
    return {"description": description, "anyOf": [item, many]}


def _choice(description: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {"description": description, "enum": list(values)}


_RULES: Final[dict[str, dict[str, Any]]] = {
    "fulfilled_by": _choice(
        "What fulfils this response metric.",
        ("public_agent", "agent", "not_requester", "any_outgoing", "assignment"),
    ),
    "starts": _choice(
        "When the clock starts: at creation or at the policy calendar's first open instant.",
        ("created", "first_business_minute"),
    ),
    "start_delay": {
        "description": "The clock starts this much business time of the policy's calendar "
        "after creation (RT's Starts in business minutes); 0m: no delay.",
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": AFTER_PATTERN},
        ],
    },
    "staff_created": _choice(
        "exempt: no first_response on tickets whose first public message is not the customer's.",
        ("measured", "exempt"),
    ),
    "assignment_counts": _one_or_many(
        {
            "description": "assignee, group, or field:NAME (a custom field being set).",
            "type": "string",
            "pattern": r"^(assignee|group|field:.+)$",
        },
        "Under fulfilled_by: assignment, what takes the ticket: setting the assignee (the "
        "default), the group, or a custom field such as field:supplier.",
        1,
    ),
    "counts_from": _choice(
        "The customer message a next_response instance counts from.",
        ("oldest_unanswered", "latest_customer_message"),
    ),
    "customer_message_stops": {
        "description": "true: a customer message stops the running periodic_update.",
        "type": "boolean",
    },
    "before_first_reply": _choice(
        "measured: next_response starts at customer messages before the first reply too; "
        "periodic_update runs from creation until the first reply.",
        ("exempt", "measured"),
    ),
    "when_solved": _choice("What solving does to a running response clock.", ("stop", "pause")),
    "on_reopen": _choice(
        "What a reopen does to the stopped resolution clock.", ("resume", "stays_met")
    ),
    "stops_at": _choice(
        "Which status stops resolution: solved (or closed), or closed only.", ("solved", "closed")
    ),
    "misses": _choice(
        "per_customer_message: a breached next_response counts one more miss for each "
        "customer message written after its due while it runs.",
        ("once", "per_customer_message"),
    ),
    "day_targets": _choice(
        "How working-day targets count: open_time (open days of equal length), keep_time "
        "(GLPI: the start's time of day N working days later, whatever the day lengths) or "
        "end_of_working_day (GLPI: the last open instant of the working day after the Nth).",
        ("open_time", "keep_time", "end_of_working_day"),
    ),
}
# The metrics each rule applies to.
_RULE_METRICS: Final[dict[str, tuple[str, ...]]] = {
    "fulfilled_by": ("first_response", "next_response", "periodic_update"),
    "starts": ("first_response", "resolution"),
    "start_delay": ("first_response", "resolution"),
    "staff_created": ("first_response",),
    "assignment_counts": ("first_response",),
    "counts_from": ("next_response",),
    "customer_message_stops": ("periodic_update",),
    "before_first_reply": ("next_response", "periodic_update"),
    "when_solved": ("first_response", "next_response", "periodic_update"),
    "on_reopen": ("resolution",),
    "stops_at": ("resolution",),
    "misses": ("next_response",),
    "day_targets": ("first_response", "next_response", "periodic_update", "resolution"),
}


def _metric(kind: str, what: str) -> dict[str, Any]:
    targets = {
        "description": "Target per priority (all four), or one duration for all.",
        "anyOf": [
            {"$ref": "#/$defs/target"},
            {
                "type": "object",
                "additionalProperties": False,
                "required": list(_PRIORITIES),
                "properties": {
                    p: {"$ref": "#/$defs/target", "description": f"Target for {p} tickets."}
                    for p in _PRIORITIES
                },
            },
        ],
    }
    return {
        "description": f"{kind}: {what}",
        "type": "object",
        "additionalProperties": False,
        "required": ["targets"],
        "properties": {
            "targets": targets,
            "pause_when": _pauses(
                "The clock is paused while the ticket's status is one of these, or one of "
                "these conditions holds."
            ),
            "calendar": _text(
                "Calendar (or calendar map) of this metric; default: the policy's calendar."
            ),
            "goal": goal_schema("Attainment goal of this metric; default: the policy's goal."),
            "warn_at": _one_or_many(
                {
                    "description": "A warning: a share of the target, {at, notify}, or "
                    "{before, notify}.",
                    "anyOf": [
                        {"type": "string", "pattern": PERCENT_PATTERN},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["at"],
                            "properties": {
                                "at": {
                                    "type": "string",
                                    "pattern": PERCENT_PATTERN,
                                    "description": "Share of the target, 1% to 99%.",
                                },
                                "notify": _notify(),
                                "actions": _actions(),
                            },
                        },
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["before"],
                            "properties": {
                                "before": {
                                    "description": "Business time before the target, "
                                    "shorter than every target; or working days "
                                    "(1 working day), counted back day by day from the due.",
                                    "anyOf": [
                                        {"type": "integer", "minimum": 1},
                                        {"type": "string", "pattern": AFTER_PATTERN},
                                        {"type": "string", "pattern": _WORKING_DAYS},
                                    ],
                                },
                                "notify": _notify(),
                                "actions": _actions(),
                            },
                        },
                    ],
                },
                "Warnings before the target, as shares of it (e.g. [50%, 80%]) or all as "
                "offsets before it ({before: 8h}).",
            ),
            "escalations": _one_or_many(
                {
                    "description": "An escalation level after the breach.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["after"],
                    "properties": {
                        "after": {
                            "description": "Business time after the target: 0m at the "
                            "breach; or working days (1 working day), counted day by day.",
                            "anyOf": [
                                {"type": "integer", "minimum": 0},
                                {"type": "string", "pattern": AFTER_PATTERN},
                                {"type": "string", "pattern": _WORKING_DAYS},
                            ],
                        },
                        "notify": _notify(),
                        "actions": _actions(),
                    },
                },
                "Escalation levels after a breach, in increasing 'after' order.",
            ),
            "hide_when": _one_or_many(
                {"description": "A status.", "enum": list(_PAUSABLE)},
                "The deadline is hidden while the ticket's status is one of these; time "
                "still counts.",
            ),
            **{rule: schema for rule, schema in _RULES.items() if kind in _RULE_METRICS[rule]},
        },
    }


def _actions() -> dict[str, Any]:
    def one(name: str, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [name],
            "properties": {name: value},
        }

    assign = {
        "description": "The group and/or agent to assign the ticket to.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {"group": _text("A group."), "agent": _text("An agent.")},
    }
    action = {
        "description": "One write-back action for the helpdesk.",
        "anyOf": [
            {"const": INTERNAL_NOTE, "description": "An internal note with the default text."},
            one(
                SET_PRIORITY,
                {"description": "The new priority.", "enum": list(_PRIORITIES)},
            ),
            one(ASSIGN, assign),
            one(ADD_TAG, _text("The tag to add.")),
            one(
                INTERNAL_NOTE,
                {
                    "description": "The note's text; null or true for the default text.",
                    "type": ["string", "boolean", "null"],
                },
            ),
        ],
    }
    return _one_or_many(action, "What the helpdesk does to the ticket at this point.")


# A goal: above 0% and at most 100%, up to two decimals (check tells 0% and 100.5% apart).
GOAL_PATTERN: Final = r"^\s*(?!0*(?:\.0*)?\s*%)(?:100(?:\.0{1,2})?|\d{1,2}(?:\.\d{1,2})?)\s*%\s*$"


def goal_schema(description: str) -> dict[str, Any]:
    """An attainment goal like ``95%`` or ``99.5%``."""
    return {
        "description": description + " The share of clocks to meet, like 95% or 99.5%.",
        "type": "string",
        "pattern": GOAL_PATTERN,
    }


def _notify() -> dict[str, Any]:
    return _one_or_many(_text("A notify target name."), "Who to notify.")


def defined_metric_schema() -> dict[str, Any]:
    """Targets and pauses of a metric defined under 'metrics:' (``$defs/defined_metric``)."""
    return _metric(
        "A metric defined under the top-level 'metrics:'",
        "targets, pauses, calendar, warnings and escalations; what it measures is its definition.",
    )


def condition_schema() -> dict[str, Any]:
    """A condition on the ticket's attributes (``$defs/condition``)."""
    scalar = {"type": ["string", "number", "boolean", "null"]}
    return {
        "description": "A condition on the ticket, with exactly one key: status, priority, "
        "group, assignee, channel, tag (any of the values), field ({name: value}) or not.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "status": _one_or_many(
                {"description": "A status.", "enum": list(_STATUSES)}, "Status(es).", 1
            ),
            "priority": _one_or_many(
                {"description": "A priority.", "enum": list(_PRIORITIES)}, "Priority(ies).", 1
            ),
            "group": _one_or_many(_text("A group."), "Group(s).", 1),
            "assignee": _one_or_many(_text("An assignee."), "Assignee(s).", 1),
            "channel": _one_or_many(_text("A channel."), "Channel(s).", 1),
            "tag": _one_or_many(_text("A tag."), "The ticket has any of these tags.", 1),
            "field": {
                "description": "One custom field and its value (or a list: any of them).",
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": {
                    "anyOf": [scalar, {"type": "array", "items": scalar, "minItems": 1}],
                },
            },
            "not": {"$ref": "#/$defs/condition", "description": "The condition does not hold."},
        },
    }


def _triggers(description: str) -> dict[str, Any]:
    trigger = {
        "description": "An event, or a condition that starts to hold.",
        "anyOf": [
            {"enum": [str(on) for on in On]},
            {"$ref": "#/$defs/condition"},
        ],
    }
    return _one_or_many(trigger, description, 1)


def definition_schema() -> dict[str, Any]:
    """A metric definition under the top-level ``metrics:`` (``$defs/definition``)."""
    return {
        "description": "A metric defined by what starts, stops, cancels and pauses its clock.",
        "type": "object",
        "additionalProperties": False,
        # Counted per group, an instance starts each time a group takes the ticket.
        "if": {"required": ["per"]},
        "then": {"not": {"anyOf": [{"required": ["start"]}, {"required": ["repeat"]}]}},
        "else": {"required": ["start"], "not": {"required": ["groups"]}},
        "properties": {
            "per": _choice(
                "group: one instance per stint of a group holding the ticket (an ownership "
                "clock); it stops as met at the hand-over or the solve.",
                ("group",),
            ),
            "groups": _one_or_many(
                {"description": "A group name.", "type": "string"},
                "With per: group, only these groups' stints are counted.",
            ),
            "label": {
                "description": "How reports and messages name the metric, e.g. Time to own: "
                f"one line, at most {LABEL_MAX} characters. Default: the name with spaces.",
                "type": ["string", "number"],
                "pattern": r"\S",
                "maxLength": LABEL_MAX,
            },
            "description": _text("Free text for people."),
            "start": _triggers("What starts an instance of the clock."),
            "stop": _triggers("What stops the running instance as met."),
            "cancel": _triggers("What stops the running instance as cancelled."),
            "pause": _pauses("The clock is paused while one of these holds."),
            "repeat": {
                "description": "true: a later start begins a new instance. Default false.",
                "type": "boolean",
            },
            "when_solved": _choice(
                "What solving does to a running instance (default stop).", ("stop", "pause")
            ),
            "on_reopen": _choice(
                "What a reopen does to an instance the solve stopped (default stays_met).",
                ("stays_met", "resume"),
            ),
        },
    }


def _pauses(description: str) -> dict[str, Any]:
    return _one_or_many(
        {
            "description": "A status, or a condition like {tag: waiting-vendor}.",
            "anyOf": [
                {"description": "A status.", "enum": list(_PAUSABLE)},
                {"$ref": "#/$defs/condition"},
            ],
        },
        description,
    )


__all__ = [
    "AFTER_PATTERN",
    "BUILTIN_METRICS",
    "METRIC_NAME_PATTERN",
    "PERCENT_PATTERN",
    "condition_schema",
    "defined_metric_schema",
    "definition_schema",
    "goal_schema",
]
