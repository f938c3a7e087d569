"""Parsing of event objects and ISO 8601 instants into :class:`~slaengine.timeline.Event`.

Two paths give the same events: :func:`parse_event` validates any object and
names what is wrong; :func:`canonical_event` and :func:`canonical_values` take
the common, already well-formed shapes fast and fall back to the full check.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeGuard

from slaengine.errors import EventError
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


def parse_instant(text: object) -> int:
    """Epoch seconds of an ISO 8601 timestamp that carries a UTC offset or ``Z``."""
    if not isinstance(text, str):
        raise EventError(f"'at' must be an ISO 8601 string, got {_kind(text)}")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        if _LONG_YEAR.match(text):  # a year of five digits or more (Parquet, typos)
            raise EventError(
                f"timestamp {text[:40]!r} is outside the years {MIN_YEAR} to {MAX_YEAR}"
            ) from None
        parsed = _parse_other_iso(text)
    zone = parsed.tzinfo
    if zone is None or (type(zone) is not dt.timezone and parsed.utcoffset() is None):
        raise EventError(f"timestamp {text!r} has no UTC offset; add 'Z' or e.g. '+01:00'")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise EventError(f"timestamp {text!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return int(parsed.timestamp() // 1)


def _parse_other_iso(text: str) -> dt.datetime:
    # Rarer ISO 8601 forms (ordinal dates, week dates with times) that the
    # standard library does not read; pendulum's parser knows them.
    from pendulum.parsing import parse_iso8601
    from pendulum.parsing.exceptions import ParserError

    try:
        parsed = parse_iso8601(text)
    except (ParserError, ValueError):
        raise EventError(f"'at' is not an ISO 8601 timestamp: {text!r}") from None
    if not isinstance(parsed, dt.datetime):
        raise EventError(f"'at' must be a date and time, got {text!r}")
    return parsed


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


# The fast path. Almost every event in a large history is well formed and uses
# the canonical spellings (string ids, canonical statuses, whole-second UTC
# offsets); such an event is built here with a few type checks and no helper
# calls. Anything unusual returns None and takes the validating path below,
# which builds the very same Event or raises the precise error, so the fast
# path can never accept what the full path would refuse.
_QUICK_AUTHORS: Final = frozenset(AUTHORS)
_QUICK_PRIORITIES: Final = frozenset(PRIORITIES)
_QUICK_STATUSES: Final = frozenset(STATUSES)
_from_iso = dt.datetime.fromisoformat
_FIXED_OFFSET = dt.timezone
# Event(...) without the named tuple's Python-level __new__: every field given, in order.
_new_event = tuple.__new__
# Seconds east of UTC of the fixed offsets seen so far (whole seconds only), by tzinfo.
_OFFSETS: dict[dt.tzinfo | None, int] = {}
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_DAY: Final = 24 * 3600  # a UTC day: epoch seconds have no leap seconds


def _quick_instant(text: object) -> int | None:
    """Epoch seconds of a common ISO timestamp, or ``None`` to let parse_instant decide.

    The same integer as ``parse_instant`` (``timestamp()`` of the aware datetime),
    computed from the date's ordinal and the time of day: a UTC offset is a fixed
    number of seconds, so no time zone rules are involved.
    """
    if type(text) is not str:
        return None
    try:
        parsed = _from_iso(text)
    except ValueError:
        return None
    shift = _OFFSETS.get(parsed.tzinfo)
    if shift is None:
        shift = _offset_seconds(parsed.tzinfo)
        if shift is None:
            return None
    # Fractions of a second would round through a float in parse_instant; leave them to it.
    if parsed.microsecond or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return (
        (parsed.toordinal() - _EPOCH_ORDINAL) * _DAY
        + parsed.hour * 3600
        + parsed.minute * 60
        + parsed.second
        - shift
    )


def _offset_seconds(zone: dt.tzinfo | None) -> int | None:
    # A fixed offset of whole seconds, remembered; None for anything else
    # (no zone, zone rules, sub-second offsets), which parse_instant handles.
    if type(zone) is not _FIXED_OFFSET:
        return None
    offset = zone.utcoffset(None)
    if offset.microseconds:
        return None
    seconds = offset.days * _DAY + offset.seconds
    if len(_OFFSETS) < 4096:  # offsets are few; bound the table anyway
        _OFFSETS[zone] = seconds
    return seconds


def canonical_event(obj: dict[str, Any], seq: int, line: int) -> Event | None:
    """The fast path of :func:`parse_event`: the event, or ``None`` for the validating path.

    Takes only what the validating path would build into the very same
    :class:`Event`; anything unusual (and any number that is not an ``int``)
    is left to it.
    """
    get = obj.get
    ticket = get("ticket")
    if type(ticket) is not str or not ticket:
        return None
    at = _quick_instant(get("at"))
    event_id = get("id")
    if at is None or (event_id is not None and type(event_id) is not str):
        return None
    kind = get("type")
    if kind == "message":
        return _quick_message(
            ticket, at, seq, line, event_id, get("author"), get("public", True), get("agent")
        )
    if kind == "status":
        return _quick_status(ticket, at, seq, line, event_id, get("status"))
    if kind in ("created", "update"):
        return _quick_attributes(
            ticket, at, kind, seq, line, event_id, get("channel"), get("priority"),
            get("status"), get("customer"), get("group"), get("assignee"), get("tags"),
            get("fields"), get("author"),
        )  # fmt: skip
    if kind == "csat":
        # Only integers: a JSON decoder other than the json module may read a float
        # (or a huge integer) differently; such lines are decoded again and validated.
        score = get("score")
        return _quick_csat(ticket, at, seq, line, event_id, score) if _quick_int(score) else None
    return None  # unknown types: reported by the validating path


def canonical_values(
    seq: int,
    line: int,
    ticket: Any,
    at: Any,
    kind: Any,
    event_id: Any,
    channel: Any,
    priority: Any,
    status: Any,
    customer: Any,
    group: Any,
    assignee: Any,
    tags: Any,
    fields: Any,
    author: Any,
    public: Any,
    agent: Any,
    score: Any,
) -> Event | None:
    """The fast path of :func:`parse_event` for an event given key by key (tables).

    ``seq`` and ``line`` as for ``parse_event``; each other argument is the
    value of its key, ``None`` when absent, except
    ``public``, which is ``True`` when absent (its default). The same
    :class:`Event` as ``parse_event`` of the equivalent dict, or ``None`` when
    that dict must take the validating path (the caller then builds it).
    """
    if type(ticket) is not str or not ticket:
        return None
    at = _quick_instant(at)
    if at is None or (event_id is not None and type(event_id) is not str):
        return None
    if kind == "message":
        return _quick_message(ticket, at, seq, line, event_id, author, public, agent)
    if kind == "status":
        return _quick_status(ticket, at, seq, line, event_id, status)
    if kind in ("created", "update"):
        return _quick_attributes(
            ticket, at, kind, seq, line, event_id, channel, priority, status, customer, group,
            assignee, tags, fields, author,
        )  # fmt: skip
    # ``score - score == 0`` is false for NaN and infinities, which the full path refuses.
    if kind == "csat" and (_quick_int(score) or (type(score) is float and score - score == 0)):
        return _quick_csat(ticket, at, seq, line, event_id, score)
    return None


# The fast path's builders: the checked values of one event type, straight into the
# Event tuple (every field positional, in order). The checks are written out; they run
# once per event.


def _quick_message(
    ticket: str, at: int, seq: int, line: int, event_id: str | None,
    author: Any, public: Any, agent: Any,
) -> Event | None:  # fmt: skip
    if type(author) is not str or author not in _QUICK_AUTHORS or type(public) is not bool:
        return None
    if agent is not None and type(agent) is not str:
        return None
    return _new_event(Event, (
        ticket, at, "message", seq, line, event_id, None, None, None, None, None, None,
        None, None, author, public, agent, None,
    ))  # fmt: skip


def _quick_status(
    ticket: str, at: int, seq: int, line: int, event_id: str | None, status: Any
) -> Event | None:
    if type(status) is not str or status not in _QUICK_STATUSES:
        return None
    return _new_event(Event, (
        ticket, at, "status", seq, line, event_id, None, None, status, None, None, None,
        None, None, None, True, None, None,
    ))  # fmt: skip


def _quick_csat(
    ticket: str, at: int, seq: int, line: int, event_id: str | None, score: float
) -> Event:
    return _new_event(Event, (
        ticket, at, "csat", seq, line, event_id, None, None, None, None, None, None,
        None, None, None, True, None, float(score),
    ))  # fmt: skip


def _quick_attributes(
    ticket: str, at: int, kind: str, seq: int, line: int, event_id: str | None,
    channel: Any, priority: Any, status: Any, customer: Any, group: Any, assignee: Any,
    tags: Any, fields: Any, author: Any,
) -> Event | None:  # fmt: skip
    # A created or update event; ``None`` values are absent keys.
    if not (_optional_text(customer) and _optional_text(group) and _optional_text(assignee)):
        return None
    if tags is not None:
        if type(tags) is not list or not all(type(tag) is str for tag in tags):
            return None
        tags = tuple(tags)
    if fields is not None:
        if type(fields) is not dict or not _plain_fields(fields):
            return None
        fields = ReadOnlyMap(fields)
    if kind == "created":
        if status is None:
            status = "new"
        if type(channel) is not str or not channel.strip():
            return None
        if not _one_of_quick(priority, _QUICK_PRIORITIES) or not _one_of_quick(
            status, _QUICK_STATUSES
        ):
            return None
        if author is not None and not _one_of_quick(author, _QUICK_AUTHORS):
            return None
        return _new_event(Event, (
            ticket, at, kind, seq, line, event_id, channel.lower(), priority, status,
            customer, group, assignee, tags, fields, author, True, None, None,
        ))  # fmt: skip
    # An update: its status and author keys are not update keys (the full path ignores them).
    if not _optional_text(channel) or not (
        priority is None or _one_of_quick(priority, _QUICK_PRIORITIES)
    ):
        return None
    if all(v is None for v in (channel, priority, customer, group, assignee, tags, fields)):
        return None  # an empty update: the full path reports it
    return _new_event(Event, (
        ticket, at, kind, seq, line, event_id, channel.lower() if channel else channel, priority,
        None, customer, group, assignee, tags, fields, None, True, None, None,
    ))  # fmt: skip


# Field values the fast path keeps as they are. Floats and nested values take the
# validating path: a fast JSON decoder may read a huge integer as a float, and the
# standard library's reading of such a line is the reference.
_PLAIN_TYPES: Final = frozenset({str, int, bool, type(None)})


def _plain_fields(fields: dict[str, Any]) -> bool:
    return all(type(value) in _PLAIN_TYPES for value in fields.values())


def _quick_int(value: object) -> TypeGuard[int]:
    # An int the fast path turns into a float exactly as the full path does; a larger
    # one (beyond any float) is refused by the full path.
    return type(value) is int and -(2**63) <= value < 2**63


def _optional_text(value: object) -> bool:
    return value is None or type(value) is str


def _one_of_quick(value: object, choices: frozenset[str]) -> bool:
    # The type test first: a list or dict is not hashable and must not reach ``in``.
    return type(value) is str and value in choices


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
            raise EventError(f"'public' must be true or false, got {_kind(public)}")
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
