"""``POST /inbox/{vendor}``: a vendor's webhook, verified, translated into events, ingested.

The vendor's :class:`~slaengine.inbox.Inbox` comes from the plugins
(``slaengine_register_inboxes``). A vendor that signs its requests is verified
over the exact bytes received with the secret from the settings; without a
secret it is refused unless its table says ``verify = false``.
``?quiet_before=INSTANT`` loads a vendor's history quietly, as on ``POST /events``:
what its tickets reached before that instant is recorded as skipped, not sent.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slaengine.inbox import InboxError, SignatureError
from slaengine.problems import did_you_mean
from slaengine.serve.api import (
    BadParameter,
    api_of,
    error,
    guarded,
    ingest_answer,
    instant_param,
    request_id,
)
from slaengine.serve.bodies import BodyTooLarge, loads, read_limited
from slaengine.serve.settings import inbox_env_name

_log = structlog.get_logger("slaengine.serve")


@guarded
async def post_inbox(request: Request) -> Response:
    """Verify, translate and ingest one webhook delivery."""
    api = api_of(request)
    vendor = request.path_params["vendor"]
    inbox = api.inboxes.get(vendor)
    if inbox is None:
        known = sorted(api.inboxes)
        return error(404, f"unknown inbox {vendor!r}" + did_you_mean(vendor, known), known=known)
    log = _log.bind(vendor=vendor, request_id=request_id(request))

    def counted(result: str, response: Response) -> Response:
        api.counters.add("inbox_deliveries", vendor=vendor, result=result)
        return response

    try:
        quiet_before = instant_param(request, "quiet_before")
    except BadParameter as exc:
        return counted("invalid", error(exc.status, str(exc)))

    try:
        body = await read_limited(
            request.stream(), request.headers.get("content-length"), api.settings.max_body
        )
    except BodyTooLarge as exc:
        return counted("too_large", error(413, str(exc), limit=exc.limit))
    now = api.now()
    headers = {name.lower(): value for name, value in request.headers.items()}
    if inbox.verify is not None:
        secret = api.settings.inbox_secret(vendor)
        if secret.verify:
            if secret.secret is None:
                hint = (
                    f"set {inbox_env_name(vendor)}, or secret_env or secret in [inbox.{vendor}] "
                    "(or verify = false there)"
                )
                log.error("inbox is signed but has no secret", hint=hint)
                message = f"inbox {vendor!r} is signed but no secret is configured: {hint}"
                return counted("no_secret", error(403, message))
            try:
                await run_in_threadpool(inbox.verify, body, headers, secret.secret, now)
            except SignatureError as exc:
                log.warning("inbox signature refused", reason=str(exc))
                return counted("bad_signature", error(401, f"signature: {exc}"))
            except InboxError as exc:
                return counted("invalid", error(400, str(exc)))
    # A plugin's code runs off the event loop: a slow one holds up its own request only.
    reply = None if inbox.handshake is None else await run_in_threadpool(inbox.handshake, headers)
    if reply is not None:  # the vendor checking the URL as the webhook is saved
        log.info("inbox set-up check answered")
        return counted("handshake", JSONResponse(dict(reply)))
    try:
        payload = await run_in_threadpool(loads, body)
    except ValueError as exc:
        return counted("invalid", error(400, f"the body is not valid JSON: {exc}"))
    if not isinstance(payload, dict):
        return counted("invalid", error(400, "expected a JSON object"))
    try:
        delivery = await run_in_threadpool(inbox.translate, payload)
    except SignatureError as exc:
        return counted("bad_signature", error(401, f"signature: {exc}"))
    except InboxError as exc:
        log.info("inbox payload refused", reason=str(exc))
        return counted("invalid", error(400, str(exc)))
    except Exception:  # the translator's bug: counted here, logged and answered 500 by guarded
        api.counters.add("inbox_deliveries", vendor=vendor, result="error")
        raise
    if not delivery.events and delivery.ignored is not None:
        log.debug("inbox event type ignored", type=delivery.ignored)
        return counted("ignored", JSONResponse({"ignored": delivery.ignored}, status_code=202))
    label = f"POST /inbox/{vendor}#{request_id(request)}"
    records = [
        (f"{label} event {index}", dict(event), None)
        if isinstance(event, Mapping)
        else (f"{label} event {index}", None, f"the {vendor} inbox made no event of it")
        for index, event in enumerate(delivery.events)
    ]
    # A refused event keeps the body it came from: the delivery as the vendor sent it.
    received = (body, request.headers.get("content-type"))
    report = await api.call(
        lambda engine: engine.ingest(records, now, quiet_before=quiet_before, body=received)
    )
    api.record_ingest(f"inbox/{vendor}", report)
    answer = ingest_answer("index", list(range(len(records))), report)
    return counted("accepted", JSONResponse(answer))


__all__ = ["post_inbox"]
