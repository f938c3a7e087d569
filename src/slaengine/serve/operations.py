"""What each route of the HTTP API takes and answers, for its OpenAPI document.

The served routes' table (``slaengine.serve.app``) pairs each handler with one of these;
docs/api.md says the same in words.
"""

from __future__ import annotations

from typing import Any, Final

from slaengine.serve.openapi import Answer, Operation, Param
from slaengine.serve.openapi_schemas import ref

_EVENTS_BODY: Final[dict[str, dict[str, Any]]] = {
    "application/json": {"oneOf": [{"type": "array", "items": ref("Event")}, ref("Event")]},
    "application/x-ndjson": {"type": "string", "description": "JSON Lines, one event a line"},
}
_ERROR: Final = ref("Error")
_BAD: Final = Answer("a bad parameter or body; the error says what was expected", _ERROR)
_TOO_LARGE: Final = Answer("the body is over [serve] max_body", _ERROR)
_UNAVAILABLE: Final = Answer("the state database is unavailable (Retry-After: 5)", _ERROR)
_QUIET_BEFORE: Final = Param(
    "quiet_before",
    "load history quietly: what the tickets reached before this instant is skipped, not sent",
    {"type": "string", "format": "date-time"},
)
_LIMIT: Final = Param("limit", "at most this many (1 to 1000, default 100)", {"type": "integer"})
_INSTANT: Final = {"type": "string", "format": "date-time"}
_FILTERS: Final = (
    Param("source", "rejects whose origin starts with this text"),
    Param("since", "received at or after this instant", _INSTANT),
    Param("until", "received before this instant", _INSTANT),
)

POST_EVENTS: Final = Operation(
    "Store canonical events (a JSON array or object, or JSON Lines); idempotent by event id",
    {
        200: Answer("the body was read; each event's outcome is in events", ref("IngestAnswer")),
        400: _BAD,
        413: _TOO_LARGE,
        415: Answer("another Content-Type", _ERROR),
        503: _UNAVAILABLE,
    },
    query=(_QUIET_BEFORE,),
    body=_EVENTS_BODY,
)
POST_INBOX: Final = Operation(
    "A helpdesk's or inbox's webhook, verified and translated into events",
    {
        200: Answer(
            "the events were stored, one outcome each; or, to a vendor's check of its webhook "
            'URL, the answer that vendor expects (Front: {"challenge": ...})',
            {"anyOf": [ref("IngestAnswer"), {"type": "object"}]},
        ),
        202: Answer("a delivery that carries nothing for SLAs", ref("Ignored")),
        400: _BAD,
        401: Answer("no token, or a wrong one; or a bad or missing signature", _ERROR),
        403: Answer("the vendor signs but no secret is configured", _ERROR),
        404: Answer("no such inbox; known lists the installed ones", _ERROR),
        413: _TOO_LARGE,
        500: Answer("the vendor's translator failed unexpectedly (logged)", _ERROR),
        503: _UNAVAILABLE,
    },
    query=(_QUIET_BEFORE,),
    body={"application/json": {"type": "object", "description": "the vendor's payload"}},
    query_token=True,
)
GET_TICKET: Final = Operation(
    "A ticket's clocks: state, due, remaining, next alert",
    {
        200: Answer("the ticket's status", ref("TicketStatus")),
        400: _BAD,
        404: Answer("no such ticket (or not created by then)", _ERROR),
        503: _UNAVAILABLE,
    },
    query=(Param("at", "evaluate at this instant instead of now", _INSTANT),),
)
GET_AT_RISK: Final = Operation(
    "Running clocks due within a window (overdue ones first), soonest first",
    {200: Answer("the queue", ref("AtRiskQueue")), 400: _BAD, 503: _UNAVAILABLE},
    query=(
        Param("within", "elapsed time such as 30m, 2h or 3d (default [serve] at_risk_window)"),
        Param("group", "clocks of tickets in this group only"),
        Param("agent", "clocks of tickets assigned to this agent only"),
        _LIMIT,
    ),
)
GET_REJECTS: Final = Operation(
    "Refused events, newest first, with what was sent",
    {200: Answer("a page of rejects", ref("RejectPage")), 400: _BAD, 503: _UNAVAILABLE},
    query=(
        *_FILTERS,
        Param("replayed", "true: already replayed; false: not yet", {"type": "boolean"}),
        Param("before", "rejects with an id below this one (paging)", {"type": "integer"}),
        _LIMIT,
    ),
)
GET_REJECT: Final = Operation(
    "One refused event",
    {
        200: Answer("the reject, with the request body it kept", ref("RejectWithBody")),
        404: Answer("no such reject (never stored, or pruned)", _ERROR),
        503: _UNAVAILABLE,
    },
)
POST_REPLAY: Final = Operation(
    "Store the corrected event in a reject's place (an empty body: the stored event again)",
    {
        200: Answer("stored; the reject is marked replayed", ref("ReplayAnswer")),
        400: _BAD,
        404: Answer("no such reject (never stored, or pruned)", _ERROR),
        409: Answer("the reject was already replayed", _ERROR),
        413: _TOO_LARGE,
        415: Answer("a body of another Content-Type", _ERROR),
        422: Answer(
            "an event was refused and nothing stored (each event's reason in events), or "
            "an empty body for a reject that kept no event",
            {"oneOf": [ref("ReplayAnswer"), _ERROR]},
        ),
        503: _UNAVAILABLE,
    },
    query=(_QUIET_BEFORE,),
    body=_EVENTS_BODY,
    body_required=False,
)
POST_REDRIVE: Final = Operation(
    "Send the stored event of every reject not yet replayed again (a bulk redrive)",
    {200: Answer("what became of each reject", ref("RedriveAnswer")), 400: _BAD, 503: _UNAVAILABLE},
    query=(*_FILTERS, _LIMIT, _QUIET_BEFORE),
)
GET_HEALTHZ: Final = Operation(
    "Whether the state database answers, and how the in-process worker is doing",
    {
        200: Answer("the database answers", ref("Health")),
        503: Answer("the database does not answer", ref("Health")),
    },
    token=False,
)
GET_METRICS: Final = Operation(
    "Prometheus text exposition",
    {
        200: Answer("the metrics", {"type": "string"}, "text/plain; version=0.0.4"),
        503: _UNAVAILABLE,
    },
)
GET_OPENAPI: Final = Operation(
    "This OpenAPI document",
    {200: Answer("the OpenAPI 3.1 document of every route served", {"type": "object"})},
    token=False,
)

__all__ = [
    "GET_AT_RISK",
    "GET_HEALTHZ",
    "GET_METRICS",
    "GET_OPENAPI",
    "GET_REJECT",
    "GET_REJECTS",
    "GET_TICKET",
    "POST_EVENTS",
    "POST_INBOX",
    "POST_REDRIVE",
    "POST_REPLAY",
]
