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

from slaengine.errors import EventError, Problem
from slaengine.event_fastpath import canonical_event
from slaengine.event_parsing import parse_event
from slaengine.inputs.jsonl_decode import BLANK, MAX_DEPTH, LineError, decode_line, fast_loads
from slaengine.inputs.jsonl_scan import scan_line, scan_span
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event, TicketRuns

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
    return event if event is not None else _loaded(line, number)


def _loaded(line: str, number: int) -> Event | None:
    # The event on a usual line decoded by the fastest decoder, else None.
    if not line.startswith("{"):
        return None
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


def parse_texts(
    texts: Iterable[str],
    number: int,
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    runs: TicketRuns,
) -> tuple[int, int]:
    """:func:`parse_block` of the lines of blocks of text, each block whole lines
    (``block.split("\\n")``), numbered from ``number``; the events handed to ``runs``
    block by block, grouped while still in the processor's cache. The next line's number
    and the last non-blank line's (0 for none).

    Compiled, the lines are read where they stand in their block (no string a line);
    in the interpreter, each block is split and read by :func:`parse_block`.
    """
    last = 0
    for text in texts:
        events: list[Event] = []
        if READS_IN_PLACE:
            number, found = _parse_spans(
                text, number, source, status_map, problems, events, runs.ticket
            )
        else:
            number, found = parse_block(
                text.split("\n"), number, source, status_map, problems, events
            )
        last = found or last
        runs.extend(events)
    return number, last


def _parse_spans(
    text: str,
    number: int,
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
    previous: str,
) -> tuple[int, int]:
    # parse_block of text.split("\n") (``previous``: the ticket of the line before the
    # block), each usual line read in its place, any other sliced out and decoded.
    size = len(text)
    last = 0
    start = 0
    while True:
        newline = text.find("\n", start)
        end = size if newline < 0 else newline
        event = scan_span(text, start, end, number, previous)
        if event is None:
            line = text[start:end]
            event = _loaded(line, number)
            if event is None:
                event = _parse_checked(line, number, source, status_map, problems)
                if event is None and line.strip():
                    last = number
        if event is not None:
            events.append(event)
            previous = event.ticket
            last = number
        number += 1
        if newline < 0:
            return number, last
        start = newline + 1


def parse_numbered_block(
    lines: Iterable[str],
    numbers: Iterable[int],
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
) -> None:
    """:func:`parse_line` of ``lines``, each numbered by the next of ``numbers`` (a spill's
    partition files); events appended to ``events``, as :func:`parse_block` does."""
    loads = fast_loads
    in_place = READS_IN_PLACE
    previous = ""
    for line, number in zip(lines, numbers, strict=True):
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
    for text in text_blocks(stream):
        yield text.split("\n")


def text_blocks(stream: IO[str]) -> Iterator[str]:
    """The text of a stream in blocks of whole lines (a large block's worth at a time),
    each without its last ``\n``: ``block.split("\n")`` is its lines."""
    carry = ""
    while True:
        block = stream.read(_CHUNK)
        if not block:
            if carry:
                yield carry
            return
        text = carry + block
        cut = text.rfind("\n")
        if cut < 0:
            carry = text
        else:
            carry = text[cut + 1 :]
            yield text[:cut]


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
    "parse_texts",
    "text_blocks",
]
