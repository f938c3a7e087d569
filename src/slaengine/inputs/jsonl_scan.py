"""Read the usual JSON line where it stands: a flat event object straight into an ``Event``.

Almost every line of a large history is one event object in one layout: string keys,
strings, integers and booleans, a ``fields`` object and ``tags`` list of the same, no
escapes, a space or none after each colon and comma. :func:`scan_line` reads such a line
character by character into the event :func:`~slaengine.event_fastpath.canonical_event`
would build from the decoded line, without decoding it into a dict first (decoding and
freeing that dict was most of the cost of parsing); any other line gives ``None`` and is
decoded (:mod:`slaengine.inputs.jsonl`). Compiled with mypyc (:mod:`slaengine.compiled`):
the loops over characters are native code; in the interpreter they are slower than
decoding, and :mod:`slaengine.inputs.jsonl` does not call them there.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import i64

from slaengine.event_fastpath import NOT_READ, canonical_epoch_values, instant_in
from slaengine.timeline import Event

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
# The text _plain_at checked last and found plain (a list: a native look-up when compiled).
_PLAIN: Final[list[str]] = [""]


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
    return scan_span(line, 0, len(line), number, previous)


def scan_span(line: str, begin: i64, stop: i64, number: int, previous: str) -> Event | None:
    """:func:`scan_line` of ``line[begin:stop]``, read where it stands (a line of a block of
    text: no line of its own is made)."""
    end: i64 = stop
    while end > begin:
        tail: i64 = ord(line[end - 1])
        if tail != 10 and tail != 13 and tail != 32 and tail != 9:  # noqa: PLR1714
            break
        end -= 1
    if end - begin < 2 or ord(line[begin]) != 123 or ord(line[end - 1]) != 125:  # "{", "}"
        return None
    last: i64 = end - 1
    pos: i64 = begin + 1
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
    tags: list[str] | None = None
    fields: dict[str, object] | None = None
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
            elif key == _TICKET and _plain_at(line, start, last, previous):
                # The ticket of the line before (one run of a grouped file): that string.
                ticket = previous
                pos = start + len(previous) + 1
            elif key in (_TYPE, _STATUS, _AUTHOR, _PRIORITY):
                # A word of a vocabulary (which one is checked when the event is built).
                close, word = _string(line, start, last)
                vocabulary_word = _vocabulary(word) if close >= 0 else None
                if vocabulary_word is None:
                    return None
                pos = close + 1
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
            else:
                # Text kept as it is (or under a key nobody reads): only its end is sought.
                close = _text_end(line, start, last)
                if close < 0:
                    return None
                pos = close + 1
                if key == _ID:
                    event_id = line[start:close]
                elif key == _TICKET:
                    ticket = line[start:close]
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
            pos, literal = _constant(line, pos, last)
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
            pos, number_value = _integer(line, pos, last)
            if pos < 0:
                return None
            if key == _SCORE:
                score = number_value
            elif key != _UNKNOWN:
                return None
        elif first == 123 and key == _FIELDS:
            pos, fields = _flat_object(line, pos, last)
            if pos < 0:
                return None
        elif first == 91 and key == _TAGS:
            pos, tags = _texts(line, pos, last)
            if pos < 0:
                return None
        else:  # other lists and objects, floats: the decoders' work
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
        group, assignee, tags, fields, author, public, agent, score,
    )  # fmt: skip


def _integer(line: str, pos: i64, last: i64) -> tuple[i64, int]:
    # The integer at ``pos`` (JSON's digits, at most _MAX_DIGITS) and where it ends; the
    # end is -1 for anything else (a float ends in a character that follows no value).
    negative = ord(line[pos]) == 45
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
        return -1, 0
    return pos, -value if negative else value


def _flat_object(line: str, pos: i64, last: i64) -> tuple[i64, dict[str, object] | None]:
    # The object at ``pos`` (its "{") when its values are strings, integers, booleans and
    # nulls, laid out as events are, and where it ends; the end is -1 for any other.
    found: dict[str, object] = {}
    pos += 1
    if pos < last and ord(line[pos]) == 125:
        return pos + 1, found
    while True:
        if pos >= last or ord(line[pos]) != 34:
            return -1, None
        close, _ = _string(line, pos + 1, last)
        if close < 0 or close + 1 >= last or ord(line[close + 1]) != 58:
            return -1, None
        name = line[pos + 1 : close]
        pos = close + 2
        if pos < last and ord(line[pos]) == 32:
            pos += 1
        if pos >= last:
            return -1, None
        first: i64 = ord(line[pos])
        if first == 34:
            close = _text_end(line, pos + 1, last)
            if close < 0:
                return -1, None
            found[name] = line[pos + 1 : close]
            pos = close + 1
        elif first == 45 or 48 <= first <= 57:
            pos, value = _integer(line, pos, last)
            if pos < 0:
                return -1, None
            found[name] = value
        else:
            pos, literal = _constant(line, pos, last)
            if literal == _W_NULL:
                found[name] = None
            elif literal in (_W_TRUE, _W_FALSE):
                found[name] = literal == _W_TRUE
            else:
                return -1, None
        pos, closed = _after_item(line, pos, last, 125)  # "}"
        if closed or pos < 0:
            return pos, found if closed else None


def _texts(line: str, pos: i64, last: i64) -> tuple[i64, list[str] | None]:
    # The list of strings at ``pos`` (its "[") and where it ends; -1 for any other list.
    found: list[str] = []
    pos += 1
    if pos < last and ord(line[pos]) == 93:
        return pos + 1, found
    while True:
        if pos >= last or ord(line[pos]) != 34:
            return -1, None
        close = _text_end(line, pos + 1, last)
        if close < 0:
            return -1, None
        found.append(line[pos + 1 : close])
        pos, closed = _after_item(line, close + 1, last, 93)  # "]"
        if closed or pos < 0:
            return pos, found if closed else None


def _after_item(line: str, pos: i64, last: i64, closing: i64) -> tuple[i64, bool]:
    # After an item of a list or object: where the next one starts (past a comma and at most
    # one space) and False, or just past the ``closing`` character and True; -1 for anything
    # else (the line's own closing brace, at ``last``, closes no list or object inside it).
    if pos >= last:
        return -1, False
    after: i64 = ord(line[pos])
    if after == closing:
        return pos + 1, True
    if after != 44:
        return -1, False
    pos += 1
    if pos < last and ord(line[pos]) == 32:
        pos += 1
    return pos, False


def _constant(line: str, pos: i64, last: i64) -> tuple[i64, i64]:
    # Where the word at ``pos`` ends and the word (as _word gives it) when it is null, true
    # or false; _OTHER for anything else.
    size: i64 = 5 if ord(line[pos]) == 102 else 4  # "false", or "null" and "true"
    if pos + size > last:
        return pos, _OTHER
    return pos + size, _literal(line, pos, size)


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


def _text_end(line: str, start: i64, last: i64) -> i64:
    # Where the string whose text starts at ``start`` ends (its closing quote, before
    # ``last``); -1 as for _string. _string without the word: for the text events keep.
    at = start
    while at < last:
        code: i64 = ord(line[at])
        # After the quote (34) and below the surrogates, but for the backslash: taken as
        # it is (most characters, with three tests).
        if 34 < code < 0xD800 and code != 92:
            at += 1
            continue
        if code == 34:
            return at
        if code < 32 or code == 92 or 0xD800 <= code <= 0xDFFF:
            return -1
        at += 1
    return -1


def _string(line: str, start: i64, last: i64) -> tuple[i64, i64]:
    # Where the string whose text starts at ``start`` ends (its closing quote, before
    # ``last``), and its text as _word gives it (_OTHER for text longer than 8 characters
    # or not ASCII); the end is -1 for text the decoders must read (an escape, a control
    # character, a lone surrogate) or no closing quote.
    word: i64 = 0
    at = start
    # Keys and vocabulary words are lower-case letters and "_": two tests a character.
    while at < last:
        code: i64 = ord(line[at])
        if (97 <= code <= 122 or code == 95) and word < _LONGEST:
            word = word * 256 + code
            at += 1
            continue
        if code == 34:
            return at, word
        break
    while at < last:
        code = ord(line[at])
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


def _plain_at(line: str, start: i64, last: i64, text: str) -> bool:
    # Whether the string whose text starts at ``start`` is ``text``, closed by its quote
    # before ``last``, with every character one _string takes as it is (no escape, control
    # character or lone surrogate: ``text`` may hold what an escape decoded to).
    size: i64 = len(text)
    if size == 0 or start + size >= last or ord(line[start + size]) != 34:
        return False
    at: i64 = 0
    if text is _PLAIN[0]:
        # The text checked last (a grouped file names one ticket line after line): only
        # compared, character by character (shorter than the string search's set-up).
        while at < size:
            if ord(line[start + at]) != ord(text[at]):
                return False
            at += 1
        return True
    while at < size:
        code: i64 = ord(text[at])
        if ord(line[start + at]) != code or code < 32:
            return False
        if code == 34 or code == 92 or 0xD800 <= code <= 0xDFFF:  # noqa: PLR1714 - native
            return False
        at += 1
    _PLAIN[0] = text
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


__all__ = ["scan_line", "scan_span"]
