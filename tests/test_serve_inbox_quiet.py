"""``POST /inbox/{vendor}?quiet_before=``: a vendor's history backfilled without notifications.

Each bundled inbox receives its conversation's first delivery (the payloads of
test_inbox_replay, written from the vendors' documentation) over real HTTP: the
ticket was created at 09:00 and never answered, so by noon its one-hour first
response is breached and escalated twice (10:00 and 10:30). Loaded quietly, those notifications are
recorded as skipped; loaded as usual, they are queued to be sent.
"""

from __future__ import annotations

import pytest

from serve_support import TOKEN, client, running
from slaengine.event_parsing import parse_instant
from slaengine.live import LiveEngine, Store
from slaengine.plugins import make_plugins
from slaengine.policy import loads_policies
from slaengine.serve import Api
from slaengine.serve.settings import serve_settings
from test_inbox_replay import CONVERSATIONS
from test_serve_vendors import SECRET, body_of, chatwoot_headers

NOW = parse_instant("2026-03-02T12:00:00Z")
POLICY = """\
version: 1
policies:
  - name: everything
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        escalations:
          - {after: 0m, notify: [lead]}
          - {after: 30m, notify: [manager]}
"""


@pytest.fixture
def policies():
    return loads_policies(POLICY, "quiet.yaml")


@pytest.fixture
def server(tmp_path, policies):
    config = {
        "serve": {"token": TOKEN},
        "inbox": {
            "chatwoot": {"secret": SECRET},
            **{vendor: {"verify": False} for vendor in CONVERSATIONS if vendor != "chatwoot"},
        },
    }
    settings = serve_settings(config, listen="127.0.0.1:0", environ={})
    state = tmp_path / "state.db"
    inboxes = make_plugins(entry_points=False).inboxes()

    def open_engine():
        return LiveEngine(policies, Store.open(state))

    with running(Api(open_engine, settings, inboxes, clock=lambda: float(NOW))) as url:
        yield url, state


def deliver(http, vendor: str, query: str = ""):
    body = body_of(vendor, CONVERSATIONS[vendor][1][0])
    headers = {"Content-Type": "application/json"}
    if vendor == "chatwoot":
        headers.update(chatwoot_headers(body, NOW))
    return http.post(f"/inbox/{vendor}{query}", content=body, headers=headers)


def outbox_after_advance(policies, state, ticket):
    store = Store.open(state)
    try:
        LiveEngine(policies, store).advance(NOW)
        return [(row.kind, row.recipient, row.status) for row in store.outbox(ticket=ticket)]
    finally:
        store.close()


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_a_backfill_loaded_quietly_sends_nothing_from_before_the_cut_off(server, policies, vendor):
    url, state = server
    with client(url) as http:
        answer = deliver(http, vendor, "?quiet_before=2026-03-02T12:00:00Z")
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] >= 1
    rows = outbox_after_advance(policies, state, CONVERSATIONS[vendor][0])
    assert ("escalation", "lead", "skipped") in rows
    assert ("escalation", "manager", "skipped") in rows
    assert {status for _, _, status in rows} == {"skipped"}


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_without_the_option_past_breaches_are_queued(server, policies, vendor):
    url, state = server
    with client(url) as http:
        assert deliver(http, vendor).status_code == 200
    rows = outbox_after_advance(policies, state, CONVERSATIONS[vendor][0])
    assert ("escalation", "lead", "pending") in rows
    assert {status for _, _, status in rows} == {"pending"}


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_what_comes_after_the_cut_off_is_sent(server, policies, vendor):
    # A cut-off between the two escalations: the first is quiet, the second is sent.
    url, state = server
    with client(url) as http:
        answer = deliver(http, vendor, "?quiet_before=2026-03-02T10:15:00%2B00:00")
    assert answer.status_code == 200, answer.text
    rows = outbox_after_advance(policies, state, CONVERSATIONS[vendor][0])
    assert ("escalation", "lead", "skipped") in rows
    assert ("escalation", "manager", "pending") in rows


@pytest.mark.parametrize("vendor", CONVERSATIONS)
def test_a_bad_cut_off_is_400_and_stores_nothing(server, vendor):
    url, _ = server
    with client(url) as http:
        answer = deliver(http, vendor, "?quiet_before=2026-03-02T09:45:00")
        assert answer.status_code == 400
        assert answer.json()["error"].startswith("quiet_before: ")
        assert http.get(f"/tickets/{CONVERSATIONS[vendor][0]}").status_code == 404
        metrics = http.get("/metrics").text
    assert f'slaengine_inbox_deliveries_total{{result="invalid",vendor="{vendor}"}} 1' in metrics
