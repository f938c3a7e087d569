"""Parse JSON Lines into events: one line at a time, each bad line a located problem.

The usual line (one canonical event) is decoded by the fastest decoder installed and
built by :func:`~slaengine.event_fastpath.canonical_event`; every other line is decoded
and validated in full (:mod:`slaengine.inputs.jsonl_decode`,
:func:`~slaengine.event_parsing.parse_event`). Compiled with mypyc in a wheel
(:mod:`slaengine.compiled`): the block loops call the fast path natively.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Final

from mypy_extensions import i64

from slaengine.errors import EventError, Problem
from slaengine.event_fastpath import NOT_READ, canonical_epoch_values, canonical_event, instant_in
from slaengine.event_parsing import parse_event
from slaengine.inputs.jsonl_decode import BLANK, MAX_DEPTH, LineError, decode_line, fast_loads
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event

_NO_MAP: Mapping[str, str] = ReadOnlyMap()
#: Whether the usual line is read where it stands (:func:`scan_line`): when this module
#: runs compiled (mypyc), where a loop over characters is native code. The interpreter
#: decodes it instead (orjson, or the standard library's scanner), which is faster there.
READS_IN_PLACE: Final = not __file__.endswith(".py")


def parse_lines(
    lines: Iterable[str],
    source: str = "<events>",
    status_map: Mapping[str, str] = _NO_MAP,
    problems: list[Problem] | None = None,
) -> Iterator[Event]:
    """Parse JSON Lines into events; each bad line becomes a problem and is skipped.

    Blank lines are ignored. ``problems`` collects what could not be used.
    """
    return parse_numbered(enumerate(lines, start=1), source, status_map, problems)


def parse_numbered(
    lines: Iterable[tuple[int, str]],
    source: str = "<events>",
    status_map: Mapping[str, str] = _NO_MAP,
    problems: list[Problem] | None = None,
) -> Iterator[Event]:
    """Like :func:`parse_lines` for lines that carry their own line numbers."""
    found = problems if problems is not None else []
    for number, line in lines:
        event = parse_line(line, number, source, status_map, found)
        if event is not None:
            yield event


def parse_line(
    line: str, number: int, source: str, status_map: Mapping[str, str], problems: list[Problem]
) -> Event | None:
    """The event on one JSON line (``seq`` and ``line`` are ``number``).

    ``None`` for a blank line, or for an unusable one, whose problem is appended
    to ``problems``.
    """
    # The usual line is one canonical event: orjson (when installed) decodes it about
    # twice as fast as the standard library, and the fast path takes only values both
    # read alike (strings, booleans, integers). Everything else is decoded by the
    # standard library and validated in full, so results and problems do not depend
    # on orjson.
    event = _quick(line, number)
    if event is not None:
        return event
    return _parse_checked(line, number, source, status_map, problems)


def _quick(line: str, number: int) -> Event | None:
    # The event on a usual line (see parse_line), else None.
    event = scan_line(line, number, "") if READS_IN_PLACE else None
    if event is not None or not line.startswith("{"):
        return event
    try:
        obj: Any = fast_loads(line)
    except ValueError:  # orjson.JSONDecodeError is one
        return None
    if type(obj) is not dict:
        return None
    return canonical_event(obj, number, number)


def _parse_checked(
    line: str, number: int, source: str, status_map: Mapping[str, str], problems: list[Problem]
) -> Event | None:
    # Decoded by the standard library and validated in full.
    try:
        obj = decode_line(line)
    except LineError as exc:
        problems.append(Problem(source, number, exc.column, exc.code, exc.reason))
        return None
    if obj is BLANK:
        return None
    try:
        return parse_event(obj, seq=number, line=number, status_map=status_map)
    except EventError as exc:
        problems.append(Problem(source, number, 0, "E400", exc.reason))
        return None


def parse_block(
    lines: Iterable[str],
    number: int,
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
) -> tuple[int, int]:
    """:func:`parse_line` of consecutive lines numbered from ``number``, events appended to
    ``events``; the next line's number and the last non-blank line's (0 for none).

    The same events and problems as a :func:`parse_line` per line, with the usual
    line (one canonical event) decoded and built in this loop.
    """
    # The fast path written out in the loop (a call per line costs in the interpreter);
    # compiled, the calls are direct C calls.
    loads = fast_loads
    in_place = READS_IN_PLACE
    last = 0
    previous = ""
    for line in lines:
        event = scan_line(line, number, previous) if in_place else None
        if event is None and line.startswith("{"):
            try:
                obj: Any = loads(line)
            except ValueError:  # orjson.JSONDecodeError is one
                obj = None
            if type(obj) is dict:
                event = canonical_event(obj, number, number)
        if event is None:
            event = _parse_checked(line, number, source, status_map, problems)
            if event is None:
                if line.strip():
                    last = number
                number += 1
                continue
        events.append(event)
        previous = event.ticket
        last = number
        number += 1
    return number, last


def parse_numbered_block(
    rows: Iterable[str],
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
) -> None:
    """:func:`parse_line` of rows ``NUMBER<TAB>LINE`` (a spill's partition files), each line
    numbered by its row; events appended to ``events``, as :func:`parse_block` does."""
    loads = fast_loads
    in_place = READS_IN_PLACE
    previous = ""
    for row in rows:
        number_text, _, line = row.partition("\t")
        number = int(number_text)
        event = scan_line(line, number, previous) if in_place else None
        if event is None and line.startswith("{"):
            try:
                obj: Any = loads(line)
            except ValueError:
                obj = None
            if type(obj) is dict:
                event = canonical_event(obj, number, number)
        if event is None:
            event = _parse_checked(line, number, source, status_map, problems)
            if event is None:
                continue
        events.append(event)
        previous = event.ticket


_CHUNK: Final = 1 << 22


def line_blocks(stream: IO[str]) -> Iterator[list[str]]:
    """The lines of a text stream, without their ``\n``, a large block's worth at a time.

    One read and one split per 4 MiB, splitting on ``\n`` as iterating the
    stream would: far cheaper than reading it line by line.
    """
    carry = ""
    while True:
        block = stream.read(_CHUNK)
        if not block:
            if carry:
                yield [carry]
            return
        lines = (carry + block).split("\n")
        carry = lines.pop()
        yield lines


# -- the usual line read where it stands ---------------------------------------------------
#
# Keys read by the scanner: the keys an event has (parse_event reads no other), numbered.
_UNKNOWN: Final = -1
_ID: Final = 0
_TICKET: Final = 1
_AT: Final = 2
_TYPE: Final = 3
_STATUS: Final = 4
_AUTHOR: Final = 5
_AGENT: Final = 6
_CHANNEL: Final = 7
_PRIORITY: Final = 8
_CUSTOMER: Final = 9
_GROUP: Final = 10
_ASSIGNEE: Final = 11
# Keys from here on never take a string.
_PUBLIC: Final = 12
_SCORE: Final = 13
_TAGS: Final = 14
_FIELDS: Final = 15
# Digits of an integer read in place: more are left to the decoders (and a number longer
# than int's conversion limit is a problem of its line, even under a key nobody reads).
_MAX_DIGITS: Final[i64] = 18
# What _string gives for text that is not a word of at most 8 ASCII characters.
_OTHER: Final[i64] = -1
# A packed word below this has at most 7 characters: one more still fits in 63 bits.
_LONGEST: Final[i64] = 1 << 56


def _word(text: str) -> i64:
    # A word of at most 8 ASCII characters as one number: its codes in base 256 (no code
    # is 0 in a word, so words of different lengths differ); what _string gives for it.
    value: i64 = 0
    for char in text:
        value = value * 256 + ord(char)
    return value


_W_ID: Final = _word("id")
_W_TICKET: Final = _word("ticket")
_W_AT: Final = _word("at")
_W_TYPE: Final = _word("type")
_W_STATUS: Final = _word("status")
_W_AUTHOR: Final = _word("author")
_W_AGENT: Final = _word("agent")
_W_CHANNEL: Final = _word("channel")
_W_PRIORITY: Final = _word("priority")
_W_CUSTOMER: Final = _word("customer")
_W_GROUP: Final = _word("group")
_W_ASSIGNEE: Final = _word("assignee")
_W_PUBLIC: Final = _word("public")
_W_SCORE: Final = _word("score")
_W_TAGS: Final = _word("tags")
_W_FIELDS: Final = _word("fields")
_W_MESSAGE: Final = _word("message")
_W_CREATED: Final = _word("created")
_W_UPDATE: Final = _word("update")
_W_CSAT: Final = _word("csat")
_W_NEW: Final = _word("new")
_W_OPEN: Final = _word("open")
_W_PENDING: Final = _word("pending")
_W_ON_HOLD: Final = _word("on_hold")
_W_SOLVED: Final = _word("solved")
_W_CLOSED: Final = _word("closed")
_W_BOT: Final = _word("bot")
_W_SYSTEM: Final = _word("system")
_W_URGENT: Final = _word("urgent")
_W_HIGH: Final = _word("high")
_W_NORMAL: Final = _word("normal")
_W_LOW: Final = _word("low")
_W_NULL: Final = _word("null")
_W_TRUE: Final = _word("true")
_W_FALSE: Final = _word("false")


def scan_line(line: str, number: int, previous: str) -> Event | None:
    """The event on a line that is one flat JSON object in the usual layout, read where
    it stands (no decoded object); ``None`` for any other line, which the decoders take.

    What it reads is the event :func:`canonical_event` builds from the decoded line:
    every character of the line is checked (keys and separators exactly, strings free
    of escapes, control characters and lone surrogates, integers short, a key of the
    event at most once), and what it cannot vouch for is left to them. ``previous``
    is the ticket of the line before: an equal ticket is that same string.
    """
    end: i64 = len(line)
    while end > 0:
        tail: i64 = ord(line[end - 1])
        if tail != 10 and tail != 13 and tail != 32 and tail != 9:  # noqa: PLR1714
            break
        end -= 1
    if end < 2 or ord(line[0]) != 123 or ord(line[end - 1]) != 125:  # "{" and "}"
        return None
    last: i64 = end - 1
    pos: i64 = 1
    seen: i64 = 0
    instant: i64 = NOT_READ
    ticket: str | None = None
    event_id: str | None = None
    kind: str | None = None
    status: str | None = None
    author: str | None = None
    agent: str | None = None
    channel: str | None = None
    priority: str | None = None
    customer: str | None = None
    group: str | None = None
    assignee: str | None = None
    public: object = True
    score: object = None
    while True:
        # A key, its colon and at most one space.
        if pos >= last or ord(line[pos]) != 34:
            return None
        close, name = _string(line, pos + 1, last)
        if close < 0:
            return None
        key = _key_number(name)
        if key >= 0:
            bit: i64 = 1 << key
            if seen & bit:
                return None  # a key given twice: the decoders keep the last
            seen |= bit
        pos = close + 1
        if pos >= last or ord(line[pos]) != 58:  # ":"
            return None
        pos += 1
        if pos < last and ord(line[pos]) == 32:
            pos += 1
        if pos >= last:
            return None
        first: i64 = ord(line[pos])
        if first == 34:  # a string
            start = pos + 1
            if key == _AT:
                # An instant's text is read where it stands; only its closing quote is sought.
                if start + 20 < last and ord(line[start + 20]) == 34:
                    close = start + 20
                elif start + 25 < last and ord(line[start + 25]) == 34:
                    close = start + 25
                else:
                    return None
                instant = instant_in(line, start, close)
                if instant == NOT_READ:
                    return None
                pos = close + 1
            else:
                close, word = _string(line, start, last)
                if close < 0:
                    return None
                pos = close + 1
                if key in (_TYPE, _STATUS, _AUTHOR, _PRIORITY):
                    # A word of a vocabulary (which one is checked when the event is built).
                    vocabulary_word = _vocabulary(word)
                    if vocabulary_word is None:
                        return None
                    if key == _TYPE:
                        kind = vocabulary_word
                    elif key == _STATUS:
                        status = vocabulary_word
                    elif key == _AUTHOR:
                        author = vocabulary_word
                    else:
                        priority = vocabulary_word
                elif key >= _PUBLIC:
                    return None
                elif key == _TICKET:
                    ticket = previous if _same(line, start, close, previous) else line[start:close]
                elif key == _ID:
                    event_id = line[start:close]
                elif key == _AGENT:
                    agent = line[start:close]
                elif key == _CHANNEL:
                    channel = line[start:close]
                elif key == _CUSTOMER:
                    customer = line[start:close]
                elif key == _GROUP:
                    group = line[start:close]
                elif key == _ASSIGNEE:
                    assignee = line[start:close]
        elif first == 110 or first == 116 or first == 102:  # noqa: PLR1714 - null, true, false
            size: i64 = 5 if first == 102 else 4
            if pos + size > last:
                return None
            literal = _literal(line, pos, size)
            pos += size
            if literal == _W_NULL:  # as an absent key, but for public (a boolean or absent)
                if key == _PUBLIC:
                    return None
            elif literal in (_W_TRUE, _W_FALSE):
                if key == _PUBLIC:
                    public = literal == _W_TRUE
                elif key != _UNKNOWN:
                    return None
            else:
                return None
        elif first == 45 or 48 <= first <= 57:  # "-" or a digit: an integer
            negative = first == 45
            digits = pos + 1 if negative else pos
            value: i64 = 0
            pos = digits
            while pos < last:
                digit: i64 = ord(line[pos]) - 48
                if digit < 0 or digit > 9:
                    break
                value = value * 10 + digit
                pos += 1
            count = pos - digits
            if count == 0 or count > _MAX_DIGITS or (count > 1 and ord(line[digits]) == 48):
                return None
            if key == _SCORE:
                score = -value if negative else value
            elif key != _UNKNOWN:
                return None
        else:  # a list, an object, a float: the decoders' work
            return None
        # After a value: the closing brace, or a comma and at most one space.
        if pos == last:
            break
        if ord(line[pos]) != 44:
            return None
        pos += 1
        if pos < last and ord(line[pos]) == 32:
            pos += 1
    if instant == NOT_READ:
        return None
    return canonical_epoch_values(
        number, number, ticket, instant, kind, event_id, channel, priority, status, customer,
        group, assignee, None, None, author, public, agent, score,
    )  # fmt: skip


def _literal(line: str, start: i64, size: i64) -> i64:
    # The ``size`` characters at ``start`` as _word gives them, or _OTHER.
    value: i64 = 0
    at = start
    while at < start + size:
        code: i64 = ord(line[at])
        if code > 126:
            return _OTHER
        value = value * 256 + code
        at += 1
    return value


def _string(line: str, start: i64, last: i64) -> tuple[i64, i64]:
    # Where the string whose text starts at ``start`` ends (its closing quote, before
    # ``last``), and its text as _word gives it (_OTHER for text longer than 8 characters
    # or not ASCII); the end is -1 for text the decoders must read (an escape, a control
    # character, a lone surrogate) or no closing quote.
    word: i64 = 0
    at = start
    while at < last:
        code: i64 = ord(line[at])
        if code == 34:
            return at, word
        if code < 32 or code == 92 or 0xD800 <= code <= 0xDFFF:
            return -1, _OTHER
        if code > 126 or word >= _LONGEST:
            word = _OTHER
        elif word >= 0:
            word = word * 256 + code
        at += 1
    return -1, _OTHER


def _same(line: str, start: i64, end: i64, text: str) -> bool:
    # Whether line[start:end] is text.
    size: i64 = len(text)
    if end - start != size:
        return False
    at: i64 = 0
    while at < size:
        if ord(line[start + at]) != ord(text[at]):
            return False
        at += 1
    return True


def _key_number(word: i64) -> i64:
    # The number of an event's key, or _UNKNOWN for another key.
    if word == _W_ID:
        return _ID
    if word == _W_TICKET:
        return _TICKET
    if word == _W_AT:
        return _AT
    if word == _W_TYPE:
        return _TYPE
    if word == _W_STATUS:
        return _STATUS
    if word == _W_AUTHOR:
        return _AUTHOR
    if word == _W_AGENT:
        return _AGENT
    if word == _W_PUBLIC:
        return _PUBLIC
    if word == _W_CHANNEL:
        return _CHANNEL
    if word == _W_PRIORITY:
        return _PRIORITY
    if word == _W_CUSTOMER:
        return _CUSTOMER
    if word == _W_GROUP:
        return _GROUP
    if word == _W_ASSIGNEE:
        return _ASSIGNEE
    if word == _W_SCORE:
        return _SCORE
    if word == _W_TAGS:
        return _TAGS
    if word == _W_FIELDS:
        return _FIELDS
    return _UNKNOWN


def _vocabulary(word: i64) -> str | None:
    # The event type, status, author or priority a word is, most frequent first; None for
    # any other text (a status the policies map, a typo: the validating path's work).
    if word == _W_MESSAGE:
        return "message"
    if word == _W_STATUS:
        return "status"
    if word == _W_OPEN:
        return "open"
    if word == _W_PENDING:
        return "pending"
    if word == _W_AGENT:
        return "agent"
    if word == _W_CUSTOMER:
        return "customer"
    if word == _W_CREATED:
        return "created"
    if word == _W_NORMAL:
        return "normal"
    if word == _W_UPDATE:
        return "update"
    if word == _W_SOLVED:
        return "solved"
    if word == _W_CSAT:
        return "csat"
    if word == _W_HIGH:
        return "high"
    if word == _W_LOW:
        return "low"
    if word == _W_URGENT:
        return "urgent"
    if word == _W_NEW:
        return "new"
    if word == _W_ON_HOLD:
        return "on_hold"
    if word == _W_CLOSED:
        return "closed"
    if word == _W_BOT:
        return "bot"
    if word == _W_SYSTEM:
        return "system"
    return None


__all__ = [
    "BLANK",
    "MAX_DEPTH",
    "LineError",
    "decode_line",
    "line_blocks",
    "parse_block",
    "parse_line",
    "parse_lines",
    "parse_numbered",
    "parse_numbered_block",
    "scan_line",
]
