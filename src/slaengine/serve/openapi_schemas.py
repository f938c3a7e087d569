"""JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the HTTP API's bodies.

Each mirrors the function that writes the body: ``ingest_answer``, ``TicketStatus.to_dict``,
``queue_document``, ``reject_dict``, ``replay_answer``, ``redrive_answer`` and the health
check. Answers list every field they may have (``additionalProperties: false``), so a test
validating real answers against them fails when a field is added without its schema.
"""

from __future__ import annotations

from typing import Any, Final

from slaengine.timeline import EVENT_TYPES
from slaengine.vocabulary import ClockState


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """A closed object: ``required`` fields always present, ``optional`` ones sometimes."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


_TEXT: Final = {"type": "string"}
_TEXT_OR_NULL: Final = {"type": ["string", "null"]}
_COUNT: Final = {"type": "integer", "minimum": 0}
_WHOLE: Final = {"type": "integer"}
_INSTANT: Final = {"type": "string", "format": "date-time"}
_INSTANT_OR_NULL: Final = {"type": ["string", "null"], "format": "date-time"}

_EVENT: Final = {
    "type": "object",
    "description": "A canonical event (docs/events.md); other fields by its type.",
    "required": ["ticket", "at", "type"],
    "properties": {
        "id": {**_TEXT, "description": "idempotency key within the ticket"},
        "ticket": _TEXT,
        "at": {**_INSTANT, "description": "ISO 8601 with a UTC offset"},
        "type": {"enum": list(EVENT_TYPES)},
    },
    "additionalProperties": True,
}
_OUTCOME: Final = _object(
    {"status": {"enum": ["accepted", "duplicate", "rejected", "not_stored"]}},
    {
        "index": {**_COUNT, "description": "place in a JSON array (from 0)"},
        "line": {"type": "integer", "minimum": 1, "description": "JSON Lines line (from 1)"},
        "ticket": _TEXT,
        "id": _TEXT,
        "reason": _TEXT,
    },
)
_INGEST: Final = _object(
    {
        "accepted": _COUNT,
        "duplicates": _COUNT,
        "rejected": _COUNT,
        "events": {"type": "array", "items": ref("EventOutcome")},
    }
)
_ACTION: Final = {"type": "object", "description": "a write-back action (docs/policies.md)"}
_ALERT: Final = _object(
    {
        "key": _TEXT,
        "kind": _TEXT,
        "ticket": _TEXT,
        "policy": _TEXT,
        "metric": _TEXT,
        "instance": _WHOLE,
        "level": _WHOLE,
        "at": _INSTANT,
        "due": _INSTANT_OR_NULL,
        "priority": _TEXT,
        "notify": {"type": "array", "items": _TEXT},
    },
    {
        "metric_label": _TEXT,
        "agreement": _TEXT,
        "group": _TEXT,
        "actions": {"type": "array", "items": _ACTION},
        "channel": _TEXT,
        "count": _COUNT,
        "expected": {"type": "number"},
    },
)
_CLOCK_STATE: Final = {"enum": [str(state) for state in ClockState]}
_METRIC_STATUS: Final = _object(
    {
        "metric": _TEXT,
        "instance": _WHOLE,
        "state": _CLOCK_STATE,
        "due": _INSTANT_OR_NULL,
        "remaining_seconds": {**_WHOLE, "description": "negative once over the target"},
        "next_alert": {"oneOf": [ref("Alert"), {"type": "null"}]},
    },
    {"metric_label": _TEXT, "agreement": _TEXT, "group": _TEXT},
)
_TICKET_STATUS: Final = _object(
    {
        "ticket": _TEXT,
        "at": _INSTANT,
        "policy": _TEXT_OR_NULL,
        "metrics": {"type": "array", "items": ref("MetricStatus")},
    }
)
_OPEN_CLOCK: Final = _object(
    {
        "ticket": _TEXT,
        "metric": _TEXT,
        "instance": _WHOLE,
        "state": _CLOCK_STATE,
        "due": _INSTANT_OR_NULL,
        "due_in_seconds": {"type": ["integer", "null"], "description": "negative once overdue"},
        "overdue": {"type": "boolean"},
        "policy": _TEXT_OR_NULL,
        "priority": _TEXT,
        "channel": _TEXT,
        "group": _TEXT_OR_NULL,
        "assignee": _TEXT_OR_NULL,
    },
    {"agreement": _TEXT},
)
_QUEUE: Final = _object(
    {
        "at": _INSTANT,
        "within_seconds": _COUNT,
        "until": _INSTANT,
        "group": _TEXT_OR_NULL,
        "agent": _TEXT_OR_NULL,
        "count": _COUNT,
        "clocks": {"type": "array", "items": ref("OpenClock")},
    }
)
_REJECT: Final = _object(
    {
        "id": _WHOLE,
        "received": _INSTANT,
        "origin": _TEXT,
        "problem": _TEXT,
        "payload": {"type": ["object", "null"], "description": "the refused event, as JSON"},
        "payload_text": {**_TEXT_OR_NULL, "description": "a payload with no JSON form"},
        "raw": {**_TEXT_OR_NULL, "description": "input that could not be read (64 KiB)"},
        "raw_size": {"type": ["integer", "null"]},
        "raw_complete": {"type": ["boolean", "null"]},
        "replayed": _INSTANT_OR_NULL,
    }
)
_REJECT_WITH_BODY: Final = _object(
    {
        **_REJECT["properties"],
        "body": {**_TEXT_OR_NULL, "description": "the request body an inbox translated"},
        "body_type": {**_TEXT_OR_NULL, "description": "its Content-Type"},
        "body_size": {"type": ["integer", "null"], "description": "its size in bytes"},
        "body_complete": {"type": ["boolean", "null"], "description": "whether all is kept"},
    }
)
_REJECT_PAGE: Final = _object(
    {
        "rejects": {"type": "array", "items": ref("Reject")},
        "next": {**_TEXT_OR_NULL, "description": "the URL of the next page"},
    }
)
_REPLAY: Final = _object(
    {
        "reject": _WHOLE,
        "replayed": {"type": "boolean"},
        "accepted": _COUNT,
        "duplicates": _COUNT,
        "rejected": _COUNT,
        "events": {"type": "array", "items": ref("EventOutcome")},
    }
)
_REDRIVEN: Final = _object(
    {
        "reject": _WHOLE,
        "status": {"enum": ["replayed", "refused", "no_event", "skipped"]},
        "reason": _TEXT_OR_NULL,
    }
)
_REDRIVE: Final = _object(
    {
        "replayed": _COUNT,
        "refused": _COUNT,
        "no_event": _COUNT,
        "skipped": _COUNT,
        "rejects": {"type": "array", "items": ref("Redriven")},
    }
)
_WORKER: Final = _object(
    {"running": {"type": "boolean"}},
    {
        "cycles": _COUNT,
        "failures": _COUNT,
        "last_cycle": _INSTANT_OR_NULL,
        "last_cycle_age_seconds": {"type": ["integer", "null"]},
    },
)
_HEALTH: Final = _object(
    {"status": {"enum": ["ok", "unavailable"]}, "store": _TEXT, "worker": ref("Worker")},
    {"schema": _WHOLE},
)
_ERROR: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": _TEXT},
    "additionalProperties": True,  # what the error is about: the reject, the limit...
}
_IGNORED: Final = _object({"ignored": {**_TEXT, "description": "the delivery's type"}})

#: Every component schema, by name.
SCHEMAS: Final[dict[str, Any]] = {
    "Event": _EVENT,
    "EventOutcome": _OUTCOME,
    "IngestAnswer": _INGEST,
    "Alert": _ALERT,
    "MetricStatus": _METRIC_STATUS,
    "TicketStatus": _TICKET_STATUS,
    "OpenClock": _OPEN_CLOCK,
    "AtRiskQueue": _QUEUE,
    "Reject": _REJECT,
    "RejectWithBody": _REJECT_WITH_BODY,
    "RejectPage": _REJECT_PAGE,
    "ReplayAnswer": _REPLAY,
    "Redriven": _REDRIVEN,
    "RedriveAnswer": _REDRIVE,
    "Worker": _WORKER,
    "Health": _HEALTH,
    "Error": _ERROR,
    "Ignored": _IGNORED,
}

__all__ = ["SCHEMAS", "ref"]
