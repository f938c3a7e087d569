"""Parsing of event objects and ISO 8601 instants into :class:`~slaengine.timeline.Event`.

Two paths give the same events: :func:`parse_event` validates any object and
names what is wrong; :func:`canonical_event` and :func:`canonical_values`
(:mod:`slaengine.event_fastpath`) take the common, already well-formed shapes
fast and fall back to the full check.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from slaengine.errors import EventError
from slaengine.event_fastpath import canonical_event, canonical_values
from slaengine.problems import did_you_mean
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import (
    AUTHORS,
    EVENT_TYPES,
    MAX_YEAR,
    MIN_YEAR,
    PRIORITIES,
    STATUSES,
    Event,
)

_UPDATABLE: Final = ("priority", "channel", "tags", "fields", "group", "assignee", "customer")
_EMPTY: Mapping[str, Any] = ReadOnlyMap()


_LONG_YEAR: Final = re.compile(r"[+-]?[0-9]{5,}-")


def parse_instant(text: object, what: str = "'at'") -> int:
    """Epoch seconds of an ISO 8601 timestamp that carries a UTC offset or ``Z``.

    ``what`` names the value in messages: the event field by default, an option
    (``--at``) or a setting where a command reads one.
    """
    if not isinstance(text, str):
        raise EventError(f"{what} must be an ISO 8601 string, got {_kind(text)}")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        if _LONG_YEAR.match(text):  # a year of five digits or more (Parquet, typos)
            raise EventError(
                f"timestamp {text[:40]!r} is outside the years {MIN_YEAR} to {MAX_YEAR}"
            ) from None
        parsed = _parse_other_iso(text, what)
    zone = parsed.tzinfo
    try:
        offset = parsed.utcoffset() if zone is not None else None
    except ValueError:  # an offset of 24 hours or more ("+24:00"), which no zone has
        raise EventError(
            f"timestamp {text!r} has a UTC offset of 24 hours or more; offsets are less than a day"
        ) from None
    if offset is None:
        raise EventError(f"timestamp {text!r} has no UTC offset; add 'Z' or e.g. '+01:00'")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise EventError(f"timestamp {text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return int(parsed.timestamp() // 1)


def _parse_other_iso(text: str, what: str) -> dt.datetime:
    # Rarer ISO 8601 forms (ordinal dates, week dates with times) that the
    # standard library does not read; pendulum's parser knows them.
    from pendulum.parsing import parse_iso8601
    from pendulum.parsing.exceptions import ParserError

    try:
        parsed = parse_iso8601(text)
    except (ParserError, ValueError):
        raise EventError(f"{what} is not an ISO 8601 timestamp: {text!r}") from None
    if not isinstance(parsed, dt.datetime):
        raise EventError(f"{what} must be a date and time, got {text!r}")
    return parsed


def _given(value: object) -> str:
    """A scalar as it was given (``'maybe'``, ``2``), a list or object by its kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return _kind(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _one_of(obj: Mapping[str, Any], key: str, choices: Iterable[str], required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise EventError(f"missing '{key}' (one of {', '.join(choices)})")
        return None
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise EventError(f"'{key}' must be one of {', '.join(choices)}, got {value!r}{hint}")
    return value


def _text(obj: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if type(value) is str:  # the common case, first
        return value
    if value is None:
        if required:
            raise EventError(f"missing '{key}'")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(f"'{key}' must be a string, got {_kind(value)}")
    return str(value)


def _tags(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    value = obj.get("tags")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise EventError("'tags' must be a list of strings")
    return tuple(value)


def _fields(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    value = obj.get("fields")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EventError(f"'fields' must be an object, got {_kind(value)}")
    return ReadOnlyMap(value)


def _status(obj: Mapping[str, Any], status_map: Mapping[str, str], required: bool) -> str | None:
    value = obj.get("status")
    if value is None:
        if required:
            raise EventError("missing 'status'")
        return None
    if isinstance(value, str):
        if value in STATUSES:
            return value
        mapped = status_map.get(value)
        if mapped is not None:
            return mapped
    known = [*STATUSES, *status_map]
    hint = did_you_mean(value, known) if isinstance(value, str) else ""
    raise EventError(f"'status' must be one of {', '.join(known)}, got {value!r}{hint}")


def parse_event(
    obj: object, *, seq: int = 0, line: int = 0, status_map: Mapping[str, str] = _EMPTY
) -> Event:
    """Validate one decoded JSON object into an :class:`Event`.

    ``status_map`` maps custom status names onto the canonical ones.
    Raises :class:`EventError` naming what is wrong (the caller adds the line).
    """
    if type(obj) is dict:
        event = canonical_event(obj, seq, line)
        if event is not None:
            return event
    return _checked_event(obj, seq, line, status_map)


def _checked_event(obj: object, seq: int, line: int, status_map: Mapping[str, str]) -> Event:
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, got {_kind(obj)}")
    ticket = _text(obj, "ticket", required=True)
    if not ticket:
        raise EventError("'ticket' must not be empty")
    if "at" not in obj:
        raise EventError("missing 'at'")
    at = parse_instant(obj["at"])
    kind = _one_of(obj, "type", EVENT_TYPES, required=True)
    assert kind is not None  # required=True raised otherwise
    event_id = _text(obj, "id")
    if kind == "created":
        channel = _text(obj, "channel", required=True)
        if not channel or not channel.strip():
            raise EventError("'channel' must not be empty")
        return Event(
            ticket,
            at,
            kind,
            seq,
            line,
            event_id,
            channel=channel.lower(),
            priority=_one_of(obj, "priority", PRIORITIES, required=True),
            status=_status(obj, status_map, required=False) or "new",
            customer=_text(obj, "customer"),
            group=_text(obj, "group"),
            assignee=_text(obj, "assignee"),
            tags=_tags(obj),
            fields=_fields(obj),
            author=_one_of(obj, "author", AUTHORS, required=False),
        )
    if kind == "message":
        public = obj.get("public", True)
        if not isinstance(public, bool):
            raise EventError(f"'public' must be true or false, got {_given(public)}")
        return Event(
            ticket,
            at,
            kind,
            seq,
            line,
            event_id,
            author=_one_of(obj, "author", AUTHORS, required=True),
            public=public,
            agent=_text(obj, "agent"),
        )
    if kind == "status":
        return Event(
            ticket, at, kind, seq, line, event_id, status=_status(obj, status_map, required=True)
        )
    if kind == "update":
        if not any(obj.get(key) is not None for key in _UPDATABLE):
            raise EventError(f"an update needs at least one of {', '.join(_UPDATABLE)}")
        channel = _text(obj, "channel")
        return Event(
            ticket,
            at,
            kind,
            seq,
            line,
            event_id,
            channel=channel.lower() if channel else channel,
            priority=_one_of(obj, "priority", PRIORITIES, required=False),
            customer=_text(obj, "customer"),
            group=_text(obj, "group"),
            assignee=_text(obj, "assignee"),
            tags=_tags(obj),
            fields=_fields(obj),
        )
    return Event(ticket, at, kind, seq, line, event_id, score=_score(obj.get("score")))


def _score(score: object) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise EventError(f"a csat event needs a numeric 'score', got {_kind(score)}")
    try:
        value = float(score)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        # NaN or an infinite score would make every mean of the audit NaN (invalid JSON).
        shown = "a number too large" if isinstance(score, int) else repr(score)
        raise EventError(f"'score' must be a finite number, got {shown}")
    return value


__all__ = ["canonical_event", "canonical_values", "parse_event", "parse_instant"]
