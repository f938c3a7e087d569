"""Shared set-up for the HTTP API tests: a real uvicorn server on 127.0.0.1, a test inbox.

``running(api)`` serves an :class:`~slaengine.serve.Api` from a thread on a
free port and yields its base URL; the tests talk to it with httpx. The test
inbox ``acme`` signs its webhooks with HMAC-SHA256 of the body in the header
``X-Acme-Signature``; ``plain`` does not sign.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')
pytest.importorskip("uvicorn", reason='the API needs the serve extra: pip install ".[serve]"')
httpx = pytest.importorskip("httpx")

import uvicorn  # noqa: E402

from slaengine.hookspecs import hookimpl  # noqa: E402
from slaengine.inbox import Delivery, Inbox, InboxError, SignatureError  # noqa: E402
from slaengine.plugins import make_plugins  # noqa: E402
from slaengine.serve import Api, bind, create_app  # noqa: E402
from slaengine.serve.server import uvicorn_config  # noqa: E402

TOKEN = "s3cret-test-token-0123456789"
ACME_SECRET = "acme-shared-secret"


def acme_signature(body: bytes, secret: str = ACME_SECRET) -> str:
    """The signature header value the acme vendor sends for ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _verify(body: bytes, headers: Mapping[str, str], secret: str, now: int) -> None:
    given = headers.get("x-acme-signature")
    if not given:
        raise SignatureError("no X-Acme-Signature header")
    if not hmac.compare_digest(given, acme_signature(body, secret)):
        raise SignatureError("X-Acme-Signature does not match the body")


def _translate(payload: Mapping[str, Any]) -> Delivery:
    kind = payload.get("type")
    data = payload.get("data")
    if not isinstance(kind, str) or not isinstance(data, Mapping):
        raise InboxError("expected 'type' and a 'data' object")
    if kind == "boom":
        raise RuntimeError("translator bug")
    base = {"id": f"acme-{data.get('id')}", "ticket": f"A-{data.get('ticket')}"}
    if kind == "ticket.created":
        return Delivery(
            (
                {
                    **base,
                    "type": "created",
                    "at": data.get("at"),
                    "channel": "chat",
                    "priority": data.get("priority", "normal"),
                    "group": data.get("group"),
                },
            )
        )
    if kind == "message.created":
        author = "agent" if data.get("from") == "agent" else "customer"
        return Delivery(({**base, "type": "message", "at": data.get("at"), "author": author},))
    return Delivery(ignored=kind)


class InboxPlugin:
    """A plugin registering the test inboxes."""

    @hookimpl
    def slaengine_register_inboxes(self, register: Any) -> None:
        register(Inbox("acme", "Acme test helpdesk (signed)", _translate, _verify))
        register(Inbox("plain", "an unsigned test inbox", _translate))


def acme_inboxes() -> dict[str, Inbox]:
    """The test inboxes, collected through a real plugin manager."""
    plugins = make_plugins(entry_points=False, plugins=[("inboxtest", InboxPlugin())])
    return plugins.inboxes()


@contextlib.contextmanager
def running(api: Api) -> Iterator[str]:
    """Serve ``api`` on 127.0.0.1 (a free port) from a thread; yield the base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(create_app(api)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a loaded machine starts slowly; success is quick
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
        api.close()
        sock.close()


def client(url: str, token: str | None = TOKEN) -> Any:
    """An httpx client for ``url`` sending ``token`` as the bearer token (``None``: none)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


__all__ = [
    "ACME_SECRET",
    "TOKEN",
    "InboxPlugin",
    "acme_inboxes",
    "acme_signature",
    "client",
    "running",
]
