"""The fast path of event parsing: well-formed canonical events straight into ``Event`` objects.

Almost every event in a large history is well formed and uses the canonical
spellings (string ids, canonical statuses, whole-second UTC offsets, the usual
``YYYY-MM-DDTHH:MM:SSZ`` instants). Such an event is built here with a few
exact type checks; anything unusual returns ``None`` and takes the validating
path of :mod:`slaengine.event_parsing`, which builds the very same event or
raises the precise error. The fast path never accepts what the full path would
refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

from mypy_extensions import i64

from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import AUTHORS, MAX_YEAR, MIN_YEAR, PRIORITIES, STATUSES, Event

# The fixed vocabularies, each value mapped to itself: one look-up both checks a value
# and gives the one shared string for it (events keep no copy of their own). Looking
# up an unhashable value raises TypeError, which the callers turn into "not canonical".
_AUTHORS: Final = {author: author for author in AUTHORS}
_PRIORITIES: Final = {priority: priority for priority in PRIORITIES}
_STATUSES: Final = {status: status for status in STATUSES}
_from_iso: Final = dt.datetime.fromisoformat
_FIXED_OFFSET: Final = dt.timezone
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_DAY: Final = 24 * 3600  # a UTC day: epoch seconds have no leap seconds

#: Whether this module runs compiled (mypyc): instants are then read digit by digit,
#: which compiled code does fastest, and in the interpreter by the tables below.
COMPILED: Final = not __file__.endswith(".py")
# What the instant readers give for a text they leave to parse_instant: no epoch
# second of the years parse_instant accepts is anywhere near it.
_NOT_READ: Final[i64] = -(1 << 62)
#: What :func:`instant_in` gives for a text it leaves to the other readers.
NOT_READ: Final[i64] = _NOT_READ

# An instant in the usual layout is three pieces, each looked up in a table:
# "YYYY-MM-DD" (epoch seconds of that date's midnight, learned as dates are seen),
# "THH:MM" (seconds into the day) and the rest, ":SS" with its offset (the seconds
# minus the offset: "Z" and "+00:00" are known, other endings are learned from
# instants the standard parser read). Only pieces checked in full ever enter a
# table, so a hit gives what datetime.fromisoformat and the offset arithmetic give.
_DATES: dict[str, int] = {}
_MAX_DATES = 1 << 16  # not Final, so that a test can lower it in either mode
_TIMES: Final = {f"T{h:02d}:{m:02d}": h * 3600 + m * 60 for h in range(24) for m in range(60)}
_ENDINGS: dict[str, int] = {f":{s:02d}{z}": s for s in range(60) for z in ("Z", "+00:00")}
_MAX_ENDINGS: Final = 1 << 14
# Seconds east of UTC of the fixed offsets seen so far (whole seconds only), by tzinfo.
_OFFSETS: dict[dt.tzinfo | None, int] = {}


# Other short texts events repeat (agents, groups, channels ...), each kept once.
_NAMES: Final[dict[str | None, str | None]] = {}
_MAX_NAMES: Final = 1 << 16


def quick_instant(text: object) -> int | None:
    """Epoch seconds of a common ISO timestamp, or ``None`` to let ``parse_instant`` decide.

    The same integer as ``parse_instant``: whole seconds with a fixed UTC offset,
    in the years ``parse_instant`` accepts.
    """
    if type(text) is not str:
        return None
    value = digit_instant(text) if COMPILED else _NOT_READ
    if value == _NOT_READ:
        value = table_instant(text)
        if value == _NOT_READ:
            return None
    return value


def table_instant(text: str) -> int:
    """:func:`quick_instant` by table look-ups (learning the tables as it reads);
    ``_NOT_READ`` for what it leaves to ``parse_instant``."""
    date = _DATES.get(text[:10])
    time = _TIMES.get(text[10:16])
    ending = _ENDINGS.get(text[16:])
    if date is not None and time is not None and ending is not None:
        return date + time + ending
    return _learn_instant(text)


def _learn_instant(text: str) -> int:
    # The standard parser's reading; when the text has the usual layout, its date and
    # ending are remembered, so the next instant like it is three look-ups.
    try:
        parsed = _from_iso(text)
    except ValueError:
        return _NOT_READ
    shift = _OFFSETS.get(parsed.tzinfo)
    if shift is None:
        shift = _offset_seconds(parsed.tzinfo)
        if shift is None:
            return _NOT_READ
    # Fractions of a second would round through a float in parse_instant; leave them to it.
    if parsed.microsecond or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return _NOT_READ
    date = (parsed.toordinal() - _EPOCH_ORDINAL) * _DAY
    time = parsed.hour * 3600 + parsed.minute * 60
    value = date + time + parsed.second - shift
    # Only pieces the parser read as this layout's date and time are remembered.
    key = text[:10]
    if key == f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}" and text[10:16] == (
        f"T{parsed.hour:02d}:{parsed.minute:02d}"
    ):
        if len(_DATES) >= _MAX_DATES:
            _DATES.clear()
        _DATES[key] = date
        if len(_ENDINGS) < _MAX_ENDINGS:
            _ENDINGS[text[16:]] = value - date - time
    return value


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


def digit_instant(text: str) -> i64:
    """:func:`quick_instant` of ``YYYY-MM-DDTHH:MM:SS`` then ``Z`` or ``+HH:MM``/``-HH:MM``,
    read digit by digit; ``_NOT_READ`` for any other text (left to the tables).

    Takes only ASCII digits in range (a valid day of its month, hours 0 to 23, minutes
    and seconds 0 to 59, an offset under a day) and a year ``parse_instant`` accepts,
    so it gives what ``datetime.fromisoformat`` and the offset arithmetic give.
    """
    return instant_in(text, 0, len(text))


def instant_in(text: str, start: i64, end: i64) -> i64:
    """:func:`digit_instant` of ``text[start:end]``, read where it stands (no slice)."""
    size = end - start
    if size != 20 and size != 25:  # noqa: PLR1714 - two native comparisons when compiled
        return _NOT_READ
    if (
        ord(text[start + 4]) != 45  # "-"
        or ord(text[start + 7]) != 45
        or ord(text[start + 10]) != 84  # "T"
        or ord(text[start + 13]) != 58  # ":"
        or ord(text[start + 16]) != 58
    ):
        return _NOT_READ
    # The digits written out (a call each costs more than the reading): a character that
    # is not an ASCII digit makes its value or 9 less it negative, and so the "or" of all.
    y1: i64 = ord(text[start]) - 48
    y2: i64 = ord(text[start + 1]) - 48
    y3: i64 = ord(text[start + 2]) - 48
    y4: i64 = ord(text[start + 3]) - 48
    m1: i64 = ord(text[start + 5]) - 48
    m2: i64 = ord(text[start + 6]) - 48
    d1: i64 = ord(text[start + 8]) - 48
    d2: i64 = ord(text[start + 9]) - 48
    h1: i64 = ord(text[start + 11]) - 48
    h2: i64 = ord(text[start + 12]) - 48
    n1: i64 = ord(text[start + 14]) - 48
    n2: i64 = ord(text[start + 15]) - 48
    s1: i64 = ord(text[start + 17]) - 48
    s2: i64 = ord(text[start + 18]) - 48
    digits = y1 | y2 | y3 | y4 | m1 | m2 | d1 | d2 | h1 | h2 | n1 | n2 | s1 | s2
    nines = (9 - y1) | (9 - y2) | (9 - y3) | (9 - y4) | (9 - m1) | (9 - m2) | (9 - d1)
    nines |= (9 - d2) | (9 - h1) | (9 - h2) | (9 - n1) | (9 - n2) | (9 - s1) | (9 - s2)
    if digits < 0 or nines < 0:
        return _NOT_READ
    year = ((y1 * 10 + y2) * 10 + y3) * 10 + y4
    month = m1 * 10 + m2
    day = d1 * 10 + d2
    hour = h1 * 10 + h2
    minute = n1 * 10 + n2
    second = s1 * 10 + s2
    if (
        year < MIN_YEAR
        or year > MAX_YEAR
        or month < 1
        or month > 12
        or day < 1
        or hour > 23
        or minute > 59
        or second > 59
    ):
        return _NOT_READ
    # Month lengths by arithmetic: a table (a tuple) would be boxed at every look-up
    # when compiled.
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if day > (29 if leap else 28):
            return _NOT_READ
    elif day > 30 + (month + month // 8) % 2:
        return _NOT_READ
    if size == 20:
        if ord(text[start + 19]) != 90:  # "Z"
            return _NOT_READ
        shift: i64 = 0
    else:
        sign = ord(text[start + 19])
        o1: i64 = ord(text[start + 20]) - 48
        o2: i64 = ord(text[start + 21]) - 48
        o3: i64 = ord(text[start + 23]) - 48
        o4: i64 = ord(text[start + 24]) - 48
        if (o1 | o2 | o3 | o4) < 0 or ((9 - o1) | (9 - o2) | (9 - o3) | (9 - o4)) < 0:
            return _NOT_READ
        hours = o1 * 10 + o2
        minutes = o3 * 10 + o4
        if ord(text[start + 22]) != 58 or hours > 23 or minutes > 59:
            return _NOT_READ
        if sign == 43:  # "+"
            shift = hours * 3600 + minutes * 60
        elif sign == 45:  # "-"
            shift = -(hours * 3600 + minutes * 60)
        else:
            return _NOT_READ
    # Days since 1970-01-01 of the proleptic Gregorian date, counted from March so that
    # the leap day ends a year (a well-known civil-to-days formula).
    march_year: i64 = year - 1 if month <= 2 else year
    era = march_year // 400
    of_era = march_year - era * 400
    of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    days = era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second - shift


def shared_name(text: str) -> str:
    """``text`` itself, or an equal string seen before: events keep one copy of each name."""
    found = _NAMES.get(text)
    if found is not None:
        return found
    if len(_NAMES) >= _MAX_NAMES:
        _NAMES.clear()
    _NAMES[text] = text
    return text


def shared_names(values: list[str | None]) -> list[str | None]:
    """:func:`shared_name` of each text of a column (``None`` stays ``None``)."""
    if len(_NAMES) >= _MAX_NAMES:
        _NAMES.clear()
    return list(map(_NAMES.setdefault, values, values))


def canonical_event(obj: dict[str, Any], seq: int, line: int) -> Event | None:
    """The fast path of ``parse_event``: the event, or ``None`` for the validating path.

    Takes only what the validating path would build into the very same
    :class:`Event`; anything unusual (and any number that is not an ``int``)
    is left to it. Written out in one function: it runs once per input line.
    """
    ticket = obj.get("ticket")
    at = obj.get("at")
    if type(ticket) is not str or not ticket or type(at) is not str:
        return None
    if COMPILED:
        instant: int = digit_instant(at)
        if instant == _NOT_READ:
            instant = table_instant(at)
    else:  # the tables, written out: a call costs more than the look-ups in the interpreter
        date = _DATES.get(at[:10])
        time = _TIMES.get(at[10:16])
        ending = _ENDINGS.get(at[16:])
        if date is not None and time is not None and ending is not None:
            instant = date + time + ending
        else:
            instant = _learn_instant(at)
    if instant == _NOT_READ:
        return None
    event_id = obj.get("id")
    if event_id is not None and type(event_id) is not str:
        return None
    kind = obj.get("type")
    # The vocabularies by subscript: an absent or unknown value raises KeyError, an
    # unhashable one TypeError, and either takes the validating path.
    try:
        if kind == "status":
            return Event(
                ticket, instant, "status", seq, line, event_id, None, None,
                _STATUSES[obj["status"]], None, None, None, None, None, None, True, None, None,
            )  # fmt: skip
        if kind == "message":
            public = obj.get("public", True)
            agent = obj.get("agent")
            if type(public) is not bool:
                return None
            if agent is not None:
                if type(agent) is not str:
                    return None
                agent = shared_name(agent)
            return Event(
                ticket, instant, "message", seq, line, event_id, None, None, None, None, None,
                None, None, None, _AUTHORS[obj["author"]], public, agent, None,
            )  # fmt: skip
    except (KeyError, TypeError):
        return None
    if kind == "created" or kind == "update":  # noqa: PLR1714 - kind may be unhashable
        return _quick_attributes(
            ticket, instant, kind, seq, line, event_id, obj.get("channel"), obj.get("priority"),
            obj.get("status"), obj.get("customer"), obj.get("group"), obj.get("assignee"),
            obj.get("tags"), obj.get("fields"), obj.get("author"),
        )  # fmt: skip
    if kind == "csat":
        # Only integers: a JSON decoder other than the json module may read a float
        # (or a huge integer) differently; such lines are decoded again and validated.
        score = obj.get("score")
        return _quick_csat(ticket, instant, seq, line, event_id, score) if _int(score) else None
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
    """The fast path of ``parse_event`` for an event given key by key (tables).

    ``seq`` and ``line`` as for ``parse_event``; each other argument is the
    value of its key, ``None`` when absent, except
    ``public``, which is ``True`` when absent (its default). The same
    :class:`Event` as ``parse_event`` of the equivalent dict, or ``None`` when
    that dict must take the validating path (the caller then builds it).
    """
    instant = quick_instant(at)
    if instant is None:
        return None
    return canonical_epoch_values(
        seq, line, ticket, instant, kind, event_id, channel, priority, status, customer,
        group, assignee, tags, fields, author, public, agent, score,
    )  # fmt: skip


def canonical_epoch_values(
    seq: int,
    line: int,
    ticket: Any,
    at: int,
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
    """:func:`canonical_values` with the instant already in epoch seconds (a timestamp
    column read as integers): the caller vouches that ``at`` is what ``parse_instant``
    gives for the row's text."""
    if type(ticket) is not str or not ticket:
        return None
    if event_id is not None and type(event_id) is not str:
        return None
    # The vocabularies' one string for a word: one look-up (None for any other value).
    if kind == "message":
        known_author = _AUTHORS.get(author) if type(author) is str else None
        if known_author is None or type(public) is not bool:
            return None
        if agent is not None:
            if type(agent) is not str:
                return None
            agent = shared_name(agent)
        return Event(
            ticket, at, "message", seq, line, event_id, None, None, None, None, None, None,
            None, None, known_author, public, agent, None,
        )  # fmt: skip
    if kind == "status":
        known_status = _STATUSES.get(status) if type(status) is str else None
        if known_status is None:
            return None
        return Event(
            ticket, at, "status", seq, line, event_id, None, None, known_status, None,
            None, None, None, None, None, True, None, None,
        )  # fmt: skip
    if kind == "created" or kind == "update":  # noqa: PLR1714 - kind may be unhashable
        return _quick_attributes(
            ticket, at, kind, seq, line, event_id, channel, priority, status, customer, group,
            assignee, tags, fields, author,
        )  # fmt: skip
    # ``score - score == 0`` is false for NaN and infinities, which the full path refuses.
    if kind == "csat" and (_int(score) or (type(score) is float and score - score == 0)):
        return _quick_csat(ticket, at, seq, line, event_id, score)
    return None


def _quick_csat(
    ticket: str, at: int, seq: int, line: int, event_id: str | None, score: float
) -> Event:
    return Event(
        ticket, at, "csat", seq, line, event_id, None, None, None, None, None, None,
        None, None, None, True, None, float(score),
    )  # fmt: skip


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
        if not _one_of(priority, _PRIORITIES) or not _one_of(status, _STATUSES):
            return None
        if author is not None and not _one_of(author, _AUTHORS):
            return None
        return Event(
            ticket, at, "created", seq, line, event_id, shared_name(channel.lower()),
            _PRIORITIES[priority], _STATUSES[status], customer, _shared(group),
            _shared(assignee), tags, fields, _AUTHORS[author] if author else None, True, None,
            None,
        )  # fmt: skip
    # An update: its status and author keys are not update keys (the full path ignores them).
    if not _optional_text(channel) or not (priority is None or _one_of(priority, _PRIORITIES)):
        return None
    if all(v is None for v in (channel, priority, customer, group, assignee, tags, fields)):
        return None  # an empty update: the full path reports it
    return Event(
        ticket, at, "update", seq, line, event_id,
        shared_name(channel.lower()) if channel else channel,
        _PRIORITIES[priority] if priority else None, None, customer, _shared(group),
        _shared(assignee), tags, fields, None, True, None, None,
    )  # fmt: skip


def _shared(text: str | None) -> str | None:
    return None if text is None else shared_name(text)


# Field values the fast path keeps as they are. Floats and nested values take the
# validating path: a fast JSON decoder may read a huge integer as a float, and the
# standard library's reading of such a line is the reference.
_PLAIN_TYPES: Final = frozenset({str, int, bool, type(None)})


def _plain_fields(fields: dict[str, Any]) -> bool:
    return all(type(value) in _PLAIN_TYPES for value in fields.values())


def _int(value: object) -> TypeGuard[int]:
    # An int the fast path turns into a float exactly as the full path does; a larger
    # one (beyond any float) is refused by the full path.
    return type(value) is int and -(2**63) <= value < 2**63


def _optional_text(value: object) -> bool:
    return value is None or type(value) is str


def _one_of(value: object, choices: Mapping[str, str]) -> TypeGuard[str]:
    # The type test first: a list or dict is not hashable and must not reach ``in``.
    return type(value) is str and value in choices


__all__ = [
    "canonical_epoch_values",
    "canonical_event",
    "canonical_values",
    "quick_instant",
    "shared_name",
    "shared_names",
]
