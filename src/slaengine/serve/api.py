"""What the endpoints share: the live engine on the server's own connection, counters, helpers.

The store is used from one thread at a time, so every database call of a
request runs in a worker thread under one lock. A database error closes the
connection; the next request opens a new one, so a restarted PostgreSQL
server or a briefly locked SQLite file costs a 503, not the process.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from slaengine.errors import EventError
from slaengine.event_parsing import parse_instant
from slaengine.inbox import Inbox
from slaengine.live import LiveEngine
from slaengine.live.engine import ACCEPTED, DUPLICATE, REJECTED, IngestReport
from slaengine.live.store import is_database_error
from slaengine.live.text import redact_url_secrets
from slaengine.serve.bodies import BodyTooLarge, read_limited
from slaengine.serve.metrics import Counters
from slaengine.serve.settings import ServeSettings

_log = structlog.get_logger("slaengine.serve")
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
SHOWN_REJECTS = 20
#: The status logged and counted for a request whose client left before it was read (as
#: proxies log it): no answer reaches anyone, and it is no failure of the server.
CLIENT_CLOSED = 499


class StoreUnavailable(Exception):
    """The state database could not answer (answered 503)."""


class Api:
    """The server's shared state: engine, settings, inboxes, counters, the worker's health."""

    def __init__(
        self,
        open_engine: Callable[[], LiveEngine],
        settings: ServeSettings,
        inboxes: Mapping[str, Inbox],
        clock: Callable[[], float] = time.time,
        worker_health: Callable[[], dict[str, Any]] | None = None,
        counters: Counters | None = None,
    ) -> None:
        self._open_engine = open_engine
        self._engine: LiveEngine | None = None
        self._lock = threading.Lock()
        self.settings = settings
        self.inboxes = dict(inboxes)
        self.clock = clock
        self.worker_health = worker_health
        self.counters = counters if counters is not None else Counters()

    def now(self) -> int:
        """The wall clock in whole epoch seconds."""
        return int(self.clock())

    def _run(self, work: Callable[[LiveEngine], T]) -> T:
        with self._lock:
            try:
                if self._engine is None:
                    self._engine = self._open_engine()
                return work(self._engine)
            except Exception as exc:
                if not is_database_error(exc):
                    raise
                # Driver messages may name the server; never its password.
                message = redact_url_secrets(f"{type(exc).__name__}: {exc}")
                _log.error("state database error", error=message)
                self._drop()
                raise StoreUnavailable(type(exc).__name__) from exc

    async def call(self, work: Callable[[LiveEngine], T]) -> T:
        """Run ``work(engine)`` in a worker thread, one at a time."""
        return await run_in_threadpool(self._run, work)

    def _drop(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            try:
                engine.store.close()
            except Exception as exc:  # closing a broken connection may fail too
                _log.debug("closing the state database failed", error=repr(exc))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._drop()

    def count_request(self, method: str, route: str, status: int) -> None:
        """Access-log hook: count one answered request."""
        self.counters.add("http_requests", method=method, route=route, status=str(status))

    def record_ingest(self, endpoint: str, report: IngestReport) -> None:
        """Count an ingest's outcomes and log its first rejects."""
        for outcome, amount in (
            (ACCEPTED, report.accepted),
            (DUPLICATE, report.duplicates),
            (REJECTED, len(report.rejected)),
        ):
            if amount:
                self.counters.add("api_events", amount, endpoint=endpoint, outcome=outcome)
        for reject in report.rejected[:SHOWN_REJECTS]:
            _log.warning("event rejected", origin=reject.origin, problem=reject.problem)


def guarded(handler: Handler) -> Handler:
    """Answer a :class:`Problem` with its status, 503 when the database is unavailable and
    500 (logged) on any other failure; a client gone before its body arrived is logged as
    such and counted as :data:`CLIENT_CLOSED`."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except Problem as exc:
            return error(exc.status, str(exc), **exc.extra)
        except StoreUnavailable:
            return error(503, "state database unavailable; try again")
        except ClientDisconnect:
            _log.warning(
                "client disconnected before its request was read",
                path=request.url.path,
                request_id=request_id(request),
            )
            return Response(status_code=CLIENT_CLOSED)
        except Exception as exc:  # one request's failure must not reach the server
            _log.exception(
                "request failed",
                path=request.url.path,
                request_id=request_id(request),
                error=f"{type(exc).__name__}: {exc}",
            )
            return error(500, f"internal error ({type(exc).__name__}); see the server log")

    return run


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """A JSON error answer: ``{"error": message, ...}``."""
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def api_of(request: Request) -> Api:
    """The shared state of the application serving ``request``."""
    api: Api = request.app.state.api
    return api


def request_id(request: Request) -> str:
    """The id the access log gave this request."""
    return str(getattr(request.state, "request_id", "-"))


class Problem(Exception):
    """A request refused: ``status``, this message and ``extra`` fields (see :func:`guarded`)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class BadParameter(Problem):
    """A query parameter that cannot be read (answered 400 with this message)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


async def read_body(request: Request, api: Api) -> bytes:
    """The request's body, up to ``max_body`` bytes; a larger one is a 413 :class:`Problem`."""
    try:
        return await read_limited(
            request.stream(), request.headers.get("content-length"), api.settings.max_body
        )
    except BodyTooLarge as exc:
        raise Problem(413, str(exc), limit=exc.limit) from None


def instant_param(request: Request, name: str) -> int | None:
    """The instant in query parameter ``name`` (ISO 8601 with its offset), or ``None``."""
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return parse_instant(text, name)
    except EventError as exc:
        reason = exc.reason
        if reason.startswith(f"{name} "):  # not an instant at all: say what one looks like
            reason = f"expected an ISO 8601 instant with its UTC offset, got {text[:40]!r}"
        raise BadParameter(f"{name}: {reason}") from None


def ingest_answer(place: str, places: list[int], report: IngestReport) -> dict[str, Any]:
    """The body answering an ingest: totals and, per event, its place and outcome."""
    return {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": len(report.rejected),
        "events": [
            {place: where, **outcome.to_dict()}
            for where, outcome in zip(places, report.outcomes, strict=True)
        ],
    }


__all__ = [
    "CLIENT_CLOSED",
    "Api",
    "BadParameter",
    "StoreUnavailable",
    "api_of",
    "error",
    "guarded",
    "ingest_answer",
    "instant_param",
    "is_database_error",
    "request_id",
]
