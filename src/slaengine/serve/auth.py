"""The bearer token that guards every endpoint but ``/healthz``.

Compared in constant time. Vendors whose webhooks cannot send a header may
pass it as ``?token=`` on ``/inbox/...`` only (a URL ends up in more logs than
a header; the access log here redacts it). The token is never logged.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Collection
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS: Final = frozenset({"/healthz"})
QUERY_TOKEN_PREFIXES: Final = ("/inbox/",)


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` is ``token``, in time that does not depend on where they differ."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8"))


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or ``None``."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, credentials = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
    return None


def query_token(query_string: bytes) -> str | None:
    """The ``token`` query parameter, or ``None``."""
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "token":
            return value
    return None


class BearerAuth:
    """ASGI middleware: answers 401 unless the request carries the token."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        open_paths: Collection[str] = OPEN_PATHS,
        query_prefixes: tuple[str, ...] = QUERY_TOKEN_PREFIXES,
    ) -> None:
        self.app = app
        self._token = token
        self.open_paths = open_paths
        self.query_prefixes = query_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when it may, else answer 401."""
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = [bearer(scope["headers"])]
        if scope["path"].startswith(self.query_prefixes):
            # A vendor may send an Authorization header of its own: the URL's token counts too.
            given.append(query_token(scope.get("query_string", b"")))
        tokens = [token for token in given if token is not None]
        if not tokens:
            how = "send 'Authorization: Bearer TOKEN'" + (
                " or ?token=TOKEN" if len(given) > 1 else ""
            )
            await _refuse(send, f"missing bearer token: {how}", None)
        elif not any(token_matches(token, self._token) for token in tokens):
            await _refuse(send, "wrong token", "invalid_token")
        else:
            await self.app(scope, receive, send)


async def _refuse(send: Send, message: str, error: str | None) -> None:
    body = json.dumps({"error": message}, separators=(",", ":")).encode()  # as JSONResponse
    challenge = 'Bearer realm="slaengine"' + (f', error="{error}"' if error else "")
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["OPEN_PATHS", "BearerAuth", "bearer", "query_token", "token_matches"]
