"""Structured access logs: one ``request`` line per request, with the token redacted.

Logs the method, path, query (any ``token`` parameter replaced by ``***``),
status, duration, body sizes, client and a request id that is also sent back
as ``X-Request-Id`` and recorded as the origin of the events the request
stored. Counts requests by route and status for ``/metrics``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import structlog
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_log = structlog.get_logger("slaengine.serve")


def route_labels(templates: Iterable[str]) -> Callable[[str], str]:
    """A function naming the route template a path matches, as docs/api.md writes it.

    ``templates`` are the served paths in Starlette's syntax; a typed parameter
    (``{ticket:path}``, ``{reject:int}``) is labelled ``{id}``. A path no route
    serves is ``other``, so metric labels stay a bounded set.
    """
    compiled = [
        (compile_path(template)[0], re.sub(r"\{\w+:\w+\}", "{id}", template))
        for template in templates
    ]

    def route_of(path: str) -> str:
        for pattern, label in compiled:
            if pattern.match(path):
                return label
        return "other"

    return route_of


def redacted_query(query_string: bytes) -> str:
    """The query string with the value of every ``token`` parameter replaced."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, "***" if k == "token" else v) for k, v in pairs], safe="*/:")


class AccessLog:
    """ASGI middleware: times each request, logs it, and reports it to ``count``."""

    def __init__(
        self, app: ASGIApp, count: Callable[[str, str, int], None], route_of: Callable[[str], str]
    ) -> None:
        self.app = app
        self.count = count
        self.route_of = route_of  # the route label of a path, for ``count``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, then log one line about it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        seen: dict[str, Any] = {"status": 500, "sent": 0, "received": 0}

        async def counting_receive() -> Message:
            message = await receive()
            seen["received"] += len(message.get("body", b""))
            return message

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                seen["sent"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, logging_send)
        finally:
            status = int(seen["status"])
            self.count(scope["method"], self.route_of(scope["path"]), status)
            client = scope.get("client")
            _log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                query=redacted_query(scope.get("query_string", b"")),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                received=seen["received"],
                sent=seen["sent"],
                client=f"{client[0]}:{client[1]}" if client else None,
                request_id=request_id,
            )


__all__ = ["AccessLog", "redacted_query", "route_labels"]
