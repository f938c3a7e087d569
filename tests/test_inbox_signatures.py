"""Inbox signatures: each vendor's documented scheme over the exact bytes, with a replay window.

The signers below follow each vendor's documentation independently of the
code under test: a valid request passes; a wrong secret, a changed byte, a
stale timestamp or a missing header is a SignatureError with a clear message.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable

import pytest

from slaengine.inbox import InboxError, SignatureError
from slaengine.plugins import make_plugins

SECRET = "whsec-3f9a1c0e7b5d"
NOW = 1772442000  # 2026-03-02T09:00:00Z
BODY = b'{"event": "message_created", "id": 501, "content": "Gr\xc3\xbc\xc3\x9fe"}'


def _chatwoot(body: bytes, secret: str, sent: int) -> dict[str, str]:
    mac = hmac.new(secret.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-chatwoot-timestamp": str(sent), "x-chatwoot-signature": f"sha256={mac}"}


def _zendesk(body: bytes, secret: str, sent: int) -> dict[str, str]:
    stamp = dt.datetime.fromtimestamp(sent, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-signature": base64.b64encode(mac).decode(),
    }


def _intercom(body: bytes, secret: str, sent: int) -> dict[str, str]:
    del sent  # Intercom signs the body only
    return {"x-hub-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def _front_app(body: bytes, secret: str, sent: int) -> dict[str, str]:
    millis = str(sent * 1000 + 417)
    mac = hmac.new(secret.encode(), millis.encode() + b":" + body, hashlib.sha256).digest()
    return {
        "x-front-request-timestamp": millis,
        "x-front-signature": base64.b64encode(mac).decode(),
    }


def _front_rule(body: bytes, secret: str, sent: int) -> dict[str, str]:
    del sent  # rule webhooks sign the body only
    mac = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return {"x-front-signature": base64.b64encode(mac).decode()}


# vendor -> (sign(body, secret, sent epoch) -> headers, whether it carries a timestamp)
SIGNERS: dict[str, tuple[Callable[[bytes, str, int], dict[str, str]], bool]] = {
    "chatwoot": (_chatwoot, True),
    "zendesk": (_zendesk, True),
    "intercom": (_intercom, False),
    "front": (_front_app, True),
}
UNSIGNED = ("freshdesk",)
FRONT_STAMP = ("front", "x-front-request-timestamp")
# Header names as each vendor's documentation writes them: every message uses these.
DOCUMENTED = {
    name.lower(): name
    for name in (
        "X-Chatwoot-Timestamp",
        "X-Chatwoot-Signature",
        "X-Zendesk-Webhook-Signature-Timestamp",
        "X-Zendesk-Webhook-Signature",
        "X-Hub-Signature",
        "X-Front-Request-Timestamp",
        "X-Front-Signature",
    )
}


@pytest.fixture(scope="module")
def inboxes():
    return make_plugins(entry_points=False).inboxes()


def _verify(inboxes, vendor):
    verify = inboxes[vendor].verify
    assert verify is not None, f"{vendor} signs its requests"
    return verify


@pytest.mark.parametrize("vendor", SIGNERS)
def test_a_valid_signature_passes(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    assert inboxes[vendor].signed
    _verify(inboxes, vendor)(BODY, sign(BODY, SECRET, NOW - 30), SECRET, NOW)


@pytest.mark.parametrize("vendor", SIGNERS)
def test_a_wrong_secret_is_refused(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    with pytest.raises(SignatureError, match=f"^{vendor}: .*does not match"):
        _verify(inboxes, vendor)(BODY, sign(BODY, "another-secret", NOW), SECRET, NOW)


@pytest.mark.parametrize("vendor", SIGNERS)
def test_a_tampered_body_is_refused(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    headers = sign(BODY, SECRET, NOW)
    tampered = BODY.replace(b"501", b"502")
    with pytest.raises(SignatureError, match="does not match"):
        _verify(inboxes, vendor)(tampered, headers, SECRET, NOW)
    # Re-serialised JSON (same data, other bytes) is refused too: the exact bytes are signed.
    with pytest.raises(SignatureError):
        _verify(inboxes, vendor)(BODY.replace(b": ", b":"), headers, SECRET, NOW)


@pytest.mark.parametrize("vendor", [v for v, (_, stamped) in SIGNERS.items() if stamped])
@pytest.mark.parametrize("age", [-301, 301, 86_400])
def test_a_stale_or_future_timestamp_is_refused(inboxes, vendor, age):
    sign, _ = SIGNERS[vendor]
    headers = sign(BODY, SECRET, NOW - age)  # correctly signed, but outside the window
    with pytest.raises(SignatureError, match="stale or replayed"):
        _verify(inboxes, vendor)(BODY, headers, SECRET, NOW)


@pytest.mark.parametrize("vendor", [v for v, (_, stamped) in SIGNERS.items() if stamped])
def test_the_window_edge_passes(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    for age in (-300, 300):
        _verify(inboxes, vendor)(BODY, sign(BODY, SECRET, NOW - age), SECRET, NOW)


@pytest.mark.parametrize("vendor", SIGNERS)
def test_missing_headers_are_refused_by_name(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    headers = sign(BODY, SECRET, NOW)
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        # Without its timestamp a Front request is read as a rule webhook, whose check fails.
        expected = (
            "does not match" if (vendor, name) == FRONT_STAMP else f"missing {DOCUMENTED[name]} "
        )
        with pytest.raises(SignatureError, match=expected):
            _verify(inboxes, vendor)(BODY, partial, SECRET, NOW)


@pytest.mark.parametrize("vendor", SIGNERS)
@pytest.mark.parametrize("garbage", ["", "sha256=", "not base64 ü", "sha1=00", "=" * 3])
def test_garbage_signatures_are_signature_errors(inboxes, vendor, garbage):
    sign, _ = SIGNERS[vendor]
    headers = sign(BODY, SECRET, NOW)
    for name in headers:
        if "signature" in name and "timestamp" not in name:
            headers[name] = garbage
    with pytest.raises(SignatureError):
        _verify(inboxes, vendor)(BODY, headers, SECRET, NOW)


@pytest.mark.parametrize("vendor", [v for v, (_, stamped) in SIGNERS.items() if stamped])
def test_an_unreadable_timestamp_is_a_signature_error(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    headers = sign(BODY, SECRET, NOW)
    for name in headers:
        if "timestamp" in name:
            headers[name] = "soon"
    with pytest.raises(SignatureError, match="not a timestamp"):
        _verify(inboxes, vendor)(BODY, headers, SECRET, NOW)


@pytest.mark.parametrize("vendor", SIGNERS)
def test_an_empty_secret_verifies_nothing(inboxes, vendor):
    sign, _ = SIGNERS[vendor]
    with pytest.raises(SignatureError, match="no signing secret"):
        _verify(inboxes, vendor)(BODY, sign(BODY, "", NOW), "", NOW)


def test_signature_errors_are_inbox_errors():
    assert issubclass(SignatureError, InboxError)


def test_front_rule_webhooks_are_checked_without_a_timestamp(inboxes):
    verify = _verify(inboxes, "front")
    verify(BODY, _front_rule(BODY, SECRET, NOW), SECRET, NOW + 86_400)
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, _front_rule(BODY, "another-secret", NOW), SECRET, NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY + b" ", _front_rule(BODY, SECRET, NOW), SECRET, NOW)
    # An application signature with its timestamp removed is not a valid rule signature.
    app = _front_app(BODY, SECRET, NOW)
    del app["x-front-request-timestamp"]
    with pytest.raises(SignatureError):
        verify(BODY, app, SECRET, NOW)


def test_intercom_has_no_replay_window_but_checks_the_body(inboxes):
    verify = _verify(inboxes, "intercom")
    verify(BODY, _intercom(BODY, SECRET, NOW), SECRET, NOW + 86_400)
    with pytest.raises(SignatureError, match="missing X-Hub-Signature header"):
        verify(BODY, {}, SECRET, NOW)


@pytest.mark.parametrize("vendor", UNSIGNED)
def test_unsigned_vendors_have_no_verify(inboxes, vendor):
    assert inboxes[vendor].verify is None
    assert not inboxes[vendor].signed


@pytest.mark.parametrize("vendor", SIGNERS)
def test_every_message_writes_header_names_as_the_vendor_documents_them(inboxes, vendor):
    sign, stamped = SIGNERS[vendor]
    verify = _verify(inboxes, vendor)
    headers = sign(BODY, SECRET, NOW)
    attempts = [(BODY + b" ", headers)]  # does not match
    attempts += [({**headers, name: ""}) for name in headers]  # missing, one by one
    if stamped:
        attempts += [{**headers, **{n: "soon" for n in headers if "timestamp" in n}}]
    messages = []
    for attempt in attempts:
        body, given = attempt if isinstance(attempt, tuple) else (BODY, attempt)
        with pytest.raises(SignatureError) as refused:
            verify(body, given, SECRET, NOW)
        messages.append(str(refused.value))
    named = {found for message in messages for found in re.findall(r"x-[\w-]+", message, re.I)}
    assert named  # each message names the header it is about
    assert sorted(named) == sorted({DOCUMENTED[name.lower()] for name in named})
