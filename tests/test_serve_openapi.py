"""``GET /openapi.json``: every served route described, the document well formed, and the
server's real answers shaped as its schemas say."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

from jsonschema import Draft202012Validator

from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    iso_at,
    live_policies_fixture,
    restored_logging_fixture,
    route_all,
)
from serve_support import client, running
from slaengine.live import LiveEngine, Store
from slaengine.serve.app import openapi, routes
from test_serve_api import Clock, make_api, post_json

pytestmark = pytest.mark.usefixtures("restored_logging")

_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _served() -> set[tuple[str, str]]:
    return {
        (method.lower(), re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path))
        for route in routes()
        for method in route.methods or ()
        if method != "HEAD"  # Starlette answers HEAD for every GET route
    }


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_served_route_is_in_the_document_and_nothing_else():
    doc = openapi()
    described = {(m, path) for path, item in doc["paths"].items() for m in item}
    assert described == _served()
    assert ("get", "/openapi.json") in described


def test_the_document_has_openapi_31s_shape():
    doc = openapi()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "slaengine"
    assert isinstance(doc["info"]["version"], str)
    ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        declared = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            assert method in _METHODS
            ids.append(op["operationId"])
            params = op.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == declared, f"{method} {path}"
            assert all(p["required"] for p in params if p["in"] == "path")
            assert all(p["in"] in ("path", "query", "header", "cookie") for p in params)
            assert op["responses"], f"{method} {path} answers nothing"
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status)
                assert response["description"]
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])
            for media in op.get("requestBody", {}).get("content", {}).values():
                Draft202012Validator.check_schema(media["schema"])
            for requirement in op.get("security", []):
                assert set(requirement) <= set(doc["components"]["securitySchemes"])
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    prefix = "#/components/schemas/"
    for reference in _refs(doc):
        assert reference.startswith(prefix)
        assert reference.removeprefix(prefix) in doc["components"]["schemas"], reference


def test_the_reference_validator_accepts_the_document():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi())


def _answer_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    content = doc["paths"][path][method]["responses"][str(status)]["content"]
    (media,) = content.values()
    # References point into the document: validate with its components beside the schema.
    return {**media["schema"], "components": doc["components"]}


@pytest.fixture
def server(live_policies, tmp_path):
    state = str(tmp_path / "state.db")
    with running(make_api(live_policies, state, Clock(30), max_body=64 * 1024)) as url:
        yield url, state


def test_real_answers_have_the_documented_shapes(server, live_policies):
    url, state = server
    events = [
        created("T-1", 0, group="billing", assignee="ana"),
        event("T-1", 1, "message", author="customer"),
        {"ticket": "T-1", "at": "yesterday", "type": "message", "author": "agent"},
    ]
    answers: list[tuple[str, str, Any]] = []
    with client(url) as http:
        answers.append(("post", "/events", post_json(http, "/events", events)))
        store = Store.open(state)
        try:
            LiveEngine(live_policies, store, route_all).advance(at(30))
        finally:
            store.close()
        answers.append(("get", "/tickets/{ticket}", http.get("/tickets/T-1")))
        answers.append(("get", "/tickets/{ticket}", http.get("/tickets/nope")))
        answers.append(("get", "/at-risk", http.get("/at-risk", params={"within": "4h"})))
        page = http.get("/rejects")
        answers.append(("get", "/rejects", page))
        (reject,) = page.json()["rejects"]
        answers.append(("get", "/rejects/{reject}", http.get(f"/rejects/{reject['id']}")))
        fixed = {"ticket": "T-1", "at": iso_at(2), "type": "message", "author": "agent"}
        replay = post_json(http, f"/rejects/{reject['id']}/replay", fixed)
        answers.append(("post", "/rejects/{reject}/replay", replay))
        answers.append(("post", "/rejects/replay", http.post("/rejects/replay")))
        answers.append(("get", "/healthz", http.get("/healthz")))
    with client(url, token=None) as anonymous:
        served = anonymous.get("/openapi.json")
    doc = openapi()
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(doc))
    assert [a.status_code for _, _, a in answers] == [200, 200, 404, 200, 200, 200, 200, 200, 200]
    assert len(answers[3][2].json()["clocks"]) >= 1  # the queue is not empty: its items count
    for method, path, answer in answers:
        schema = _answer_schema(doc, method, path, answer.status_code)
        Draft202012Validator(schema).validate(answer.json())


def test_a_changed_answer_would_fail_its_schema():
    # The answers' schemas are closed: a field the code adds without its schema is caught.
    doc = openapi()
    schema = _answer_schema(doc, "get", "/at-risk", 200)
    queue = {"at": "2025-12-01T10:00:00Z", "within_seconds": 60, "until": "2025-12-01T10:01:00Z",
             "group": None, "agent": None, "count": 0, "clocks": []}  # fmt: skip
    Draft202012Validator(schema).validate(queue)
    assert not Draft202012Validator(schema).is_valid({**queue, "surprise": 1})
    assert not Draft202012Validator(schema).is_valid({**queue, "count": "0"})
