"""``/rejects``: the events the state refused, paged newest first, and replaying a fixed one.

A reject is a dead letter: ``GET /rejects`` lists them (filters: origin
prefix, time received, replayed or not), ``GET /rejects/{id}`` shows one,
``POST /rejects/{id}/replay`` stores the corrected event(s) of the body (an
empty body: the stored event as it was, say after a policy fix) in its
place, all or nothing, and marks it replayed; ``POST /rejects/replay`` does so
with the stored event of every reject the filters select (a bulk redrive).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slaengine.live import LiveEngine
from slaengine.live.eventstore import AlreadyReplayed, RejectRow, UnknownReject
from slaengine.live.redrive import Redriven, redrive, redrive_answer
from slaengine.live.rejects import (
    NothingToReplay,
    reject_dict,
    replay_answer,
    replay_origin,
    stored_event,
)
from slaengine.notifications import iso
from slaengine.serve.api import (
    BadParameter,
    api_of,
    error,
    guarded,
    instant_param,
    read_body,
    request_id,
)
from slaengine.serve.bodies import BadBody, split_events

_log = structlog.get_logger("slaengine.serve")
MAX_LIMIT = 1000
_FLAGS = {"true": True, "false": False}


def _whole(request: Request, name: str, default: int | None, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or not 1 <= int(text) <= high:
        raise BadParameter(f"{name}: expected a whole number from 1 to {high:,}, got {text!r}")
    return int(text)


def _replayed(request: Request) -> bool | None:
    text = request.query_params.get("replayed")
    if text is None:
        return None
    if text.lower() not in _FLAGS:
        raise BadParameter(f"replayed: expected true or false, got {text!r}")
    return _FLAGS[text.lower()]


@guarded
async def get_rejects(request: Request) -> Response:
    """A page of rejects, newest first; ``next`` is the URL of the page after it."""
    api = api_of(request)
    limit = _whole(request, "limit", 100, MAX_LIMIT) or 100
    before = _whole(request, "before", None, 2**63 - 1)
    since, until, source = _filters(request)
    replayed = _replayed(request)
    rows = await api.call(
        lambda engine: engine.store.reject_page(limit, before, source, since, until, replayed)
    )
    following = None
    if len(rows) == limit:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "before"]
        following = f"/rejects?{urlencode([*kept, ('before', str(rows[-1].id))])}"
    return JSONResponse({"rejects": [reject_dict(row) for row in rows], "next": following})


def _filters(request: Request) -> tuple[int | None, int | None, str | None]:
    since = instant_param(request, "since")
    until = instant_param(request, "until")
    return since, until, request.query_params.get("source") or None


@guarded
async def post_redrive(request: Request) -> Response:
    """Replay the stored event of every reject not yet replayed that the filters select.

    After a policy fix, say. Each reject on its own: one still refused stays,
    with its reason, and the others are replayed.
    """
    api = api_of(request)
    limit = _whole(request, "limit", 100, MAX_LIMIT) or 100
    since, until, source = _filters(request)
    quiet_before = instant_param(request, "quiet_before")
    label = f"POST /rejects/replay#{request_id(request)}"

    def run(engine: LiveEngine) -> list[Redriven]:
        rows = engine.store.reject_page(limit, None, source, since, until, replayed=False)
        return redrive(engine, rows, api.now(), label, quiet_before)

    answer = redrive_answer(await api.call(run))
    counts = {key: value for key, value in answer.items() if key != "rejects"}
    _log.info("rejects redriven", request_id=request_id(request), **counts)
    return JSONResponse(answer)


@guarded
async def get_reject(request: Request) -> Response:
    """One reject: origin, reason, what was sent, and whether it was replayed."""
    api = api_of(request)
    reject_id = request.path_params["reject"]
    row = await api.call(lambda engine: engine.store.reject(reject_id))
    if row is None:
        return error(404, "no such reject (never stored, or pruned)", reject=reject_id)
    return JSONResponse(reject_dict(row, body=True))


@guarded
async def post_replay(request: Request) -> Response:
    """Store the body's corrected event(s) in place of a reject (empty body: the stored one).

    200 when stored (the reject is marked replayed); 422 with each event's
    reason when one is refused (nothing stored); 404 for an unknown reject,
    409 for one already replayed.
    """
    api = api_of(request)
    reject_id = request.path_params["reject"]
    quiet_before = instant_param(request, "quiet_before")
    body = await read_body(request, api)
    label = f"POST /rejects/{reject_id}/replay#{request_id(request)}"
    records: list[Any] | None = None
    if body.strip():
        try:
            place, items = await run_in_threadpool(
                split_events, body, request.headers.get("content-type")
            )
        except BadBody as exc:
            return error(exc.status, str(exc))
        if not items:
            return error(400, "the body holds no events; send the corrected event")
        records = [
            (replay_origin(label, reject_id, f"{place} {i.place}"), i.payload, i.problem, i.raw)
            for i in items
        ]

    def replay(engine: LiveEngine) -> Response:
        row = engine.store.reject(reject_id)
        if row is None:
            return error(404, "no such reject (never stored, or pruned)", reject=reject_id)
        if row.replayed is not None:
            return _already(row.id, row.replayed)
        try:
            given = records if records is not None else [_stored(label, row)]
        except NothingToReplay as exc:
            return error(422, str(exc), reject=reject_id)
        try:
            report = engine.replay(reject_id, given, api.now(), quiet_before=quiet_before)
        except UnknownReject:
            return error(404, "no such reject (never stored, or pruned)", reject=reject_id)
        except AlreadyReplayed as exc:
            return _already(reject_id, exc.replayed)
        api.record_ingest("rejects/replay", report)
        answer = replay_answer(reject_id, report)
        return JSONResponse(answer, status_code=200 if answer["replayed"] else 422)

    return await api.call(replay)


def _stored(label: str, row: RejectRow) -> tuple[str, dict[str, Any], None]:
    return (replay_origin(label, row.id, "stored event"), stored_event(row), None)


def _already(reject_id: int, replayed: int) -> Response:
    return error(
        409, f"reject {reject_id} was already replayed", reject=reject_id, replayed=iso(replayed)
    )


__all__ = ["get_reject", "get_rejects", "post_redrive", "post_replay"]
