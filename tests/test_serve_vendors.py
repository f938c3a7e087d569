"""The bundled inboxes behind the server's own settings: secrets, ``verify = false``, the clock.

``test_inbox_http`` replays every vendor's conversation signed; here the
server's side: Chatwoot's secret from an ``[inbox.chatwoot]`` table, its
timestamp judged by the server's clock, and the other vendors accepted
unsigned because their tables say ``verify = false``.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from serve_support import TOKEN, client, running
from slaengine.event_parsing import parse_instant
from slaengine.live import LiveEngine, Store
from slaengine.plugins import make_plugins
from slaengine.policy import loads_policies
from slaengine.serve import Api
from slaengine.serve.settings import serve_settings
from test_inbox_replay import CONVERSATIONS, DATA, POLICY

SECRET = "chatwoot-webhook-secret"
NOW = parse_instant("2026-03-02T12:00:00Z")  # the server's clock, after every delivery


def chatwoot_headers(body: bytes, sent: int) -> dict[str, str]:
    """The headers Chatwoot signs a delivery with: HMAC-SHA256 of ``{timestamp}.{body}``."""
    mac = hmac.new(SECRET.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Chatwoot-Timestamp": str(sent), "X-Chatwoot-Signature": f"sha256={mac}"}


@pytest.fixture
def server(tmp_path):
    config = {
        "serve": {"token": TOKEN},
        "inbox": {
            "chatwoot": {"secret": SECRET},
            **{vendor: {"verify": False} for vendor in CONVERSATIONS if vendor != "chatwoot"},
        },
    }
    settings = serve_settings(config, listen="127.0.0.1:0", environ={})
    policies = loads_policies(POLICY, "inbox.yaml")
    state = tmp_path / "state.db"
    inboxes = make_plugins(entry_points=False).inboxes()
    assert set(CONVERSATIONS) <= set(inboxes)

    def open_engine():
        return LiveEngine(policies, Store.open(state))

    with running(Api(open_engine, settings, inboxes, clock=lambda: float(NOW))) as url:
        yield url


def body_of(vendor: str, name: str) -> bytes:
    return (DATA / vendor / f"{name}.json").read_bytes()


def post(http, vendor: str, body: bytes, sent: int = NOW):
    headers = {"Content-Type": "application/json"}
    if vendor == "chatwoot":
        headers.update(chatwoot_headers(body, sent))
    return http.post(f"/inbox/{vendor}", content=body, headers=headers)


def test_chatwoot_signatures_are_checked_over_http(server):
    body = body_of("chatwoot", "conversation_created")
    with client(server) as http:
        forged = http.post(
            "/inbox/chatwoot",
            content=body,
            headers={**chatwoot_headers(body, NOW), "X-Chatwoot-Signature": "sha256=" + "0" * 64},
        )
        assert forged.status_code == 401
        stale = post(http, "chatwoot", body, sent=NOW - 3 * 3600)
        assert stale.status_code == 401
        assert "stale or replayed" in stale.json()["error"]
        unsigned = http.post("/inbox/chatwoot", content=body)
        assert unsigned.status_code == 401
        ignored = post(http, "chatwoot", body_of("chatwoot", "contact_created"))
        assert ignored.status_code == 202
        assert "contact_created" in json.dumps(ignored.json())
        malformed = post(http, "chatwoot", body_of("chatwoot", "malformed_no_conversation"))
        assert malformed.status_code == 400
        assert post(http, "chatwoot", body).status_code == 200


def test_verify_false_accepts_a_signing_vendor_unsigned(server):
    ticket, files, _, _ = CONVERSATIONS["zendesk"]
    with client(server) as http:
        answer = post(http, "zendesk", body_of("zendesk", files[0]))
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] >= 1
        assert http.get(f"/tickets/{ticket}").status_code == 200


def test_the_bundled_inboxes_are_all_served(server):
    with client(server) as http:
        answer = http.post("/inbox/nosuchvendor", json={})
    assert answer.status_code == 404
    assert set(CONVERSATIONS) <= set(answer.json()["known"])
