"""The bundled inboxes behind ``slaengine serve``, over real HTTP on 127.0.0.1.

Each vendor's conversation (tests/data/inbox) is posted as the vendor would:
signed with its documented scheme, the token as a bearer header or as
``?token=`` for vendors that cannot send one. The server's ticket status then
shows the first response achieved by the public reply, not by the private note.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_support import TOKEN, client, running
from slaengine import loads_policies
from slaengine.live import LiveEngine, Store
from slaengine.plugins import make_plugins
from slaengine.serve import Api
from slaengine.serve.settings import InboxSecret, ServeSettings
from test_inbox_replay import CONVERSATIONS, _at
from test_inbox_signatures import SIGNERS

DATA = Path(__file__).resolve().parent / "data" / "inbox"
SECRETS = {vendor: f"{vendor}-signing-secret" for vendor in SIGNERS}
# Vendors whose webhook settings cannot add an Authorization header send ?token=.
QUERY_TOKEN = {"chatwoot", "intercom", "front"}
POLICY = """\
version: 1
policies:
  - name: everything
    calendar: 24x7
    metrics:
      first_response: {targets: 1h}
"""
NOW = _at("2026-03-02T10:30:00+00:00")  # the server's clock: after every delivery


@pytest.fixture
def server(tmp_path):
    policies = loads_policies(POLICY, "inbox.yaml")
    state = str(tmp_path / "state.db")

    def open_engine():
        return LiveEngine(policies, Store.open(state))

    settings = ServeSettings(
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        worker=False,
        inboxes={vendor: InboxSecret(secret, True, "test") for vendor, secret in SECRETS.items()},
    )
    inboxes = make_plugins(entry_points=False).inboxes()
    with running(Api(open_engine, settings, inboxes, clock=lambda: float(NOW))) as url:
        yield url


def _post(url, vendor, body, secret=None):
    headers = {"Content-Type": "application/json"}
    if vendor in SIGNERS:
        sign, _ = SIGNERS[vendor]
        headers.update(sign(body, secret or SECRETS[vendor], NOW))
    if vendor in QUERY_TOKEN:
        with client(url, token=None) as http:
            return http.post(f"/inbox/{vendor}?token={TOKEN}", content=body, headers=headers)
    with client(url) as http:
        return http.post(f"/inbox/{vendor}", content=body, headers=headers)


def _body(vendor, name):
    return (DATA / vendor / f"{name}.json").read_bytes()


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_a_conversation_posted_to_the_inbox_is_served_back(server, vendor):
    ticket, files, note, (reply, _agent) = CONVERSATIONS[vendor]
    seen = set()
    for name in files:
        answer = _post(server, vendor, _body(vendor, name))
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["rejected"] == 0
        # The created event comes with every delivery; a retried delivery is all duplicates.
        assert result["duplicates"] == len(result["events"]) - result["accepted"]
        if name in seen:
            assert result["accepted"] == 0
        seen.add(name)
    with client(server) as http:
        at_note = http.get(f"/tickets/{ticket}", params={"at": note.replace("+00:00", "Z")})
        now = http.get(f"/tickets/{ticket}")
    assert at_note.status_code == 200, at_note.text
    [before] = [m for m in at_note.json()["metrics"] if m["metric"] == "first_response"]
    assert before["state"] == "active"  # the private note did not answer the customer
    [after] = [m for m in now.json()["metrics"] if m["metric"] == "first_response"]
    assert after["state"] == "achieved"
    # Stopped by the reply: the hour's target less the time until the reply is left.
    opened = _at("2026-03-02T09:00:00+00:00")
    assert after["remaining_seconds"] == 3600 - (_at(reply) - opened)


@pytest.mark.parametrize("vendor", SIGNERS)
def test_a_wrong_signature_is_answered_401(server, vendor):
    first = CONVERSATIONS[vendor][1][0]
    answer = _post(server, vendor, _body(vendor, first), secret="not-the-secret")
    assert answer.status_code == 401
    assert "does not match" in answer.json()["error"]


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("chatwoot", "contact_created"),
        ("zendesk", "user_created"),
        ("freshdesk", "type_changed"),
        ("intercom", "ping"),
        ("front", "sync"),
    ],
)
def test_an_unused_event_type_is_acknowledged(server, vendor, name):
    answer = _post(server, vendor, _body(vendor, name))
    assert answer.status_code == 202
    assert answer.json()["ignored"]


def test_fronts_set_up_check_is_answered_with_its_challenge(server):
    body = _body("front", "sync")
    sign, _ = SIGNERS["front"]
    headers = {"Content-Type": "application/json", "X-Front-Challenge": "c-123"}
    headers.update(sign(body, SECRETS["front"], NOW))
    with client(server, token=None) as http:
        answer = http.post(f"/inbox/front?token={TOKEN}", content=body, headers=headers)
        assert answer.status_code == 200
        assert answer.json() == {"challenge": "c-123"}
        headers.update(sign(body, "not-the-secret", NOW))
        forged = http.post(f"/inbox/front?token={TOKEN}", content=body, headers=headers)
    assert forged.status_code == 401  # the challenge is echoed only to Front itself


@pytest.mark.parametrize(
    ("vendor", "name"),
    [
        ("chatwoot", "malformed_no_conversation"),
        ("zendesk", "malformed_detail"),
        ("freshdesk", "malformed_reply_without_actor"),
        ("intercom", "malformed_no_source"),
        ("front", "malformed_no_conversation"),
    ],
)
def test_a_payload_not_of_the_vendors_shape_is_answered_400(server, vendor, name):
    answer = _post(server, vendor, _body(vendor, name))
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"{vendor}: ")
