"""The JSON Schema (draft 2020-12) of policy files, for editors and external checks.

The schema describes the shape of a policy document: keys, types, duration and
interval formats. ``slaengine check`` remains the full validator: it also checks
values the schema cannot know (time zones, countries, overlapping shifts, calendar
names, duplicate policy names, shadowed policies). ``docs/policy.schema.json`` is
this schema dumped with :func:`schema_json`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from slaengine.policy.schema_metrics import (
    _PRIORITIES,
    _STATUSES,
    BUILTIN_METRICS,
    METRIC_NAME_PATTERN,
    _choice,
    _metric,
    _notify,
    _one_or_many,
    _text,
    condition_schema,
    defined_metric_schema,
    definition_schema,
    goal_schema,
)

_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _any_case(word: str) -> str:
    """A regex matching ``word`` in any letter case (ECMA-262 has no inline flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_DAY: Final = "(?:" + "|".join(_any_case(d) for d in _WEEKDAYS) + ")"
DAY_PATTERN: Final = rf"^\s*{_DAY}(?:-{_DAY})?\s*$"
# A duration: whole minutes, or hours/minutes/seconds in that order; never zero.
DURATION_PATTERN: Final = (
    r"^\s*(?=[^1-9]*[1-9])(?:\d+|(?:\d+\s*[hH])?\s*(?:\d+\s*[mM](?:[iI][nN])?)?\s*"
    r"(?:\d+\s*[sS])?)\s*$"
)
_TIME: Final = r"(?:[01]?\d|2[0-3]):[0-5]\d"
# An open interval HH:MM-HH:MM; 24:00 only as an end; an end not after the start runs overnight.
INTERVAL_PATTERN: Final = rf"^\s*{_TIME}\s*-\s*(?:{_TIME}|24:00)\s*$"
DATE_PATTERN: Final = r"^\s*\d{4}-\d{2}-\d{2}\s*$"
# A target in working days: 2 working days, 1 working day, 2wd.
WORKING_DAYS_PATTERN: Final = (
    r"^\s*(?=[^1-9]*[1-9])\d+[\s_-]*(?:[wW][dD]|"
    + _any_case("working")
    + r"[\s_-]*"
    + _any_case("day")
    + r"[sS]?)\s*$"
)
# A yearly holiday: month-day MM-DD.
MONTH_DAY_PATTERN: Final = r"^\s*\d{1,2}-\d{1,2}\s*$"
# A timestamp with a UTC offset (the loader checks it fully).
TIMESTAMP_PATTERN: Final = r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}.*([Zz]|[+-]\d{2}:?\d{2})\s*$"
_PRESETS: Final = ("slaengine", "zendesk", "zammad", "rt", "znuny", "glpi", "chatwoot")


def _duration() -> dict[str, Any]:
    return {
        "description": "A duration of business time: 90m, 2h, 1h30m, 45s, or a bare integer "
        "of whole minutes. Days and weeks are refused; write hours (16h).",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": DURATION_PATTERN},
        ],
    }


def _target() -> dict[str, Any]:
    return {
        "description": "A target: a duration of business time (90m, 2h, 1h30m, 45s, whole "
        "minutes) or working days of the metric's calendar (2 working days, 2wd).",
        "anyOf": [
            {"$ref": "#/$defs/duration"},
            {"type": "string", "pattern": WORKING_DAYS_PATTERN},
        ],
    }


def _date(description: str) -> dict[str, Any]:
    return {"description": description, "type": "string", "pattern": DATE_PATTERN}


def _calendar() -> dict[str, Any]:
    interval = {
        "description": "An open interval like 09:00-17:00; 24:00 may end it; an end not "
        "after the start runs overnight into the next day (22:00-06:00).",
        "type": "string",
        "pattern": INTERVAL_PATTERN,
    }
    day_hours = {
        "description": "Open intervals of the day(s): a list (split shifts: several "
        "intervals), one interval, or closed / null / [] for closed.",
        "anyOf": [
            {"type": "array", "items": interval},
            interval,
            {"const": "closed"},
            {"type": "null"},
        ],
    }
    day_or_month_day = {"type": "string", "pattern": f"{DATE_PATTERN}|{MONTH_DAY_PATTERN}"}
    holiday_map = {
        "description": "A dated holiday {date, name}, a range {from, to} (both included), "
        "or a country's public holidays {country, subdivision}.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "date": {
                "description": "The closed day, YYYY-MM-DD (MM-DD with yearly).",
                **day_or_month_day,
            },
            "name": {
                "description": "A label for people; not used by the engine.",
                "type": "string",
            },
            "from": {
                "description": "First closed day of a range, YYYY-MM-DD (MM-DD with yearly).",
                **day_or_month_day,
            },
            "to": {
                "description": "Last closed day of a range (included), YYYY-MM-DD (MM-DD with "
                "yearly).",
                **day_or_month_day,
            },
            "yearly": {
                "description": "true: the date or range comes back every year.",
                "type": "boolean",
            },
            "active": {
                "description": "false: the entry is kept but not used. Default true.",
                "type": "boolean",
            },
            "country": {
                "description": "ISO 3166 country code (DE, US, GB): its public holidays.",
                "type": "string",
            },
            "subdivision": {
                "description": "State or region code of the country (BE for Berlin in DE).",
                "type": "string",
            },
        },
        "anyOf": [{"required": ["date"]}, {"required": ["from", "to"]}, {"required": ["country"]}],
    }
    holiday = {
        "description": "A closed date YYYY-MM-DD, a yearly month-day MM-DD, or a mapping.",
        "anyOf": [
            _date("A closed date, YYYY-MM-DD."),
            {
                "description": "A month-day closed every year, MM-DD.",
                "type": "string",
                "pattern": MONTH_DAY_PATTERN,
            },
            holiday_map,
        ],
    }
    return {
        "description": "A business-hours calendar: weekly open hours in one time zone, minus "
        "holidays.",
        "type": "object",
        "additionalProperties": False,
        "required": ["timezone", "hours"],
        "properties": {
            "timezone": {
                "description": "IANA time zone of the hours, e.g. Europe/Berlin.",
                "type": "string",
            },
            "hours": {
                "description": "Open hours per weekday: mon..sun or a range like mon-fri. Days "
                "not listed are closed.",
                "type": "object",
                "propertyNames": {"pattern": DAY_PATTERN},
                "additionalProperties": day_hours,
            },
            "holidays": {
                "description": "Days on which the calendar is closed.",
                "anyOf": [holiday, {"type": "array", "items": holiday}],
            },
            "description": {"description": "Free text for people.", "type": "string"},
            "end_2359": {
                "description": "end_of_day: an interval ending at 23:59 ends at 24:00 "
                "(calendars converted from Zammad); literal (default): at 23:59.",
                "enum": ["literal", "end_of_day"],
            },
        },
    }


def _match() -> dict[str, Any]:
    tag_list = _one_or_many(_text("A tag."), "Tags.", 1)
    tags = {
        "description": "A tag or list of tags, any of which the ticket has; or a mapping "
        "{any, all, none}.",
        "anyOf": [
            tag_list,
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "any": _one_or_many(
                        _text("A tag."), "The ticket has at least one of these.", 1
                    ),
                    "all": _one_or_many(_text("A tag."), "The ticket has every one of these.", 1),
                    "none": _one_or_many(_text("A tag."), "The ticket has none of these.", 1),
                },
            },
        ],
    }
    scalar = {"type": ["string", "number", "boolean", "null"]}
    match: dict[str, Any] = {
        "description": "Conditions on the ticket's current attributes; every condition given "
        "must hold. A list means any of its values. No match: every ticket.",
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "channel": _one_or_many(_text("A channel."), "Channel(s), compared lower-cased.", 1),
            "priority": _one_or_many(
                {"description": "A priority.", "enum": list(_PRIORITIES)},
                "Priority or priorities.",
                1,
            ),
            "group": _one_or_many(_text("A group."), "Group(s).", 1),
            "assignee": _one_or_many(_text("An assignee."), "Assignee(s).", 1),
            "customer": _one_or_many(_text("A customer."), "Customer(s).", 1),
            "tags": tags,
            "fields": {
                "description": "Custom fields: field name to a value or a list of values (any "
                "of). Compared with the event's JSON value, type included.",
                "type": "object",
                "additionalProperties": {
                    "anyOf": [scalar, {"type": "array", "items": scalar, "minItems": 1}],
                },
            },
            "conditions": _one_or_many(
                _text("A custom condition registered by a plugin."),
                "Custom conditions; every one must hold.",
                1,
            ),
            "not": {
                "$ref": "#/$defs/match",
                "type": "object",
                "minProperties": 1,
                "description": "Tickets this match holds for are excluded.",
            },
        },
    }
    return match


def _spike() -> dict[str, Any]:
    return {
        "description": "A spike rule.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "measure", "window", "baseline"],
        "properties": {
            "name": _text("The rule's name, unique across the policy files."),
            "measure": {
                "description": "What is counted per channel.",
                "enum": ["new_tickets", "customer_messages"],
            },
            "channels": _one_or_many(
                _text("A channel."), "Channels to watch, each on its own; default: all."
            ),
            "window": {
                "description": "The sliding window counted, as a duration (15m).",
                "$ref": "#/$defs/duration",
            },
            "baseline": {
                "description": "The period before the window that sets what to expect (24h).",
                "$ref": "#/$defs/duration",
            },
            "ratio": {
                "description": "How many times the baseline's average per window is a spike "
                "(default 3x).",
                "type": "string",
                "pattern": r"^\s*\d+(\.\d+)?\s*x\s*$",
            },
            "min_count": {
                "description": "The fewest items in the window that can be a spike (default 10).",
                "type": "integer",
                "minimum": 1,
            },
            "notify": _notify(),
        },
    }


def _calendar_map() -> dict[str, Any]:
    return {
        "description": "Chooses a ticket's calendar (and time zone) from its group, customer "
        "or a custom field; policies and metrics name it where they name a calendar.",
        "type": "object",
        "additionalProperties": False,
        "required": ["by", "map", "default"],
        "properties": {
            "by": {
                "description": "Where the value comes from: group, customer or {field: NAME}.",
                "oneOf": [
                    {"enum": ["group", "customer"]},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["field"],
                        "properties": {"field": _text("Name of the custom field.")},
                    },
                ],
            },
            "map": {
                "description": "Value -> calendar name (from 'calendars' or 24x7).",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": ["string", "number"]},
            },
            "default": _text("Calendar for a ticket without a value, or one not in the map."),
            "value": _choice(
                "first: the value the ticket had first (at creation, or first set later); "
                "current: the value at the evaluation instant.",
                ("first", "current"),
            ),
            "description": _text("Free text for people."),
        },
    }


def _policy() -> dict[str, Any]:
    return {
        "description": "An SLA policy: which tickets it covers and its targets.",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "metrics"],
        "properties": {
            "name": _text("Unique name of the policy."),
            "description": _text("Free text for people."),
            "match": {
                "$ref": "#/$defs/match",
                "description": "Which tickets the policy covers; none: every ticket.",
            },
            "calendar": _text(
                "Calendar name (from 'calendars' or the built-in 24x7) or the name of a "
                "calendar map; default 24x7."
            ),
            "bot_replies_count": {
                "description": "true: public bot messages fulfil response metrics. Default false.",
                "type": "boolean",
            },
            "semantics": {
                "description": "A named preset of another help desk's clock rules; rules "
                "written in the policy win.",
                "type": "string",
                "pattern": "^\\s*(?:" + "|".join(_any_case(p) for p in _PRESETS) + ")\\s*$",
            },
            "precision": _choice("Count seconds, or whole minutes.", ("seconds", "minutes")),
            "due_at_closing": _choice(
                "A due instant exactly at closing time is shown as it, or as the next opening.",
                ("closing", "next_opening"),
            ),
            "goal": goal_schema("Attainment goal of every metric of the policy without its own."),
            "effective_from": {
                "description": "Tickets created before this timestamp skip the policy "
                "(policy versions).",
                "type": "string",
                "pattern": TIMESTAMP_PATTERN,
            },
            "metrics": {
                "description": "The metrics this policy measures (at least one): built-in ones "
                "and those defined under the top-level 'metrics:'.",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/defined_metric"},
                "propertyNames": {"pattern": METRIC_NAME_PATTERN},
                "minProperties": 1,
                "properties": {
                    "first_response": _metric(
                        "first_response", "from creation to the first public agent reply."
                    ),
                    "next_response": _metric(
                        "next_response", "from a customer message to the next public agent reply."
                    ),
                    "periodic_update": _metric(
                        "periodic_update", "from one public agent message to the next."
                    ),
                    "resolution": _metric(
                        "resolution", "from creation until the ticket is solved or closed."
                    ),
                },
            },
        },
    }


def _agreement() -> dict[str, Any]:
    """An agreement: a policy's keys, a 'kind', a 'starts' and an 'on_unmatch'."""
    agreement = _policy()
    agreement["description"] = (
        "An internal agreement (OLA, underpinning contract): every one whose match holds "
        "applies beside the customer SLA."
    )
    properties = agreement["properties"]
    properties["name"] = _text("Unique name among policies and agreements.")
    properties["match"] = {
        "$ref": "#/$defs/match",
        "description": "Which tickets it covers; it attaches the first time this holds.",
    }
    properties["kind"] = _choice("A reporting label; default ola.", ("ola", "underpinning"))
    properties["starts"] = _choice(
        "Its clocks count from the instant it attaches (default), or from creation.",
        ("attached", "created"),
    )
    properties["on_unmatch"] = _choice(
        "When its match stops holding: stay attached (keep, default), or stop its clocks "
        "until the match holds again (detach).",
        ("keep", "detach"),
    )
    return agreement


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one policy file, as a fresh dict."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "slaengine policy file",
        "description": "SLA policies, business-hours calendars and custom statuses. "
        "Run 'slaengine check' for the full validation.",
        "type": "object",
        "additionalProperties": False,
        "anyOf": [
            {"required": ["policies"]},
            {"required": ["calendars"]},
            {"required": ["calendar_maps"]},
            {"required": ["spikes"]},
            {"required": ["metrics"]},
            {"required": ["agreements"]},
        ],
        # Without definitions in the file, a policy may name only the built-in metrics
        # (the schema cannot follow a definition in another file; 'slaengine check' does).
        "if": {"not": {"required": ["metrics"]}},
        "then": {
            "properties": {
                "policies": {
                    "description": "Policies of a file without metric definitions.",
                    "items": {
                        "properties": {
                            "metrics": {
                                "description": "Only the built-in metrics.",
                                "propertyNames": {"enum": list(BUILTIN_METRICS)},
                            }
                        }
                    },
                },
                "agreements": {
                    "description": "Agreements of a file without metric definitions.",
                    "items": {
                        "properties": {
                            "metrics": {
                                "description": "Only the built-in metrics.",
                                "propertyNames": {"enum": list(BUILTIN_METRICS)},
                            }
                        }
                    },
                },
            }
        },
        "properties": {
            "version": {"description": "Format version; only 1.", "const": 1},
            "metrics": {
                "description": "Metrics defined by start, stop, cancel and pause conditions, "
                "for policies to give targets to like the built-in ones.",
                "type": "object",
                "propertyNames": {
                    "pattern": METRIC_NAME_PATTERN,
                    "not": {"enum": list(BUILTIN_METRICS)},
                },
                "additionalProperties": {"$ref": "#/$defs/definition"},
            },
            "calendars": {
                "description": "Named business-hours calendars. 24x7 is built in.",
                "type": "object",
                "propertyNames": {"not": {"const": "24x7"}},
                "additionalProperties": {"$ref": "#/$defs/calendar"},
            },
            "calendar_maps": {
                "description": "Named maps choosing each ticket's calendar from its group, "
                "customer or a custom field.",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/calendar_map"},
            },
            "policies": {
                "description": "Policies in order: the first whose match holds applies.",
                "type": "array",
                "items": {"$ref": "#/$defs/policy"},
            },
            "agreements": {
                "description": "Internal agreements (OLAs, underpinning contracts): every one "
                "whose match holds applies, each with its own metrics.",
                "type": "array",
                "items": {"$ref": "#/$defs/agreement"},
            },
            "statuses": {
                "description": "Custom status names mapped onto the built-in ones.",
                "type": "object",
                "propertyNames": {"not": {"enum": list(_STATUSES)}},
                "additionalProperties": {
                    "description": "The built-in status it means.",
                    "enum": list(_STATUSES),
                },
            },
            "spikes": {
                "description": "Volume spike alerts: a channel's new tickets or customer "
                "messages in a window against its recent baseline.",
                "type": "array",
                "items": _spike(),
            },
        },
        "$defs": {
            "duration": _duration(),
            "target": _target(),
            "calendar": _calendar(),
            "calendar_map": _calendar_map(),
            "match": _match(),
            "policy": _policy(),
            "agreement": _agreement(),
            "condition": condition_schema(),
            "definition": definition_schema(),
            "defined_metric": defined_metric_schema(),
        },
    }


def schema_json() -> str:
    """The schema as the text of ``docs/policy.schema.json`` (2-space indent, final newline)."""
    return json.dumps(policy_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "DATE_PATTERN",
    "DAY_PATTERN",
    "DURATION_PATTERN",
    "INTERVAL_PATTERN",
    "MONTH_DAY_PATTERN",
    "TIMESTAMP_PATTERN",
    "WORKING_DAYS_PATTERN",
    "policy_schema",
    "schema_json",
]
