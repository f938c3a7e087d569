"""Request bodies: read within a size limit, and split into events (JSON array or JSON Lines).

Every item keeps its place (``index`` in an array, ``line`` in JSON Lines) so
the response can say what became of each one; an item that is not a usable
JSON object becomes a problem for that item alone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

JSON_TYPES: Final = frozenset({"application/json"})
JSON_LINES_TYPES: Final = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
    }
)
#: What a 415 answer says is accepted: every type, from the sets above.
ACCEPTED: Final = (
    f"send a JSON array or object as {', '.join(sorted(JSON_TYPES))} (or any type ending"
    f" in +json), or JSON Lines as {', '.join(sorted(JSON_LINES_TYPES))}"
)


class BodyTooLarge(Exception):
    """The body is over the configured limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over the limit of {limit} bytes")
        self.limit = limit


class BadBody(Exception):
    """A body that cannot be read at all (answered 400, or 415 for its type)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a body: its place, the object (or ``None``) and what is wrong with it.

    ``raw`` is the item's own text when it is not a usable object, so the
    rejects table keeps what was sent.
    """

    place: int
    payload: dict[str, Any] | None
    problem: str | None
    raw: bytes | None = None


async def read_limited(
    chunks: AsyncIterator[bytes], content_length: str | None, limit: int
) -> bytes:
    """The whole body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = (content_length or "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, lower-cased, without parameters."""
    return (header or "").split(";", 1)[0].strip().lower()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN and Infinity; every failure is a ``ValueError``."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _as_item(place: int, value: Any, raw: bytes | None = None) -> Item:
    if isinstance(value, dict):
        return Item(place, value, None)
    if raw is None:  # an array item: its JSON, as near as it can be written again
        try:
            raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
        except (ValueError, RecursionError):
            raw = None
    return Item(place, None, f"expected a JSON object, got {_kind(value)}", raw)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def split_events(body: bytes, content_type: str | None) -> tuple[str, list[Item]]:
    """The body's events: ``("index", items)`` for a JSON array, ``("line", items)`` for lines.

    A JSON body may also be a single object (one event). Raises :class:`BadBody`
    when the body as a whole cannot be read.
    """
    kind = media_type(content_type)
    if kind in JSON_TYPES or kind.endswith("+json"):
        try:
            document = loads(body)
        except UnicodeDecodeError:
            raise BadBody("the body is not UTF-8") from None
        except ValueError as exc:
            raise BadBody(f"the body is not valid JSON: {exc}") from None
        if isinstance(document, dict):
            return "index", [Item(0, document, None)]
        if not isinstance(document, list):
            raise BadBody(f"expected a JSON array of events, got {_kind(document)}")
        return "index", [_as_item(index, value) for index, value in enumerate(document)]
    if kind in JSON_LINES_TYPES:
        items = []
        # A byte order mark before the first line (Windows tools write one) is no content,
        # as in a JSON body.
        body = body.removeprefix(b"\xef\xbb\xbf")
        for number, raw in enumerate(body.split(b"\n"), start=1):
            if not raw.strip():
                continue
            line = raw.removesuffix(b"\r")
            try:
                value = loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                items.append(Item(number, None, "the line is not UTF-8", line))
                continue
            except ValueError as exc:
                items.append(Item(number, None, f"not valid JSON: {exc}", line))
                continue
            items.append(_as_item(number, value, line))
        return "line", items
    raise BadBody(f"unsupported Content-Type {kind or '(none)'!r}; {ACCEPTED}", status=415)


__all__ = [
    "ACCEPTED",
    "JSON_LINES_TYPES",
    "JSON_TYPES",
    "BadBody",
    "BodyTooLarge",
    "Item",
    "loads",
    "media_type",
    "read_limited",
    "split_events",
]
