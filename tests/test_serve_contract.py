"""The HTTP API as docs/api.md and /openapi.json describe it, for the answers the other serve
tests leave out: metric route labels, parameter errors, the token hint on inboxes, the
statuses a plugin's inbox can cause, and a slow inbox plugin holding up only its request."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

import httpx
from jsonschema import Draft202012Validator

from live_support import (  # noqa: F401 (fixtures)
    created,
    live_policies_fixture,
    restored_logging_fixture,
    route_all,
)
from serve_support import TOKEN, acme_inboxes, client, running
from slaengine.inbox import Delivery, Inbox
from slaengine.live import LiveEngine, Store
from slaengine.serve import Api
from slaengine.serve.app import openapi
from slaengine.serve.settings import ServeSettings
from test_serve_api import Clock, post_json

pytestmark = pytest.mark.usefixtures("restored_logging")

# The slow inbox's translator says it started, then waits until the test releases it.
_entered = threading.Event()
_release = threading.Event()


def _slow_translate(payload: Mapping[str, Any]) -> Delivery:
    _entered.set()
    _release.wait(60)
    return Delivery(ignored="slow")


def _handshake(headers: Mapping[str, str]) -> Mapping[str, Any] | None:
    challenge = headers.get("x-hello-challenge")
    return None if challenge is None else {"challenge": challenge}


def _inboxes() -> dict[str, Inbox]:
    return {
        **acme_inboxes(),
        "slow": Inbox("slow", "a translator that takes its time", _slow_translate),
        "hello": Inbox("hello", "checks its URL", lambda payload: Delivery(), None, _handshake),
    }


@pytest.fixture
def server(live_policies, tmp_path):
    state = str(tmp_path / "state.db")

    def open_engine():
        return LiveEngine(live_policies, Store.open(state), route_all)

    serving = ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False)
    with running(Api(open_engine, serving, _inboxes(), clock=Clock(30))) as url:
        yield url


def _requests_by_route(http: httpx.Client) -> dict[tuple[str, str, str], float]:
    text = http.get("/metrics").text
    pattern = (
        r'slaengine_http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\S+)'
    )
    return {(m, r, s): float(v) for m, r, s, v in re.findall(pattern, text)}


def test_every_route_is_counted_under_its_documented_name(server):
    with client(server) as http:
        post_json(http, "/events", [{"ticket": "T-1", "type": "created", "at": "soon"}])
        http.get("/rejects")
        http.get("/rejects/1")
        http.get("/rejects/99")
        http.post("/rejects/replay")
        http.post("/rejects/1/replay", content=b"")
        http.get("/openapi.json")
        http.get("/tickets/INC%2F7")
        http.get("/no/such/route")
        counted = _requests_by_route(http)
    assert counted[("GET", "/rejects", "200")] == 1
    assert counted[("GET", "/rejects/{id}", "200")] == 1
    assert counted[("GET", "/rejects/{id}", "404")] == 1
    assert counted[("POST", "/rejects/replay", "200")] == 1
    assert counted[("POST", "/rejects/{id}/replay", "422")] == 1
    assert counted[("GET", "/openapi.json", "200")] == 1
    assert counted[("GET", "/tickets/{id}", "404")] == 1
    assert counted[("GET", "other", "404")] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/tickets/T-1?at=garbage"), ("post", "/events?quiet_before=garbage")],
    ids=["tickets-at", "events-quiet-before"],
)
def test_an_instant_parameter_error_names_the_parameter_only(server, method, path):
    name = path.split("?")[1].split("=")[0]
    with client(server) as http:
        answer = http.request(method, path, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": f"{name}: expected an ISO 8601 instant with its UTC offset, got 'garbage'"
    }


def test_a_missing_token_on_an_inbox_names_the_query_parameter_too(server):
    with client(server, token=None) as http:
        inbox = http.post("/inbox/plain", json={})
        events = http.post("/events", json=[])
    assert inbox.status_code == events.status_code == 401
    assert "?token=TOKEN" in inbox.json()["error"]
    assert "?token=" not in events.json()["error"]


_TICKET = {"id": 1, "ticket": 1, "at": "2025-12-01T10:00:00Z", "priority": "high"}


def _declared(method: str, path: str, answer: httpx.Response) -> None:
    """``answer``'s status is in the document for the route, and its body fits the schema."""
    responses = openapi()["paths"][path][method]["responses"]
    assert str(answer.status_code) in responses, (path, answer.status_code, sorted(responses))
    (media,) = responses[str(answer.status_code)]["content"].values()
    schema = {**media["schema"], "components": openapi()["components"]}
    Draft202012Validator(schema).validate(answer.json())


def test_the_answers_a_plugin_inbox_and_a_replay_can_give_are_in_the_document(server):
    with client(server) as http:
        post_json(http, "/events", [{"ticket": "T-1", "type": "created", "at": "soon"}])
        other_type = http.post(
            "/rejects/1/replay", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        translator_bug = http.post("/inbox/plain", json={"type": "boom", "data": {}})
        url_check = http.post("/inbox/hello", json={}, headers={"X-Hello-Challenge": "c-42"})
        stored = http.post("/inbox/plain", json={"type": "ticket.created", "data": _TICKET})
    assert other_type.status_code == 415
    assert translator_bug.status_code == 500
    assert url_check.status_code == 200
    assert url_check.json() == {"challenge": "c-42"}
    _declared("post", "/rejects/{reject}/replay", other_type)
    _declared("post", "/inbox/{vendor}", translator_bug)
    _declared("post", "/inbox/{vendor}", url_check)
    assert stored.json()["accepted"] == 1
    _declared("post", "/inbox/{vendor}", stored)


def test_a_translator_bug_is_counted_as_an_inbox_error(server):
    with client(server) as http:
        assert http.post("/inbox/plain", json={"type": "boom", "data": {}}).status_code == 500
        metrics = http.get("/metrics").text
    assert 'slaengine_inbox_deliveries_total{result="error",vendor="plain"} 1' in metrics


def test_a_slow_inbox_plugin_holds_up_only_its_own_request(server):
    _entered.clear()
    _release.clear()
    slow: dict[str, httpx.Response] = {}

    def post_slow() -> None:
        with client(server) as http:
            slow["answer"] = http.post("/inbox/slow", json={"type": "x"})

    thread = threading.Thread(target=post_slow)
    thread.start()
    try:
        assert _entered.wait(30), "the slow translator was never called"
        # Were the translator run on the event loop, this request would time out.
        with client(server) as http:
            assert http.get("/healthz", timeout=10).status_code == 200
    finally:
        _release.set()
        thread.join(60)
    assert slow["answer"].status_code == 202


# One request per route, as a client would send it (the vendor inbox unsigned: ``plain``).
_ONE_PER_ROUTE = [
    ("post", "/events", "/events", [created("T-1")]),
    ("post", "/inbox/{vendor}", "/inbox/plain", {"type": "ticket.created", "data": _TICKET}),
    ("get", "/tickets/{ticket}", "/tickets/T-1", None),
    ("get", "/at-risk", "/at-risk", None),
    ("get", "/rejects", "/rejects", None),
    ("get", "/rejects/{reject}", "/rejects/1", None),
    ("post", "/rejects/{reject}/replay", "/rejects/1/replay", None),
    ("post", "/rejects/replay", "/rejects/replay", None),
    ("get", "/healthz", "/healthz", None),
    ("get", "/metrics", "/metrics", None),
    ("get", "/openapi.json", "/openapi.json", None),
]


def test_one_request_per_route_covers_every_route():
    listed = {(method, route) for method, route, _, _ in _ONE_PER_ROUTE}
    assert listed == {(m, path) for path, item in openapi()["paths"].items() for m in item}


def _statuses(url: str, token: str | None) -> dict[tuple[str, str], httpx.Response]:
    with client(url, token=token) as http:
        return {
            (method, route): http.request(method, path, json=body)
            for method, route, path, body in _ONE_PER_ROUTE
        }


def test_routes_answer_401_without_the_token_exactly_where_documented(server):
    for (method, route), answer in _statuses(server, None).items():
        documented = "401" in openapi()["paths"][route][method]["responses"]
        assert (answer.status_code == 401) is documented, (method, route, answer.status_code)


def test_routes_answer_503_with_the_database_down_exactly_where_documented(live_policies):
    def unreachable():
        raise sqlite3.OperationalError("unable to open database file")

    serving = ServeSettings(host="127.0.0.1", port=0, token=TOKEN, worker=False)
    with running(Api(unreachable, serving, _inboxes(), clock=Clock(30))) as url:
        answers = _statuses(url, TOKEN)
    for (method, route), answer in answers.items():
        documented = "503" in openapi()["paths"][route][method]["responses"]
        assert (answer.status_code == 503) is documented, (method, route, answer.status_code)
        if documented and route != "/healthz":
            assert answer.headers["retry-after"] == "5"
            _declared(method, route, answer)
