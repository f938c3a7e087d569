"""A client that goes away before its body has arrived: a client disconnect, not a failure.

The request is logged as a warning without a traceback and counted as 499 (the
status proxies use for a request the client closed), never as a 500.
"""

from __future__ import annotations

import socket
import time

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

from structlog.testing import capture_logs

from live_support import (  # noqa: F401 (fixtures)
    info_logs_fixture,
    live_policies_fixture,
    restored_logging_fixture,
    route_all,
)
from serve_support import TOKEN, acme_inboxes, client, running
from slaengine.live import LiveEngine, Store
from slaengine.serve import Api
from slaengine.serve.settings import ServeSettings
from test_serve_api import Clock

pytestmark = pytest.mark.usefixtures("restored_logging")


def _half_a_request(url: str, path: str) -> None:
    """Send the headers and part of the body that Content-Length announces, then hang up."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode("ascii") + b'[{"ticket": "T-1", ')
        time.sleep(0.2)  # the server is reading the body when the client goes


def _wait_for_request_line(logs: list[dict], path: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [e for e in logs if e["event"] == "request" and e["path"] == path]
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise AssertionError(f"no request line for {path}: {logs}")


@pytest.mark.parametrize("path", ["/events", "/inbox/acme", "/rejects/1/replay"])
def test_a_client_leaving_mid_body_is_a_disconnect_not_an_error(
    live_policies, tmp_path, path, info_logs
):
    state = str(tmp_path / "state.db")

    def open_engine():
        return LiveEngine(live_policies, Store.open(state), route_all)

    serving = ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False)
    api = Api(open_engine, serving, acme_inboxes(), clock=Clock(30))
    with capture_logs() as logs, running(api) as url:
        _half_a_request(url, path)
        line = _wait_for_request_line(logs, path)
        with client(url) as http:
            metrics = http.get("/metrics").text
    assert line["status"] == 499
    gone = [e for e in logs if e["event"] == "client disconnected before its request was read"]
    assert len(gone) == 1
    assert gone[0]["log_level"] == "warning"
    assert gone[0]["path"] == path
    assert gone[0]["request_id"] == line["request_id"]
    assert not [e for e in logs if e["log_level"] == "error" or "exc_info" in e]
    assert 'status="499"' in metrics
    assert 'status="500"' not in metrics
