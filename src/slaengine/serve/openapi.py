"""The OpenAPI 3.1 document of the HTTP API, built from the table of served routes.

Each served route carries an :class:`Operation` (what it takes and answers); the
document is generated from that table (``slaengine.serve.app``), so a route cannot be
served and missing from it. Path parameters come from the route's path itself
(``/rejects/{reject:int}``: an integer ``reject``). The answers' shapes are the
schemas of :mod:`slaengine.serve.openapi_schemas`, in ``components``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from slaengine.serve.openapi_schemas import SCHEMAS, ref

OPENAPI_VERSION: Final = "3.1.0"
JSON: Final = "application/json"
_CONVERTED = re.compile(r"\{(\w+)(?::(\w+))?\}")
# Starlette's path converters as JSON Schema types.
_CONVERTER_TYPES: Final = {"int": "integer", "float": "number"}


@dataclass(frozen=True, slots=True)
class Answer:
    """One status code's answer: what it means and its body's schema (``None``: no body)."""

    description: str
    schema: Mapping[str, Any] | None = None
    media_type: str = JSON


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class Operation:
    """What one route takes and answers. ``body`` maps media types to the request body's
    schema; ``token`` says whether the bearer token is needed (``query_token``: may be
    given as ``?token=`` too)."""

    summary: str
    answers: Mapping[int, Answer]
    query: tuple[Param, ...] = ()
    body: Mapping[str, Mapping[str, Any]] | None = None
    body_required: bool = True
    token: bool = True
    query_token: bool = False


def openapi_path(path: str) -> str:
    """A served path in OpenAPI's form: ``/tickets/{ticket:path}`` is ``/tickets/{ticket}``."""
    return _CONVERTED.sub(r"{\1}", path)


def _path_params(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": _CONVERTER_TYPES.get(converter or "", "string")},
        }
        for name, converter in _CONVERTED.findall(path)
    ]


def _operation(operation_id: str, path: str, op: Operation) -> dict[str, Any]:
    parameters = _path_params(path) + [
        {"name": p.name, "in": "query", "required": False, "description": p.description,
         "schema": dict(p.schema)}
        for p in op.query
    ]  # fmt: skip
    out: dict[str, Any] = {"operationId": operation_id, "summary": op.summary}
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {media: {"schema": dict(schema)} for media, schema in op.body.items()},
        }
    responses: dict[str, Any] = {}
    for status, answer in sorted(op.answers.items()):
        response: dict[str, Any] = {"description": answer.description}
        if answer.schema is not None:
            response["content"] = {answer.media_type: {"schema": dict(answer.schema)}}
        responses[str(status)] = response
    if op.token:
        responses.setdefault("401", {"description": "no token, or a wrong one",
                                     "content": {JSON: {"schema": ref("Error")}}})  # fmt: skip
    out["responses"] = responses
    if not op.token:
        out["security"] = []
    elif op.query_token:
        out["security"] = [{"bearer": []}, {"query_token": []}]
    return out


def openapi_document(
    routes: Iterable[tuple[str, str, str, Operation]], version: str
) -> dict[str, Any]:
    """The OpenAPI document of ``routes``: (path, method, operation id, operation) each."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation_id, op in routes:
        item = paths.setdefault(openapi_path(path), {})
        item[method.lower()] = _operation(operation_id, path, op)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "slaengine",
            "version": version,
            "summary": "SLA clocks of support tickets: events in, status and the at-risk queue out",
            "description": "`slaengine serve`; see docs/api.md for every endpoint in words.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "query_token": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{"bearer": []}],
    }


__all__ = ["JSON", "OPENAPI_VERSION", "Answer", "Operation", "Param", "openapi_document"]
