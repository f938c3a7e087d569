"""The bundled inboxes behind the server's own settings: secrets, ``verify = false``, the clock.

``test_inbox_http`` replays every vendor's conversation signed; here the
server's side: Chatwoot's secret from an ``[inbox.chatwoot]`` table, its
timestamp judged by the server's clock, and the other vendors accepted
unsigned because their tables say ``verify = false``. And docs/integrations.md's
"Trying it by hand" recipes, run as written (openssl and curl in a shell) against
a server on the wall clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from serve_support import TOKEN, client, running
from slaengine.event_parsing import parse_instant
from slaengine.live import LiveEngine, Store
from slaengine.plugins import make_plugins
from slaengine.policy import loads_policies
from slaengine.serve import Api
from slaengine.serve.settings import inbox_env_name, serve_settings
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


INTEGRATIONS = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"
BY_HAND = "**Trying it by hand.**"


def _by_hand(vendor: str) -> tuple[str, str, str]:
    """A vendor section's hand-made delivery: (its JSON, the shell recipe, the words after)."""
    text = INTEGRATIONS.read_text(encoding="utf-8")
    section = text.split(f"\n## {vendor.title()}\n")[1].split("\n## ")[0]
    assert BY_HAND in section, f"docs/integrations.md: no {BY_HAND!r} for {vendor}"
    tried = section.split(BY_HAND, 1)[1]
    body = tried.split("```json\n", 1)[1].split("```", 1)[0]
    script, after = tried.split("```sh\n", 1)[1].split("```", 1)
    return body, script, after


def _run_recipe(script: str, body: str, url: str, env: dict[str, str], cwd: Path) -> dict:
    (name,) = set(re.findall(r"@([\w.-]+\.json)", script))
    (cwd / name).write_text(body, encoding="utf-8")
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("https://HOST", url)],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


@pytest.mark.parametrize("vendor", sorted(CONVERSATIONS))
def test_the_documented_delivery_by_hand_is_stored_by_a_real_server(vendor, tmp_path):
    missing = [tool for tool in ("bash", "curl", "openssl", "base64") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"the recipes need {', '.join(missing)}")
    body, script, after = _by_hand(vendor)
    secret_name = inbox_env_name(vendor)
    env = {"SLAENGINE_API_TOKEN": TOKEN, secret_name: f"{vendor}-signing-secret"}
    settings = serve_settings({"serve": {"token": TOKEN}}, listen="127.0.0.1:0", environ=env)
    state = tmp_path / "state.db"
    policies = loads_policies(POLICY, "inbox.yaml")

    def open_engine():
        return LiveEngine(policies, Store.open(state))

    inboxes = make_plugins(entry_points=False).inboxes()
    with running(Api(open_engine, settings, inboxes, clock=time.time)) as url:
        signed = inboxes[vendor].verify is not None
        if signed:  # the recipe's signature is what lets it in
            forged = _run_recipe(
                script, body, url, {**env, secret_name: "not-the-secret"}, tmp_path
            )
            assert forged["error"].startswith("signature:"), forged
        answer = _run_recipe(script, body, url, env, tmp_path)
    assert (answer["accepted"], answer["rejected"]) == (2, 0), answer
    (ticket,) = {item["ticket"] for item in answer["events"]}
    store = Store.open(state)
    try:
        stored = [json.loads(payload) for _, payload, _ in store.events_of(ticket)]
    finally:
        store.close()
    # What the page says of the answer is what was stored.
    words = " ".join(after.split())
    assert f"slaengine status --state STATE {ticket}" in words
    assert [event["id"] for event in stored] == ["created", stored[1]["id"]]
    assert f"`{stored[1]['id']}`" in words
    created = stored[0]
    for key in ("channel", "priority", "group", "customer"):
        if key in created:
            assert f"{key} `{created[key]}`" in words, (key, created[key])
