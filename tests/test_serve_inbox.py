"""``POST /inbox/{vendor}`` over real HTTP, with the test inboxes of ``serve_support``.

``acme`` signs (HMAC-SHA256 of the body in ``X-Acme-Signature``); ``plain``
does not. Secrets come from ``[inbox.VENDOR]`` tables or the environment.
"""

from __future__ import annotations

import json

import pytest

from live_support import at, iso_at, live_policies_fixture, restored_logging_fixture  # noqa: F401 (fixture)
from serve_support import ACME_SECRET, TOKEN, acme_inboxes, acme_signature, client, running
from slaengine.live import LiveEngine, Store
from slaengine.serve import Api
from slaengine.serve.settings import serve_settings

pytestmark = pytest.mark.usefixtures("restored_logging")


def created_payload(ticket=1, minute=0, delivery=1):
    return {
        "type": "ticket.created",
        "data": {"id": delivery, "ticket": ticket, "at": iso_at(minute), "group": "billing"},
    }


def message_payload(ticket=1, minute=5, delivery=2, sender="agent"):
    return {
        "type": "message.created",
        "data": {"id": delivery, "ticket": ticket, "at": iso_at(minute), "from": sender},
    }


@pytest.fixture
def state(tmp_path):
    return str(tmp_path / "state.db")


def serve_with(live_policies, state, config, environ=None):
    settings = serve_settings(
        {"serve": {"token": TOKEN}, **config}, listen="127.0.0.1:0", environ=environ or {}
    )

    def open_engine():
        return LiveEngine(live_policies, Store.open(state))

    return running(Api(open_engine, settings, acme_inboxes(), clock=lambda: float(at(10))))


def signed(http, payload, secret=ACME_SECRET, vendor="acme"):
    body = json.dumps(payload).encode()
    return http.post(
        f"/inbox/{vendor}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Acme-Signature": acme_signature(body, secret),
        },
    )


def stored(state, ticket):
    store = Store.open(state)
    try:
        return [json.loads(payload) for _, payload, _ in store.events_of(ticket)]
    finally:
        store.close()


def test_signed_delivery_is_verified_translated_and_stored_once(live_policies, state):
    config = {"inbox": {"acme": {"secret": ACME_SECRET}}}
    with serve_with(live_policies, state, config) as url, client(url) as http:
        answer = signed(http, created_payload())
        assert answer.status_code == 200
        assert answer.json() == {
            "accepted": 1,
            "duplicates": 0,
            "rejected": 0,
            "events": [{"index": 0, "status": "accepted", "ticket": "A-1", "id": "acme-1"}],
        }
        # The vendor retries the same delivery: nothing is stored twice.
        again = signed(http, created_payload())
        assert again.json()["events"][0]["status"] == "duplicate"
        assert signed(http, message_payload()).json()["accepted"] == 1
        status = http.get("/tickets/A-1").json()
    assert [e["type"] for e in stored(state, "A-1")] == ["created", "message"]
    assert status["metrics"][0]["state"] == "achieved"


def test_bad_and_missing_signatures_are_401_and_store_nothing(live_policies, state):
    config = {"inbox": {"acme": {"secret": ACME_SECRET}}}
    with serve_with(live_policies, state, config) as url, client(url) as http:
        wrong = signed(http, created_payload(), secret="guess")
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "signature: X-Acme-Signature does not match the body"
        unsigned = http.post("/inbox/acme", json=created_payload())
        assert unsigned.status_code == 401
        assert "no X-Acme-Signature" in unsigned.json()["error"]
        # A signature over other bytes (the body changed in transit) does not pass.
        body = json.dumps(created_payload()).encode()
        tampered = http.post(
            "/inbox/acme",
            content=body.replace(b"billing", b"sales__"),
            headers={"X-Acme-Signature": acme_signature(body)},
        )
        assert tampered.status_code == 401
    assert stored(state, "A-1") == []


def test_secret_from_the_environment_and_from_secret_env(live_policies, state):
    for config, environ in (
        ({}, {"SLAENGINE_INBOX_ACME_SECRET": ACME_SECRET}),
        ({"inbox": {"acme": {"secret_env": "ACME_HOOK"}}}, {"ACME_HOOK": ACME_SECRET}),
    ):
        with serve_with(live_policies, state, config, environ) as url, client(url) as http:
            assert signed(http, created_payload()).status_code == 200
            assert signed(http, created_payload(), secret="other").status_code == 401


def test_signed_vendor_without_secret_is_refused_unless_verify_is_off(live_policies, state):
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        refused = signed(http, created_payload())
        assert refused.status_code == 403
        assert "SLAENGINE_INBOX_ACME_SECRET" in refused.json()["error"]
    config = {"inbox": {"acme": {"verify": False}}}
    with serve_with(live_policies, state, config) as url, client(url) as http:
        assert http.post("/inbox/acme", json=created_payload()).status_code == 200


def test_unknown_vendor_is_404_listing_the_known(live_policies, state):
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        answer = http.post("/inbox/nosuch", json={})
    assert answer.status_code == 404
    body = answer.json()
    assert body["error"] == "unknown inbox 'nosuch'"
    # The test inboxes, besides the bundled ones, in name order.
    assert {"acme", "plain"} <= set(body["known"])
    assert body["known"] == sorted(body["known"])
    # A misspelt vendor in the webhook's URL gets the one meant.
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        answer = http.post("/inbox/acmee", json={})
    assert answer.status_code == 404
    assert answer.json()["error"] == "unknown inbox 'acmee'; did you mean 'acme'?"


def test_ignored_type_is_202_and_logged_at_debug(live_policies, state, capsys):
    from slaengine.logs import configure_logging

    configure_logging(2, json=True)
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        answer = http.post("/inbox/plain", json={"type": "user.login", "data": {}})
    assert answer.status_code == 202
    assert answer.json() == {"ignored": "user.login"}
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    (ignored,) = [line for line in logged if line["event"] == "inbox event type ignored"]
    assert (ignored["level"], ignored["vendor"]) == ("debug", "plain")
    assert ignored["type"] == "user.login"


def test_unreadable_payloads_are_400_and_a_translator_bug_is_500(live_policies, state, capsys):
    from slaengine.logs import configure_logging

    configure_logging(1, json=True)
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        not_json = http.post("/inbox/plain", content=b"{nope")
        assert not_json.status_code == 400
        assert http.post("/inbox/plain", json=[1]).status_code == 400
        invalid = http.post("/inbox/plain", json={"type": "ticket.created"})
        assert invalid.status_code == 400
        assert invalid.json()["error"] == "expected 'type' and a 'data' object"
        bug = http.post("/inbox/plain", json={"type": "boom", "data": {}})
        assert bug.status_code == 500
        assert "RuntimeError" in bug.json()["error"]
        # The server goes on.
        assert http.post("/inbox/plain", json=created_payload()).status_code == 200
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    (failed,) = [line for line in logged if line["event"] == "request failed"]
    assert (failed["level"], failed["path"]) == ("error", "/inbox/plain")
    assert failed["error"] == "RuntimeError: translator bug"


def test_a_translated_event_that_is_invalid_is_rejected_per_event(live_policies, state):
    payload = created_payload()
    payload["data"]["at"] = "not a time"
    with serve_with(live_policies, state, {}) as url, client(url) as http:
        answer = http.post("/inbox/plain", json=payload).json()
    assert answer["rejected"] == 1
    assert answer["events"][0]["status"] == "rejected"
    assert "not a time" in answer["events"][0]["reason"]


def test_token_as_query_parameter_only_for_inboxes(live_policies, state):
    with serve_with(live_policies, state, {}) as url, client(url, token=None) as http:
        assert http.post("/inbox/plain", json=created_payload()).status_code == 401
        wrong = http.post("/inbox/plain", params={"token": "nope"}, json=created_payload())
        assert wrong.status_code == 401
        right = http.post("/inbox/plain", params={"token": TOKEN}, json=created_payload())
        assert right.status_code == 200
        assert http.post("/events", params={"token": TOKEN}, json=[]).status_code == 401
        # The vendor's own Authorization header does not hide the URL's token.
        vendor_auth = http.post(
            "/inbox/plain",
            params={"token": TOKEN},
            json=created_payload(),
            headers={"Authorization": "Bearer vendor-own-token"},
        )
        assert vendor_auth.status_code == 200
        basic = {"Authorization": "Basic dXNlcjpwYXNz"}
        assert http.post("/inbox/plain", json={}, headers=basic).status_code == 401


def test_oversized_webhook_is_413(live_policies, state):
    config = {"serve": {"token": TOKEN, "max_body": "1KiB"}}
    with serve_with(live_policies, state, config) as url, client(url) as http:
        payload = created_payload()
        payload["data"]["padding"] = "x" * 2000
        assert http.post("/inbox/plain", json=payload).status_code == 413
