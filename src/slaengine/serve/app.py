"""The HTTP API: routes for events in, ticket status and the at-risk queue out, health, metrics,
and the OpenAPI document describing them all (built from the table :data:`SERVED`).

Rejected events are listed and replayed by :mod:`slaengine.serve.rejects`.

``create_app(api)`` builds the ASGI application: the Starlette routes behind
the bearer-token check, behind the access log. Handlers answer JSON; a
request that fails unexpectedly is logged and answered 500, one whose
database is unavailable 503, and neither stops the server.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from slaengine import __version__
from slaengine.live import LiveEngine
from slaengine.live.atrisk import parse_window, queue_document
from slaengine.serve import operations as ops
from slaengine.serve.access import AccessLog, route_labels
from slaengine.serve.api import (
    Api,
    api_of,
    error,
    guarded,
    ingest_answer,
    instant_param,
    read_body,
    request_id,
)
from slaengine.serve.auth import BearerAuth
from slaengine.serve.bodies import BadBody, split_events
from slaengine.serve.inbox import post_inbox
from slaengine.serve.metrics import CONTENT_TYPE, StateFigures, render
from slaengine.serve.openapi import openapi_document
from slaengine.serve.rejects import get_reject, get_rejects, post_redrive, post_replay

_log = structlog.get_logger("slaengine.serve")
MAX_LIMIT = 1000


@guarded
async def post_events(request: Request) -> Response:
    """Store canonical events; say per event whether it was accepted, a duplicate or rejected.

    ``?quiet_before=INSTANT`` loads history quietly: what the events' tickets
    reached before it is recorded as skipped, not sent.
    """
    api = api_of(request)
    quiet_before = instant_param(request, "quiet_before")
    body = await read_body(request, api)
    try:
        # Parsing a large body takes a while: not on the event loop.
        place, items = await run_in_threadpool(
            split_events, body, request.headers.get("content-type")
        )
    except BadBody as exc:
        return error(exc.status, str(exc))
    label = f"POST /events#{request_id(request)}"
    records = [
        (f"{label} {place} {item.place}", item.payload, item.problem, item.raw) for item in items
    ]
    now = api.now()
    report = await api.call(lambda engine: engine.ingest(records, now, quiet_before=quiet_before))
    api.record_ingest("events", report)
    return JSONResponse(ingest_answer(place, [item.place for item in items], report))


@guarded
async def get_ticket(request: Request) -> Response:
    """A ticket's status: per clock its state, due, remaining and next alert."""
    api = api_of(request)
    ticket = request.path_params["ticket"]
    at = instant_param(request, "at")
    now = api.now() if at is None else at
    status = await api.call(lambda engine: engine.status(ticket, now))
    if status is None:
        return error(404, "no such ticket (or not created by then)", ticket=ticket)
    return JSONResponse(status.to_dict())


def _limit(text: str | None) -> int:
    if text is None:
        return 100
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"limit: expected a whole number from 1 to {MAX_LIMIT}, got {text!r}")
    return int(text)


@guarded
async def get_at_risk(request: Request) -> Response:
    """Running clocks due within the window (overdue ones first), soonest first."""
    api = api_of(request)
    params = request.query_params
    try:
        within = parse_window(params.get("within") or api.settings.at_risk_window)
        limit = _limit(params.get("limit"))
    except ValueError as exc:
        return error(400, str(exc) if str(exc).startswith("limit") else f"within: {exc}")
    group, agent = params.get("group"), params.get("agent")
    now = api.now()
    clocks = await api.call(lambda engine: engine.store.at_risk(now + within, group, agent, limit))
    return JSONResponse(queue_document(clocks, now, within, group, agent))


async def get_healthz(request: Request) -> Response:
    """Whether the state database answers, and how the in-process worker is doing."""
    api = api_of(request)
    worker = api.worker_health() if api.worker_health is not None else {"running": False}
    try:
        version = await api.call(lambda engine: engine.store.schema_version())
    except Exception as exc:  # a health check reports failures, it does not raise them
        _log.warning("health check: state database unreachable", error=repr(exc))
        return JSONResponse(
            {"status": "unavailable", "store": "unreachable", "worker": worker}, status_code=503
        )
    return JSONResponse({"status": "ok", "store": "ok", "schema": version, "worker": worker})


def _figures(engine: LiveEngine, api: Api, now: int) -> StateFigures:
    store = engine.store
    counts = store.counts()
    settings = api.settings
    return StateFigures(
        now=now,
        events=counts["events"],
        rejects=counts["rejects"],
        outbox={k.removeprefix("outbox."): v for k, v in counts.items() if k.startswith("outbox.")},
        oldest_undelivered=store.oldest_undelivered(),
        open_clocks=store.open_clock_total(),
        windows=settings.due_soon,
        by_group=tuple(store.clock_counts(now, settings.due_soon)),
        at_risk_window=settings.at_risk_window,
        at_risk=tuple(store.clock_counts(now, [settings.at_risk_window])),
        pruned=store.pruned_totals(),
    )


@guarded
async def get_metrics(request: Request) -> Response:
    """The Prometheus text exposition."""
    api = api_of(request)
    now = api.now()
    figures = await api.call(lambda engine: _figures(engine, api, now))
    return PlainTextResponse(render(figures, api.counters), media_type=CONTENT_TYPE)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    answer = error(exc.status_code, str(exc.detail))
    if exc.headers:
        answer.headers.update(exc.headers)
    return answer


async def get_openapi(request: Request) -> Response:
    """The OpenAPI document of every route served."""
    return JSONResponse(openapi())


#: Every route the API serves: path, method, handler, and what it takes and answers
#: (docs/api.md documents each; /openapi.json is generated from this table).
SERVED: Final = (
    ("/events", "POST", post_events, ops.POST_EVENTS),
    ("/inbox/{vendor}", "POST", post_inbox, ops.POST_INBOX),
    ("/tickets/{ticket:path}", "GET", get_ticket, ops.GET_TICKET),
    ("/at-risk", "GET", get_at_risk, ops.GET_AT_RISK),
    ("/rejects", "GET", get_rejects, ops.GET_REJECTS),
    ("/rejects/replay", "POST", post_redrive, ops.POST_REDRIVE),
    ("/rejects/{reject:int}", "GET", get_reject, ops.GET_REJECT),
    ("/rejects/{reject:int}/replay", "POST", post_replay, ops.POST_REPLAY),
    ("/healthz", "GET", get_healthz, ops.GET_HEALTHZ),
    ("/metrics", "GET", get_metrics, ops.GET_METRICS),
    ("/openapi.json", "GET", get_openapi, ops.GET_OPENAPI),
)


def routes() -> list[Route]:
    """Every route the API serves (docs/api.md documents each)."""
    return [Route(path, handler, methods=[method]) for path, method, handler, _ in SERVED]


@functools.cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`SERVED` (built once)."""
    rows = [(path, method, handler.__name__, op) for path, method, handler, op in SERVED]
    return openapi_document(rows, __version__)


def _open_paths() -> frozenset[str]:
    # The routes that need no token, such as /healthz for load balancers.
    return frozenset(path for path, _, _, op in SERVED if not op.token)


def create_app(api: Api) -> ASGIApp:
    """The ASGI application serving ``api``."""
    # Every answer is JSON: an unknown path or method too, not Starlette's plain text.
    app = Starlette(routes=routes(), exception_handlers={HTTPException: _http_error})
    app.router.redirect_slashes = False  # /tickets is no ticket: 404, not a redirect
    app.state.api = api
    auth = BearerAuth(app, api.settings.token, open_paths=_open_paths())
    return AccessLog(auth, api.count_request, route_labels(path for path, *_ in SERVED))


__all__ = ["SERVED", "create_app", "openapi", "routes"]
