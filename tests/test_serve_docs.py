"""docs/api.md documents every route the HTTP API serves, and no route it does not serve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason='the API needs the serve extra: pip install ".[serve]"')

from slaengine.serve.app import openapi, routes

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
_HEADING = re.compile(r"^## (GET|POST|PUT|PATCH|DELETE) (/\S*)$", re.MULTILINE)
_STATUS_ROW = re.compile(r"^\| (\d{3}) \|", re.MULTILINE)
_TABLE_ROW = re.compile(r"^\| \[`(GET|POST|PUT|PATCH|DELETE) (/\S*)`\]\(#[\w-]+\) \|", re.MULTILINE)


def _shape(path: str) -> str:
    # /tickets/{ticket:path} in the code is /tickets/{id} in the docs: compare the shape.
    return re.sub(r"\{[^}]*\}", "{}", path)


def _served() -> set[tuple[str, str]]:
    return {
        (method, _shape(route.path))
        for route in routes()
        for method in route.methods or ()
        if method != "HEAD"  # Starlette answers HEAD for every GET route
    }


def test_every_route_has_a_section_and_no_section_lacks_a_route():
    text = API_DOC.read_text(encoding="utf-8")
    documented = {(method, _shape(path)) for method, path in _HEADING.findall(text)}
    assert documented == _served()


def test_the_endpoint_table_lists_every_route():
    text = API_DOC.read_text(encoding="utf-8")
    listed = {(method, _shape(path)) for method, path in _TABLE_ROW.findall(text)}
    assert listed == _served()


def test_the_reject_routes_are_served():
    assert {("GET", "/rejects"), ("GET", "/rejects/{}"), ("POST", "/rejects/{}/replay")} <= (
        _served()
    )


def test_post_events_names_every_content_type_it_takes():
    from slaengine.serve.bodies import JSON_LINES_TYPES, JSON_TYPES

    section = API_DOC.read_text(encoding="utf-8").split("## POST /events", 1)[1].split("\n## ")[0]
    assert [t for t in sorted(JSON_TYPES | JSON_LINES_TYPES) if f"`{t}`" not in section] == []
    assert "`+json`" in section


def _sections(text: str) -> dict[tuple[str, str], str]:
    """Each route section's text, by (method, path shape)."""
    found = {}
    for heading in _HEADING.finditer(text):
        end = text.find("\n## ", heading.end())
        found[(heading[1], _shape(heading[2]))] = text[heading.end() : end]
    return found


def test_each_route_section_tables_the_statuses_the_openapi_document_gives():
    # 401 for the token, 503 for an unavailable database: where a route can answer them,
    # its section says so, as /openapi.json does.
    sections = _sections(API_DOC.read_text(encoding="utf-8"))
    documented = {
        (method.upper(), _shape(path)): sorted(op["responses"])
        for path, item in openapi()["paths"].items()
        for method, op in item.items()
    }
    tabled = {route: sorted(_STATUS_ROW.findall(text)) for route, text in sections.items()}
    assert tabled == documented
