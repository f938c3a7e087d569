"""What the bundled inboxes share: reading payload values and signatures, building events.

Every reader raises :class:`~slaengine.inbox.InboxError` naming the vendor and
the path of the value (``zendesk: detail.created_at ...``), so a payload that
is not the vendor's shape is answered with a clear message, never a
``KeyError``. Signature checks compare in constant time and raise
:class:`~slaengine.inbox.SignatureError`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from slaengine.inbox import InboxError, SignatureError

Event = dict[str, Any]

# How far a signed request's timestamp may be from now, either way, in seconds.
# The vendors that send one recommend five minutes against replays.
REPLAY_WINDOW = 300

# A fraction of a second of any length (Zendesk sends nanoseconds, which the
# standard library's ISO reader refuses); events keep whole seconds.
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})[.,]\d+")
# "2020-03-03 13:05:57 UTC", as in Chatwoot's documented sample payload.
_UTC_SUFFIX = re.compile(r"\s+(UTC|GMT)$")
# Integer or decimal epoch seconds written as text.
_EPOCH_TEXT = re.compile(r"\d{9,11}(\.\d+)?")


class Reader:
    """Reads one vendor's payload values, raising InboxError with the value's path."""

    def __init__(self, vendor: str, naive_hint: str = "") -> None:
        self.vendor = vendor
        self.naive_hint = naive_hint  # what to do about a time without UTC offset

    def error(self, message: str) -> InboxError:
        """An InboxError whose message names the vendor."""
        return InboxError(f"{self.vendor}: {message}")

    def mapping(self, obj: object, key: str, where: str = "") -> Mapping[str, Any]:
        """The JSON object at ``obj[key]``; required."""
        value = self.value(obj, key, where)
        if not isinstance(value, Mapping):
            raise self.error(f"{_path(where, key)} must be an object, got {_kind(value)}")
        return value

    def optional_mapping(self, obj: object, key: str, where: str = "") -> Mapping[str, Any]:
        """The JSON object at ``obj[key]``, or an empty one when it is absent or null."""
        if not isinstance(obj, Mapping) or obj.get(key) is None:
            return {}
        return self.mapping(obj, key, where)

    def value(self, obj: object, key: str, where: str = "") -> Any:
        """``obj[key]``, which must be present and not null."""
        if not isinstance(obj, Mapping):
            raise self.error(f"{where or 'the payload'} must be an object, got {_kind(obj)}")
        value = obj.get(key)
        if value is None:
            raise self.error(f"missing {_path(where, key)}")
        return value

    def ident(self, obj: object, key: str, where: str = "") -> str:
        """An id (string or integer) at ``obj[key]``, as a string; required."""
        value = self.value(obj, key, where)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(f"{_path(where, key)} must be an id, got {_kind(value)}")
        text = str(value).strip()
        if not text:
            raise self.error(f"{_path(where, key)} must not be empty")
        return text

    def optional_ident(self, obj: object, key: str, where: str = "") -> str | None:
        """An id at ``obj[key]`` as a string, or ``None`` when absent, null or empty."""
        if not isinstance(obj, Mapping):
            return None
        value = obj.get(key)
        if value is None or value == "":
            return None
        return self.ident(obj, key, where)

    def text(self, obj: object, key: str, where: str = "") -> str:
        """A string at ``obj[key]``; required."""
        value = self.value(obj, key, where)
        if not isinstance(value, str):
            raise self.error(f"{_path(where, key)} must be a string, got {_kind(value)}")
        return value

    def optional_text(self, obj: object, key: str, where: str = "") -> str | None:
        """A string at ``obj[key]``, or ``None`` when absent, null or empty."""
        if not isinstance(obj, Mapping) or obj.get(key) in (None, ""):
            return None
        return self.text(obj, key, where)

    def flag(self, obj: object, key: str, where: str = "", default: bool | None = None) -> bool:
        """A boolean at ``obj[key]``; ``default`` when absent (required if no default)."""
        if isinstance(obj, Mapping) and obj.get(key) is None and default is not None:
            return default
        value = self.value(obj, key, where)
        if not isinstance(value, bool):
            raise self.error(f"{_path(where, key)} must be true or false, got {_kind(value)}")
        return value

    def choice(
        self, table: Mapping[str, str], value: object, what: str, default: str | None = None
    ) -> str:
        """``value`` looked up in ``table`` (any case); ``default`` when null or empty."""
        if value is None or value == "":
            if default is None:
                raise self.error(f"missing {what}")
            return default
        key = value.lower() if isinstance(value, str) else value
        if not isinstance(key, str) or key not in table:
            raise self.error(f"unknown {what} {value!r}; expected one of {', '.join(table)}")
        return table[key]

    def tags(self, value: object, where: str) -> list[str]:
        """Tags: a list of strings, or one string of space-separated tags; null is none."""
        if value is None:
            return []
        if isinstance(value, str):
            return value.split()
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise self.error(f"{where} must be a list of strings")
        return list(value)

    def instant(self, obj: object, key: str, where: str = "", zone: dt.tzinfo | None = None) -> str:
        """The instant at ``obj[key]`` as ISO 8601 UTC (whole seconds); required.

        Vendors send epoch seconds (integer, decimal or as text) or ISO 8601
        text. Text without a UTC offset is read in ``zone``; without a zone it
        is an error, since guessing would shift every clock.
        """
        return iso(self.epoch(obj, key, where, zone))

    def epoch(self, obj: object, key: str, where: str = "", zone: dt.tzinfo | None = None) -> int:
        """The instant at ``obj[key]`` as integer epoch seconds; required."""
        value = self.value(obj, key, where)
        name = _path(where, key)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(f"{name} must be a timestamp, got {_kind(value)}")
        if isinstance(value, int | float):
            return self._checked_epoch(value, name)
        text = value.strip()
        if _EPOCH_TEXT.fullmatch(text):
            return self._checked_epoch(float(text), name)
        parsed = _parse_datetime(text)
        if parsed is None:
            raise self.error(f"{name} is not a timestamp: {value!r}")
        if parsed.tzinfo is None:
            if zone is None:
                raise self.error(f"{name} {value!r} has no UTC offset{self.naive_hint}")
            parsed = parsed.replace(tzinfo=zone)
        return int(parsed.timestamp() // 1)

    def _checked_epoch(self, value: float, name: str) -> int:
        # Milliseconds would land tens of thousands of years ahead: say so.
        if not 0 < value < 32_503_680_000:
            raise self.error(f"{name} is not epoch seconds: {value!r}")
        return int(value // 1)

    def zone(self, name: str, where: str) -> dt.tzinfo:
        """The IANA time zone ``name`` (e.g. ``Europe/Berlin``)."""
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.error(f"{where} is not a known time zone: {name!r}") from None


def _parse_datetime(text: str) -> dt.datetime | None:
    cleaned = _FRACTION.sub(r"\1", text)
    suffix = _UTC_SUFFIX.search(cleaned)
    if suffix:
        cleaned = cleaned[: suffix.start()] + "+00:00"
    try:
        return dt.datetime.fromisoformat(cleaned)
    except ValueError:
        return None


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def iso(epoch: int) -> str:
    """Epoch seconds as ISO 8601 in UTC with ``Z``."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snake(name: str) -> str:
    """A vendor's display name (``Waiting on Customer``) as a status-like word."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


# -- events -------------------------------------------------------------------


def event(ticket: str, at: str, kind: str, event_id: str, **keys: Any) -> Event:
    """A canonical event; keys whose value is ``None`` are left out."""
    built: Event = {"id": event_id, "ticket": ticket, "at": at, "type": kind}
    built.update((key, value) for key, value in keys.items() if value is not None)
    return built


# -- signatures ---------------------------------------------------------------


def header(headers: Mapping[str, str], name: str, vendor: str) -> str:
    """Request header ``name``, written as the vendor documents it (``X-Hub-Signature``),
    from ``headers`` (names lower-cased); missing or empty is a SignatureError."""
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise SignatureError(f"{vendor}: missing {name} header")
    return value


def digest(secret: str, message: bytes, algorithm: str) -> bytes:
    """The HMAC of ``message`` keyed with ``secret`` (UTF-8).

    An empty secret is refused: anyone can compute an HMAC with an empty key.
    """
    if not secret:
        raise SignatureError("no signing secret is configured for this inbox")
    return hmac.new(secret.encode("utf-8"), message, getattr(hashlib, algorithm)).digest()


def same_base64(expected: bytes, given: str) -> bool:
    """Whether ``given`` is ``expected`` in base64 (constant-time compare)."""
    return hmac.compare_digest(base64.b64encode(expected), given.encode("ascii", "replace"))


def same_hex(expected: bytes, given: str) -> bool:
    """Whether ``given`` is ``expected`` in hex, either case (constant-time compare)."""
    return hmac.compare_digest(expected.hex().encode(), given.lower().encode("ascii", "replace"))


def same_prefixed_hex(expected: bytes, given: str, prefix: str) -> bool:
    """Whether ``given`` is ``prefix`` (``sha256=``) then ``expected`` in hex; no prefix: no."""
    hexdigest = given.removeprefix(prefix)
    return given != hexdigest and same_hex(expected, hexdigest)


def check_fresh(sent: int, now: int, vendor: str, window: int = REPLAY_WINDOW) -> None:
    """Refuse a signed request whose timestamp is more than ``window`` seconds from now."""
    if abs(now - sent) > window:
        raise SignatureError(
            f"{vendor}: request timestamp {iso(sent)} is {abs(now - sent)} s from now "
            f"(more than {window} s): stale or replayed"
        )


def timestamp_header(
    headers: Mapping[str, str], name: str, vendor: str, *, millis: bool = False
) -> tuple[str, int]:
    """A signature timestamp header as sent (it is signed) and as epoch seconds.

    The header holds epoch seconds (milliseconds with ``millis``) or ISO 8601.
    """
    raw = header(headers, name, vendor)
    text = str(int(raw) // 1000) if millis and raw.isdigit() else raw
    try:
        return raw, Reader(vendor).epoch({name: text}, name)
    except InboxError:
        raise SignatureError(f"{vendor}: {name} header is not a timestamp: {raw!r}") from None


def check_timestamped(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: int,
    vendor: str,
    *,
    timestamp: str,
    signature: str,
    separator: bytes,
    matches: Callable[[bytes, str], bool],
    millis: bool = False,
) -> None:
    """Check a signature header over the timestamp header, ``separator`` and the exact body.

    The signature is the HMAC-SHA256 of those bytes, compared by ``matches``
    (:func:`same_base64`, say). ``timestamp`` and ``signature`` are the headers'
    names as the vendor documents them, as every message names them.
    A timestamp more than :data:`REPLAY_WINDOW` from ``now`` is refused.
    """
    raw, sent = timestamp_header(headers, timestamp, vendor, millis=millis)
    given = header(headers, signature, vendor)
    expected = digest(secret, raw.encode("ascii", "replace") + separator + body, "sha256")
    refuse_unless(matches(expected, given), vendor, signature)
    check_fresh(sent, now, vendor)


def refuse_unless(matches: bool, vendor: str, name: str) -> None:
    """Raise the SignatureError for a signature header that does not match the body."""
    if not matches:
        raise SignatureError(f"{vendor}: {name} does not match the body")
