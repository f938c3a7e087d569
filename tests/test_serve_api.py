"""The HTTP API over real HTTP: events in, status and the at-risk queue out, token, limits.

Each test serves a fresh state database (SQLite, and PostgreSQL where the store
is involved) from uvicorn on 127.0.0.1. The server's clock is the test's:
``now`` is minutes after T0 (see ``live_support``).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    iso_at,
    live_policies_fixture,
    postgres_server_fixture,
    reply,
    restored_logging_fixture,
    route_all,
    state_url_fixture,
)
from serve_support import TOKEN, acme_inboxes, client, running
from slaengine.live import LiveEngine, Store
from slaengine.live.text import RAW_LIMIT
from slaengine.serve import Api
from slaengine.serve.bodies import JSON_LINES_TYPES, JSON_TYPES
from slaengine.serve.settings import ServeSettings

pytestmark = pytest.mark.usefixtures("restored_logging")


class Clock:
    """The server's wall clock, set by the test."""

    def __init__(self, minutes: float = 0) -> None:
        self.minutes = minutes

    def __call__(self) -> float:
        return float(at(self.minutes))


def make_api(policies, state_url, clock, **settings):
    def open_engine():
        return LiveEngine(policies, Store.open(state_url), route_all)

    serving = ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False, **settings)
    return Api(open_engine, serving, acme_inboxes(), clock=clock)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(live_policies, state_url, clock):
    """The base URL of a server on a fresh state database."""
    with running(make_api(live_policies, state_url, clock, max_body=64 * 1024)) as url:
        yield url


def advance(policies, state_url, minutes):
    """What the worker does: advance the live state to ``minutes``."""
    store = Store.open(state_url)
    try:
        LiveEngine(policies, store, route_all).advance(at(minutes))
    finally:
        store.close()


def post_json(http, path, body):
    return http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def post_lines(http, path, lines):
    return http.post(
        path, content="\n".join(lines) + "\n", headers={"Content-Type": "application/x-ndjson"}
    )


# -- POST /events -------------------------------------------------------------------


def test_events_array_accepted_then_duplicates(server, state_url):
    batch = [created("T-1"), reply("T-1", 20)]
    with client(server) as http:
        first = post_json(http, "/events", batch)
        assert first.status_code == 200
        assert first.json() == {
            "accepted": 2,
            "duplicates": 0,
            "rejected": 0,
            "events": [
                {"index": 0, "status": "accepted", "ticket": "T-1", "id": batch[0]["id"]},
                {"index": 1, "status": "accepted", "ticket": "T-1", "id": batch[1]["id"]},
            ],
        }
        again = post_json(http, "/events", batch).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert [e["status"] for e in again["events"]] == ["duplicate", "duplicate"]
    assert again["events"][0]["reason"] == "already stored"
    store = Store.open(state_url)
    try:
        assert len(store.events_of("T-1")) == 2
    finally:
        store.close()


def test_events_array_rejects_per_event_and_keeps_the_good(server, state_url):
    batch = [
        created("T-1"),
        {"ticket": "T-1", "at": "2025-12-01T10:05:00", "type": "message", "author": "agent"},
        17,
        {"ticket": "T-1", "at": "2025-12-01T10:06:00Z", "type": "telepathy"},
        reply("T-1", 7),
    ]
    with client(server) as http:
        answer = post_json(http, "/events", batch)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 0, 3)
    events = body["events"]
    assert [(e["index"], e["status"]) for e in events] == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "accepted"),
    ]
    assert "no UTC offset" in events[1]["reason"]
    assert events[1]["ticket"] == "T-1"  # a refused event names its ticket when it can
    assert events[2]["reason"] == "expected a JSON object, got a number"
    assert "ticket" not in events[2]
    assert "'type' must be one of" in events[3]["reason"]
    store = Store.open(state_url)
    try:
        assert len(store.events_of("T-1")) == 2
        origins = [r.origin for r in store.rejects()]
        assert len(origins) == 3
        assert all(o.startswith("POST /events#") for o in origins)
        assert origins[-1].endswith(" index 1")
    finally:
        store.close()


def test_events_json_lines_say_which_line(server):
    lines = [
        json.dumps(created("T-2")),
        "",
        "{not json",
        "[1, 2]",
        json.dumps({**created("T-3"), "score": float("nan")}).replace("NaN", "NaN"),
        json.dumps(reply("T-2", 3)),
    ]
    with client(server) as http:
        body = post_lines(http, "/events", lines).json()
    assert [(e["line"], e["status"]) for e in body["events"]] == [
        (1, "accepted"),
        (3, "rejected"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "accepted"),
    ]
    reasons = [e.get("reason", "") for e in body["events"]]
    assert reasons[1].startswith("not valid JSON")
    assert reasons[2] == "expected a JSON object, got an array"
    assert "NaN is not a number JSON allows" in reasons[3]


def test_unreadable_json_lines_keep_their_text_in_the_rejects(live_policies, state_url, clock):
    # What was sent is kept as sent: broken JSON, a NUL, bytes that are not UTF-8
    # (written as escapes), a non-object; a line over the limit is cut, its size kept.
    long_line = "{" + "x" * (RAW_LIMIT + 10)
    body = b"\n".join(
        [
            b'{"ticket": "T-5", "type": "created"',  # cut short
            b'{"a": "nul \x00 here"',
            b"caf\xe9 \xff",
            b'"just text"\r',
            long_line.encode(),
            json.dumps(created("T-6")).encode(),
        ]
    )
    api = make_api(live_policies, state_url, clock, max_body=4 * RAW_LIMIT)
    with running(api) as url, client(url) as http:
        answer = http.post("/events", content=body, headers={"Content-Type": "application/jsonl"})
    assert answer.json()["rejected"] == 5
    store = Store.open(state_url)
    try:
        rows = {row.reject.origin.rsplit(" ", 1)[-1]: row.reject for row in store.reject_rows()}
    finally:
        store.close()
    assert rows["1"].raw == '{"ticket": "T-5", "type": "created"'
    assert rows["1"].raw_size == len(rows["1"].raw)
    assert rows["2"].raw == '{"a": "nul \\x00 here"'  # no NUL reaches a text column
    assert rows["3"].raw == "caf\\xe9 \\xff"
    assert rows["3"].problem == "the line is not UTF-8"
    assert (rows["4"].raw, rows["4"].payload) == ('"just text"', None)
    assert rows["5"].raw == long_line[:RAW_LIMIT]
    assert rows["5"].raw_size == len(long_line)
    assert "6" not in rows


def test_events_loaded_quietly_skip_what_their_tickets_reached_before(
    server, live_policies, state_url
):
    with client(server) as http:
        quiet = post_json(http, f"/events?quiet_before={iso_at(90)}", [created("T-7")])
        assert quiet.json()["accepted"] == 1
        bad = post_json(http, "/events?quiet_before=soon", [created("T-8")])
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("quiet_before: ")
    advance(live_policies, state_url, 90)
    store = Store.open(state_url)
    try:
        assert {row.status for row in store.outbox(ticket="T-7")} == {"skipped"}
        assert store.outbox(ticket="T-8") == []  # the refused request stored nothing
    finally:
        store.close()


def test_a_byte_order_mark_before_json_lines_is_no_content(server):
    body = "\ufeff" + json.dumps(created("T-bom")) + "\n"
    with client(server) as http:
        answer = http.post(
            "/events", content=body.encode(), headers={"Content-Type": "application/x-ndjson"}
        )
    assert [(e["line"], e["status"]) for e in answer.json()["events"]] == [(1, "accepted")]


def test_a_single_object_is_one_event(server):
    with client(server) as http:
        body = post_json(http, "/events", created("T-9")).json()
    assert body["accepted"] == 1
    assert body["events"][0]["index"] == 0


def test_unreadable_bodies(server):
    with client(server) as http:
        bad_json = http.post("/events", content=b"[{", headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 400
        assert bad_json.json()["error"].startswith("the body is not valid JSON")
        not_array = post_json(http, "/events", "text")
        assert not_array.status_code == 400
        form = http.post("/events", data={"a": "b"})
        assert form.status_code == 415
        refused = form.json()["error"]
        assert refused.startswith("unsupported Content-Type 'application/x-www-form-urlencoded'")
        for accepted in (*JSON_TYPES, *JSON_LINES_TYPES, "+json"):
            assert accepted in refused
        deep = http.post(
            "/events", content=b"[" * 30_000, headers={"Content-Type": "application/json"}
        )
        assert deep.status_code == 400


def test_oversized_bodies_are_refused_with_413(live_policies, state_url, clock):
    api = make_api(live_policies, state_url, clock, max_body=1000)
    big = json.dumps([created(f"T-{n}") for n in range(20)])
    assert len(big) > 1000
    with running(api) as url, client(url) as http:
        declared = http.post("/events", content=big, headers={"Content-Type": "application/json"})
        assert declared.status_code == 413
        assert declared.json() == {
            "error": "request body over the limit of 1000 bytes",
            "limit": 1000,
        }

        def chunks():  # no Content-Length: the limit holds while reading
            for start in range(0, len(big), 100):
                yield big[start : start + 100].encode()

        streamed = http.post(
            "/events", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        small = post_json(http, "/events", [created("T-1")])
        assert small.status_code == 200
    store = Store.open(state_url)
    try:
        assert store.counts()["events"] == 1
    finally:
        store.close()


# -- the token ------------------------------------------------------------------------


def test_token_missing_wrong_right(server):
    with client(server, token=None) as anonymous:
        missing = anonymous.get("/at-risk")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "missing bearer token" in missing.json()["error"]
        # Only the inbox accepts the token as a query parameter.
        assert anonymous.get("/at-risk", params={"token": TOKEN}).status_code == 401
        assert anonymous.get("/healthz").status_code == 200
    with client(server, token="not-" + TOKEN) as wrong:
        refused = wrong.get("/at-risk")
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert wrong.post("/events", json=[created("T-1")]).status_code == 401
        assert wrong.get("/metrics").status_code == 401
        assert wrong.get("/tickets/T-1").status_code == 401
    with client(server) as right:
        assert right.get("/at-risk").status_code == 200
        assert right.get("/metrics").status_code == 200


def test_the_token_is_never_logged(live_policies, state_url, clock, capsys):
    from slaengine.logs import configure_logging

    configure_logging(2, json=True)
    api = make_api(live_policies, state_url, clock)
    assert TOKEN not in repr(api.settings)
    with running(api) as url:
        with client(url) as http:
            post_json(http, "/events", [created("T-1")])
            http.get("/tickets/T-1")
        with client(url, token=None) as anonymous:
            anonymous.post(f"/inbox/plain?token={TOKEN}&x=1", json={"type": "ping", "data": {}})
            anonymous.get(f"/at-risk?token={TOKEN}")
        with client(url, token=TOKEN + "x") as wrong:
            wrong.get("/at-risk")
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 5
    assert TOKEN not in err
    inbox = next(r for r in requests if r["path"] == "/inbox/plain")
    assert inbox["query"] == "token=***&x=1"
    assert inbox["status"] == 202
    assert {r["status"] for r in requests} == {200, 202, 401}
    assert all(r["request_id"] and r["duration_ms"] >= 0 for r in requests)


# -- GET /tickets/{id} --------------------------------------------------------------


def test_ticket_status_is_the_engines(server, live_policies, state_url, clock):
    with client(server) as http:
        post_json(http, "/events", [created("T-1"), created("INC/7", 5)])
        clock.minutes = 20
        answer = http.get("/tickets/T-1")
        assert answer.status_code == 200
        store = Store.open(state_url)
        try:
            expected = LiveEngine(live_policies, store).status("T-1", at(20)).to_dict()
        finally:
            store.close()
        assert answer.json() == expected
        assert answer.json()["metrics"][0]["remaining_seconds"] == 40 * 60
        assert http.get("/tickets/INC%2F7").json()["ticket"] == "INC/7"
        earlier = http.get("/tickets/T-1", params={"at": "2025-12-01T10:10:00Z"}).json()
        assert earlier["metrics"][0]["remaining_seconds"] == 50 * 60
        unknown = http.get("/tickets/T-404")
        assert unknown.status_code == 404
        assert unknown.json()["ticket"] == "T-404"
        assert http.get("/tickets/T-1", params={"at": "yesterday"}).status_code == 400


# -- GET /at-risk -------------------------------------------------------------------


def seed_queue(http, live_policies, state_url, clock):
    batch = [
        created("T-late", 30, group="billing", assignee="ana"),
        created("T-early", 0, group="billing", assignee="ben"),
        created("T-mid", 10, group="tech", assignee="ana"),
        created("T-paused", 5, group="tech"),
        event("T-paused", 6, "status", status="on_hold"),
    ]
    post_json(http, "/events", batch)
    advance(live_policies, state_url, 40)
    clock.minutes = 40
    return batch


def test_at_risk_soonest_first_with_filters(server, live_policies, state_url, clock):
    with client(server) as http:
        seed_queue(http, live_policies, state_url, clock)
        queue = http.get("/at-risk", params={"within": "2h"}).json()
        assert [c["ticket"] for c in queue["clocks"]] == ["T-early", "T-mid", "T-late"]
        assert queue["count"] == 3
        assert queue["within_seconds"] == 7200
        assert queue["at"] == "2025-12-01T10:40:00Z"
        first = queue["clocks"][0]
        assert first["due"] == "2025-12-01T11:00:00Z"
        assert first["due_in_seconds"] == 20 * 60
        assert (first["group"], first["assignee"], first["overdue"]) == ("billing", "ben", False)

        def tickets(**params):
            answer = http.get("/at-risk", params=params)
            assert answer.status_code == 200, answer.text
            return [c["ticket"] for c in answer.json()["clocks"]]

        assert tickets(within="30m") == ["T-early", "T-mid"]
        assert tickets(within="2h", group="billing") == ["T-early", "T-late"]
        assert tickets(within="2h", agent="ana") == ["T-mid", "T-late"]
        assert tickets(within="2h", limit="1") == ["T-early"]
        assert tickets() == ["T-early", "T-mid", "T-late"]  # [serve] at_risk_window: 1h
        clock.minutes = 65  # T-early is overdue now: still first
        assert tickets(within="1m") == ["T-early"]
        # The window is wall-clock time: days are 24 hours, not refused as in policies.
        years = http.get("/at-risk", params={"within": "5000d"})
        assert years.status_code == 200, years.text
        assert years.json()["within_seconds"] == 5000 * 86_400
        assert [c["ticket"] for c in years.json()["clocks"]] == ["T-early", "T-mid", "T-late"]
        for bad in ({"within": "soon"}, {"within": "-5m"}, {"limit": "0"}, {"limit": "x"}):
            answer = http.get("/at-risk", params=bad)
            assert answer.status_code == 400
            assert answer.json()["error"].startswith(("within", "limit"))


# -- GET /healthz, GET /metrics --------------------------------------------------------


def test_unknown_paths_and_methods_answer_json(server):
    with client(server) as http:
        wrong_method = http.get("/events")
        nowhere = http.get("/nope")
        bare = http.get("/tickets")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert wrong_method.json() == {"error": "Method Not Allowed"}
    assert nowhere.status_code == 404
    assert nowhere.json() == {"error": "Not Found"}
    assert bare.status_code == 404  # no redirect to /tickets/
    assert bare.json() == {"error": "Not Found"}


def test_healthz_reports_the_store(server):
    with client(server, token=None) as http:
        answer = http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["schema"] >= 2
    assert answer.json()["worker"] == {"running": False}


def test_unreachable_store_is_503_and_recovers(live_policies, tmp_path, clock):
    attempts = []

    def open_engine():
        attempts.append(1)
        if len(attempts) == 1:
            raise sqlite3.OperationalError("unable to open database file")
        return LiveEngine(live_policies, Store.open(tmp_path / "state.db"))

    api = Api(
        open_engine,
        ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False),
        {},
        clock=clock,
    )
    with running(api) as url, client(url) as http:
        down = http.get("/healthz")
        assert down.status_code == 503
        assert down.json()["store"] == "unreachable"
        assert http.get("/healthz").status_code == 200
        assert post_json(http, "/events", [created("T-1")]).json()["accepted"] == 1


def test_metrics_parse_and_count(server, live_policies, state_url, clock):
    parser = pytest.importorskip("prometheus_client.parser")
    with client(server) as http:
        batch = seed_queue(http, live_policies, state_url, clock)
        post_json(http, "/events", [batch[1], 5])
        clock.minutes = 65
        advance(live_policies, state_url, 65)
        text = http.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in parser.text_string_to_metric_families(text.text)}

    def value(name, **labels):
        family = families[name]
        sample = family.name + ("_total" if family.type == "counter" else "")
        found = [s.value for s in family.samples if s.labels == labels and s.name == sample]
        assert len(found) == 1, (name, labels, family.samples)
        return found[0]

    assert value("slaengine_events_stored") == 5
    assert value("slaengine_events_rejected") == 1
    assert value("slaengine_api_events", endpoint="events", outcome="accepted") == 5
    assert value("slaengine_api_events", endpoint="events", outcome="duplicate") == 1
    assert value("slaengine_api_events", endpoint="events", outcome="rejected") == 1
    assert value("slaengine_http_requests", method="POST", route="/events", status="200") == 2
    assert value("slaengine_open_clocks") == 4
    # At 65 T-early (billing) is overdue; T-mid (tech, 70) and T-late (billing, 90) come soon.
    assert value("slaengine_clocks_overdue", group="billing") == 1
    assert value("slaengine_clocks_due_soon", group="tech", within="15m") == 1
    assert value("slaengine_clocks_due_soon", group="billing", within="1h") == 1
    assert value("slaengine_at_risk_clocks", group="billing") == 2
    assert value("slaengine_at_risk_clocks", group="tech") == 1
    # The breach of T-early and its escalation are queued (to ops, and lead).
    assert value("slaengine_outbox_rows", state="pending") >= 2
    assert value("slaengine_notifications_delivered") == 0
    assert value("slaengine_worker_cycles") == 0  # no worker thread in this server
    # The warnings the advance at 40 queued have waited 25 minutes (no worker delivers here).
    assert value("slaengine_outbox_oldest_undelivered_age_seconds") == 25 * 60


def test_a_lost_postgres_connection_is_503_once_then_reopened(
    live_policies, postgres_server, clock
):
    import psycopg

    postgres_server.reset()
    api = make_api(live_policies, postgres_server.url, clock)
    with running(api) as url, client(url) as http:
        assert post_json(http, "/events", [created("T-1")]).json()["accepted"] == 1
        # The database server drops the API's connection (a restart, a failover).
        with psycopg.connect(postgres_server.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        lost = post_json(http, "/events", [created("T-2")])
        assert lost.status_code == 503
        assert lost.headers["retry-after"] == "5"
        # The next request opens a new connection; nothing was lost or stored twice.
        assert post_json(http, "/events", [created("T-2")]).json()["accepted"] == 1
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/tickets/T-1").status_code == 200


def test_poison_events_are_rejected_one_by_one(server):
    good = created("T-ok")
    lines = [
        '{"id": "s1", "ticket": "T-\\ud800", "at": "2025-12-01T10:00:00Z", "type": "created",'
        ' "channel": "chat", "priority": "normal"}',
        '{"id": "n1", "ticket": "T-\\u0000", "at": "2025-12-01T10:00:00Z", "type": "created",'
        ' "channel": "chat", "priority": "normal"}',
        '{"ticket": ' + "9" * 5000 + "}",
        "[" * 5000 + "]" * 5000,
        json.dumps(good),
    ]
    with client(server) as http:
        body = post_lines(http, "/events", lines).json()
        assert [e["status"] for e in body["events"]] == ["rejected"] * 4 + ["accepted"]
        assert http.get("/tickets/T-ok").status_code == 200
        assert http.get("/healthz").status_code == 200
