"""``/rejects`` over real HTTP: paged listing with filters, one reject, replaying a fixed one.

A real uvicorn server on 127.0.0.1 on a fresh state database (SQLite and
PostgreSQL); the server's clock is the test's (minutes after T0).
"""

from __future__ import annotations

import json

import pytest

import slaengine
from live_support import (  # noqa: F401 (fixtures)
    POLICY,
    at,
    created,
    event,
    iso_at,
    live_policies_fixture,
    postgres_server_fixture,
    restored_logging_fixture,
    route_all,
    state_url_fixture,
)
from serve_support import client, running
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.eventstore import Reject
from slaengine.live.rejects import reject_dict
from slaengine.live.text import BODY_LIMIT
from test_serve_api import Clock, make_api, post_json, post_lines

pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.fixture
def clock():
    return Clock(5)


@pytest.fixture
def server(live_policies, state_url, clock):
    with running(make_api(live_policies, state_url, clock, max_body=64 * 1024)) as url:
        yield url


def stored_rejects(state_url, origins_at):
    """Store rejects directly: ``(origin, minute)`` each; their ids, oldest first."""
    store = Store.open(state_url)
    try:
        for origin, minute in origins_at:
            store.add_events([], at(minute), [Reject(origin, "bad", '{"n": 1}')])
        return sorted(row.id for row in store.reject_page(limit=1000))
    finally:
        store.close()


def test_rejects_page_newest_first_and_follow_next(server, state_url):
    ids = stored_rejects(state_url, [(f"feed:{n}", n) for n in range(5)])
    with client(server) as http:
        first = http.get("/rejects", params={"limit": 2})
        assert first.status_code == 200
        body = first.json()
        assert [r["id"] for r in body["rejects"]] == ids[::-1][:2]
        seen = [r["id"] for r in body["rejects"]]
        following = body["next"]
        while following is not None:
            page = http.get(following).json()
            seen.extend(r["id"] for r in page["rejects"])
            following = page["next"]
    assert seen == ids[::-1]
    assert body["rejects"][0] == {
        "id": ids[-1],
        "received": iso_at(4),
        "origin": "feed:4",
        "problem": "bad",
        "payload": {"n": 1},
        "payload_text": None,
        "raw": None,
        "raw_size": None,
        "raw_complete": None,
        "replayed": None,
    }


def test_rejects_filter_by_source_and_time(server, state_url):
    ids = stored_rejects(
        state_url,
        [("POST /events#a line 1", 1), ("POST /inbox/zendesk#b event 0", 2), ("feed:9", 3)],
    )
    with client(server) as http:

        def listed(**params):
            answer = http.get("/rejects", params=params)
            assert answer.status_code == 200, answer.text
            return [r["id"] for r in answer.json()["rejects"]]

        assert listed(source="POST /inbox/") == [ids[1]]
        assert listed(source="POST /") == [ids[1], ids[0]]
        assert listed(since=iso_at(2)) == [ids[2], ids[1]]
        assert listed(until=iso_at(2)) == [ids[0]]
        assert listed(since=iso_at(2), until=iso_at(3), source="POST") == [ids[1]]
        assert listed(replayed="false") == ids[::-1]
        assert listed(replayed="true") == []
        # A NUL or bytes that are not UTF-8 are text to compare, not database errors.
        for query in ("source=feed%00", "source=%ED%A0%80", "source=%FF"):
            answer = http.get(f"/rejects?{query}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["rejects"] == []
        page = http.get("/rejects", params={"limit": 1, "source": "POST /"}).json()
        assert "source=POST+%2F" in page["next"]  # the filters carry over to the next page
        assert [r["id"] for r in http.get(page["next"]).json()["rejects"]] == [ids[0]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "limit: expected a whole number from 1 to 1,000"),
        ({"limit": "abc"}, "limit: expected a whole number"),
        ({"before": "-3"}, "before: expected a whole number"),
        ({"since": "yesterday"}, "since: "),
        ({"until": "2025-12-01T10:00:00"}, "until: "),
        ({"replayed": "maybe"}, "replayed: expected true or false"),
    ],
    ids=["limit-zero", "limit-text", "before-negative", "since", "until-naive", "replayed"],
)
def test_bad_parameters_are_400_json(server, params, message):
    with client(server) as http:
        answer = http.get("/rejects", params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"].startswith(message)


def test_rejects_need_the_token(server):
    with client(server, token=None) as http:
        assert http.get("/rejects").status_code == 401
        assert http.post("/rejects/1/replay", json=created("T-1")).status_code == 401
    with client(server, token="wrong") as http:
        assert http.get("/rejects/1").status_code == 401


def test_one_reject_and_unknown_ones(server, state_url):
    [reject_id] = stored_rejects(state_url, [("feed:1", 1)])
    with client(server) as http:
        assert http.get(f"/rejects/{reject_id}").json()["origin"] == "feed:1"
        missing = http.get(f"/rejects/{reject_id + 1}")
        assert missing.status_code == 404
        assert missing.json()["reject"] == reject_id + 1
        not_a_number = http.get("/rejects/abc")
        assert not_a_number.status_code == 404
        assert "error" in not_a_number.json()
        assert http.post(f"/rejects/{reject_id + 1}/replay", json=created("T-1")).status_code == 404
        # Ids no database column holds are unknown ones, not database errors.
        huge = "9" * 30
        assert http.get(f"/rejects/{huge}").status_code == 404
        assert http.post(f"/rejects/{huge}/replay", json=created("T-1")).status_code == 404
        assert http.get("/rejects/0").status_code == 404
        assert http.get("/rejects", params={"before": huge}).status_code == 400
        assert http.get("/healthz").json()["status"] == "ok"  # the connection is still fine


def test_a_fixed_event_is_replayed_once(server, state_url, clock):
    bad = {**created("T-1"), "at": "2025-12-01T10:00:00"}  # no UTC offset
    with client(server) as http:
        refused = post_json(http, "/events", [bad]).json()
        assert refused["rejected"] == 1
        [listed] = http.get("/rejects").json()["rejects"]
        assert listed["payload"] == bad

        fixed = {**bad, "at": "2025-12-01T10:00:00Z"}
        clock.minutes = 7
        answer = post_json(http, f"/rejects/{listed['id']}/replay", fixed)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["reject"], body["replayed"], body["accepted"]) == (listed["id"], True, 1)
        assert body["events"][0]["status"] == "accepted"
        assert body["events"][0]["ticket"] == "T-1"
        assert http.get("/tickets/T-1").status_code == 200
        shown = http.get(f"/rejects/{listed['id']}").json()
        assert shown["replayed"] == iso_at(7)
        assert [r["id"] for r in http.get("/rejects?replayed=true").json()["rejects"]] == [
            listed["id"]
        ]

        again = post_json(http, f"/rejects/{listed['id']}/replay", fixed)
        assert again.status_code == 409
        assert again.json()["replayed"] == iso_at(7)
    store = Store.open(state_url)
    try:
        [(_, payload, origin)] = store.events_of("T-1")
        assert json.loads(payload)["at"] == "2025-12-01T10:00:00Z"
        assert f"replay of reject {listed['id']}" in origin
    finally:
        store.close()


def test_a_replay_with_a_bad_event_is_422_and_stores_nothing(server, state_url):
    [reject_id] = stored_rejects(state_url, [("feed:1", 1)])
    with client(server) as http:
        answer = post_lines(
            http,
            f"/rejects/{reject_id}/replay",
            [json.dumps(created("T-2")), json.dumps(event("T-2", 3, "telepathy"))],
        )
        assert answer.status_code == 422
        body = answer.json()
        assert body["replayed"] is False
        assert [e["status"] for e in body["events"]] == ["not_stored", "rejected"]
        assert http.get("/tickets/T-2").status_code == 404
        assert http.get(f"/rejects/{reject_id}").json()["replayed"] is None
        assert len(http.get("/rejects").json()["rejects"]) == 1  # no new reject


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{oops", "application/json", 400, "the body is not valid JSON"),
        (b"[]", "application/json", 400, "the body holds no events"),
        (b"42", "application/json", 400, "expected a JSON array of events"),
        (b"x" * (64 * 1024 + 1), "application/json", 413, "request body over the limit"),
    ],
    ids=["not-json", "empty-array", "number", "too-large"],
)
def test_unreadable_replay_bodies(server, state_url, body, content_type, status, message):
    [reject_id] = stored_rejects(state_url, [("feed:1", 1)])
    with client(server) as http:
        answer = http.post(
            f"/rejects/{reject_id}/replay", content=body, headers={"Content-Type": content_type}
        )
    assert answer.status_code == status
    assert answer.json()["error"].startswith(message), answer.json()


def test_an_empty_body_replays_the_stored_event_after_a_policy_fix(live_policies, state_url):
    status = event("T-3", 10, "status", status="waiting_on_customer")
    with running(make_api(live_policies, state_url, Clock(20))) as url, client(url) as http:
        answer = post_json(http, "/events", [created("T-3"), status]).json()
        assert [e["status"] for e in answer["events"]] == ["accepted", "rejected"]
        [reject] = http.get("/rejects").json()["rejects"]
        unchanged = http.post(f"/rejects/{reject['id']}/replay")
        assert unchanged.status_code == 422  # the same policies refuse it again
        assert "waiting_on_customer" in unchanged.json()["events"][0]["reason"]

    mapped = slaengine.loads_policies(
        "statuses:\n  waiting_on_customer: pending\n" + POLICY, "mapped.yaml"
    )
    with running(make_api(mapped, state_url, Clock(30))) as url, client(url) as http:
        answer = http.post(f"/rejects/{reject['id']}/replay")
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 1


def test_a_reject_without_an_event_needs_a_body(server, state_url):
    store = Store.open(state_url)
    try:
        store.add_events([], at(1), [Reject("feed:1", "not valid JSON", None, "{oops", 5)])
        [row] = store.reject_page()
    finally:
        store.close()
    with client(server) as http:
        answer = http.post(f"/rejects/{row.id}/replay")
    assert answer.status_code == 422
    assert "send the corrected event" in answer.json()["error"]


def test_a_replay_may_load_history_quietly(server, state_url, clock):
    [reject_id] = stored_rejects(state_url, [("feed:1", 1)])
    clock.minutes = 90
    with client(server) as http:
        answer = post_json(
            http, f"/rejects/{reject_id}/replay?quiet_before={iso_at(90)}", created("T-4")
        )
        assert answer.status_code == 200, answer.text
        assert http.post(f"/rejects/{reject_id}/replay?quiet_before=soon").status_code == 400
    store = Store.open(state_url)
    try:
        LiveEngine(slaengine.loads_policies(POLICY, "live.yaml"), store, route_all).advance(at(90))
        assert {row.status for row in store.outbox(ticket="T-4")} == {"skipped"}
    finally:
        store.close()


def test_pruning_keeps_the_metric_totals(server, live_policies, state_url):
    parser = pytest.importorskip("prometheus_client.parser")
    stored_rejects(state_url, [("feed:1", 1), ("feed:2", 2)])
    store = Store.open(state_url)
    try:
        engine = LiveEngine(live_policies, store, lambda n: ("ops",))
        engine.ingest([created("T-5")], at(0))
        engine.advance(at(61))
        Dispatcher(store, {"ops": lambda n: None}).dispatch(at(62))
    finally:
        store.close()

    def totals(http):
        text = http.get("/metrics").text
        found = {}
        for family in parser.text_string_to_metric_families(text):
            for sample in family.samples:
                found[sample.name] = sample.value
        return (
            found["slaengine_events_rejected_total"],
            found["slaengine_notifications_delivered_total"],
        )

    with client(server) as http:
        assert totals(http) == (2, 4)
        store = Store.open(state_url)
        try:
            assert store.prune_rejects(at(100)) == 2
            assert store.prune_delivered(at(100)) == 4
            assert store.counts()["rejects"] == 0
        finally:
            store.close()
        assert totals(http) == (2, 4)  # counters never go down


def test_a_redrive_replays_every_stored_event_a_policy_fix_made_valid(live_policies, state_url):
    waiting = [event(t, 10, "status", status="waiting_on_customer") for t in ("T-6", "T-7")]
    with running(make_api(live_policies, state_url, Clock(20))) as url, client(url) as http:
        post_json(http, "/events", [created("T-6"), created("T-7"), *waiting])
        post_lines(http, "/events", ["{oops"])
        still = http.post("/rejects/replay")
        assert still.status_code == 200
        assert (still.json()["replayed"], still.json()["refused"]) == (0, 2)

    mapped = slaengine.loads_policies(
        "statuses:\n  waiting_on_customer: pending\n" + POLICY, "mapped.yaml"
    )
    with running(make_api(mapped, state_url, Clock(30))) as url, client(url) as http:
        first = http.post("/rejects/replay", params={"source": "POST /events", "limit": 1})
        assert first.status_code == 200, first.text
        # The newest reject of POST /events: the line that was not JSON, kept as it is.
        assert [r["status"] for r in first.json()["rejects"]] == ["no_event"]
        assert first.json()["rejects"][0]["reason"].startswith("not valid JSON")
        answer = http.post("/rejects/replay").json()
        assert (answer["replayed"], answer["refused"], answer["no_event"]) == (2, 0, 1)
        assert {r["status"] for r in answer["rejects"]} == {"replayed", "no_event"}
        for ticket in ("T-6", "T-7"):
            assert http.get(f"/tickets/{ticket}").status_code == 200
        again = http.post("/rejects/replay").json()
        assert (again["replayed"], again["no_event"]) == (0, 1)  # replayed ones are done
        assert http.post("/rejects/replay", params={"limit": "0"}).status_code == 400
        assert http.post("/rejects/replay", params={"since": "then"}).status_code == 400
    store = Store.open(state_url)
    try:
        assert len(store.events_of("T-6")) == 2
        assert "POST /rejects/replay#" in store.events_of("T-6")[1][2]
    finally:
        store.close()


def _bad_delivery() -> bytes:
    # The plain test inbox translates it into a created event whose 'at' is no instant.
    # Odd spacing and a non-ASCII name: the body kept must be the bytes sent, not re-encoded.
    return (
        b'{"type":  "ticket.created",\n "data": {"id": 7, "ticket": 3, "at": "not a time",'
        b' "group": "caf\xc3\xa9"}}'
    )


def test_an_inbox_reject_keeps_the_body_received_and_replays(server, state_url):
    body = _bad_delivery()
    kind = "application/json; charset=utf-8"
    with client(server) as http:
        answer = http.post("/inbox/plain", content=body, headers={"Content-Type": kind})
        assert answer.json()["rejected"] == 1
        post_json(http, "/events", [{"ticket": "T-9", "at": "yesterday", "type": "created"}])
        inbox_reject, events_reject = sorted(http.get("/rejects").json()["rejects"],
                                             key=lambda r: r["id"])  # fmt: skip
        assert "body" not in inbox_reject  # pages stay light: the body is shown one at a time
        one = http.get(f"/rejects/{inbox_reject['id']}").json()
        # The translated event, and the delivery as the vendor sent it.
        assert one["payload"]["at"] == "not a time"
        assert one["origin"].startswith("POST /inbox/plain#")
        assert one["body"] == body.decode("utf-8")
        assert (one["body_type"], one["body_size"], one["body_complete"]) == (kind, len(body), True)
        # An event posted as such has no body beside it: its payload is what was sent.
        other = http.get(f"/rejects/{events_reject['id']}").json()
        assert (other["body"], other["body_type"], other["body_size"]) == (None, None, None)
        assert other["body_complete"] is None
        # The stored (translated) event is still refused; a corrected one replays.
        assert http.post(f"/rejects/{inbox_reject['id']}/replay").status_code == 422
        fixed = {"id": "acme-7", "ticket": "A-3", "at": iso_at(1), "type": "created",
                 "channel": "chat", "priority": "normal"}  # fmt: skip
        replayed = post_json(http, f"/rejects/{inbox_reject['id']}/replay", fixed)
        assert replayed.status_code == 200
        after = http.get(f"/rejects/{inbox_reject['id']}").json()
        assert after["replayed"] is not None
        assert after["body"] == one["body"]


def test_a_body_not_utf8_or_over_the_limit_is_kept_readable_and_says_so(state_url):
    store = Store.open(state_url)
    try:
        engine = LiveEngine(slaengine.loads_policies(POLICY, "live.yaml"), store, route_all)
        bad = {"ticket": "T-1", "at": "never", "type": "created"}
        body = b'{"x": "\xff\x00' + b"a" * BODY_LIMIT + b'"}'
        engine.ingest([("inbox:1", bad, None)], at(1), body=(body, "text/json\x1b[31m"))
        (row,) = store.reject_page()
        assert row.reject.body is None  # not read for a page
        kept = store.reject(row.id)
        assert kept is not None
        # Its first BODY_LIMIT bytes, with escapes for what is not UTF-8 text and for NUL.
        expected = '{"x": "\\xff\\x00' + "a" * (BODY_LIMIT - 9)
        assert kept.reject.body == expected
        assert kept.reject.body_size == len(body)
        assert kept.reject.body_type == "text/json\\x1b[31m"
        shown = reject_dict(kept, body=True)
        assert (shown["body_size"], shown["body_complete"]) == (len(body), False)
    finally:
        store.close()
