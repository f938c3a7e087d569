"""Parse JSON Lines into events: one line at a time, each bad line a located problem."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final

from slaengine.errors import EventError, Problem
from slaengine.event_fastpath import canonical_event
from slaengine.event_parsing import parse_event
from slaengine.inputs.tables import ROW_PROBLEM
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event

_NO_MAP: Mapping[str, str] = ReadOnlyMap()


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
    if line[:1] == "{":
        try:
            quick = _loads(line)
        except ValueError:  # orjson.JSONDecodeError is one
            pass
        else:
            if type(quick) is dict:
                event = canonical_event(quick, number, number)
                if event is not None:
                    return event
    return _parse_checked(line, number, source, status_map, problems)


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
    loads = _loads
    quick = canonical_event
    append = events.append
    last = 0
    for line in lines:
        if line[:1] == "{":
            try:
                obj = loads(line)
            except ValueError:
                obj = None
            if type(obj) is dict:
                event = quick(obj, number, number)
                if event is not None:
                    append(event)
                    last = number
                    number += 1
                    continue
        event = _parse_checked(line, number, source, status_map, problems)
        if event is not None:
            append(event)
            last = number
        elif line.strip():
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
    loads = _loads
    quick = canonical_event
    append = events.append
    for row in rows:
        number_text, _, line = row.partition("\t")
        number = int(number_text)
        if line[:1] == "{":
            try:
                obj = loads(line)
            except ValueError:
                obj = None
            if type(obj) is dict:
                event = quick(obj, number, number)
                if event is not None:
                    append(event)
                    continue
        event = _parse_checked(line, number, source, status_map, problems)
        if event is not None:
            append(event)


class LineError(ValueError):
    """A line that does not decode to a usable JSON value; ``column`` 0 when unknown."""

    def __init__(self, reason: str, column: int = 0, code: str = "E401") -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column
        self.code = code


#: What :func:`decode_line` gives for a blank line.
BLANK: Final = object()
#: Deepest nesting of lists and objects an event line may have: events are shallow,
#: and deeper values could not be written back out (orjson stops at 254 levels).
MAX_DEPTH: Final = 64
# A character that is not text: a byte that was not UTF-8 (read with "surrogateescape",
# it becomes a lone surrogate), or a lone surrogate written as a \u escape.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONG_NUMBER: Final = re.compile(r"-?[0-9]{1000,}")
_CONSTANT: Final = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


def _refuse_constant(name: str) -> Any:
    raise LineError(f"{name} is not a JSON number; give a finite number or leave the key out")


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_line(line: str) -> Any:
    """The JSON value on one line (its line break stripped); :data:`BLANK` for a blank line.

    Raises :class:`LineError`, never anything else, for what one line must not do to
    a run: bad JSON, ``NaN`` or ``Infinity``, a number too long to convert, nesting
    deeper than :data:`MAX_DEPTH`, bytes that are not UTF-8 (streams are read with
    ``errors="surrogateescape"``) and lone surrogate escapes such as ``"\\ud800"``.
    """
    if line.startswith(ROW_PROBLEM):
        column, _, reason = line[len(ROW_PROBLEM) :].partition("\t")
        raise LineError(reason.rstrip("\r\n"), int(column) if column.isdigit() else 0)
    bad = _SURROGATE.search(line) if not line.isascii() else None
    if bad is not None:
        raise LineError(f"not UTF-8 text: {_byte_of(bad.group())} cannot be read", bad.start() + 1)
    obj = _decode_object(line)
    if obj is None:
        if not line.strip():
            return BLANK
        text = line.rstrip("\r\n")
        try:
            obj = _DECODER.decode(text)
        except json.JSONDecodeError as exc:
            raise LineError(f"not valid JSON: {exc.msg}", exc.colno) from None
        except LineError as exc:
            found = _CONSTANT.search(text)
            exc.column = found.start() + 1 if found is not None else 0
            raise
        except RecursionError:
            raise LineError(f"nested more than {MAX_DEPTH} levels deep") from None
        except ValueError:  # an integer longer than int's conversion limit (4,300 digits)
            found = _LONG_NUMBER.search(text)
            raise LineError(
                "a number has too many digits to be read",
                found.start() + 1 if found is not None else 0,
            ) from None
    # Only lines that could hold what is checked below are walked.
    deep = line.count("[") + line.count("{") > MAX_DEPTH
    if (deep or "\\u" in line) and not _plain_value(obj, MAX_DEPTH):
        if deep and _depth(obj) > MAX_DEPTH:
            raise LineError(f"nested more than {MAX_DEPTH} levels deep")
        found = _ESCAPED_SURROGATE.search(line)
        raise LineError(
            "a lone surrogate escape is not text (a \\uD800-\\uDFFF escape must be a pair)",
            found.start() + 1 if found is not None else 0,
        )
    return obj


def _byte_of(char: str) -> str:
    # The byte a "surrogateescape" character stands for (or the surrogate itself).
    code = ord(char)
    return (
        f"byte 0x{code - 0xDC00:02X}"
        if 0xDC80 <= code <= 0xDCFF
        else f"lone surrogate U+{code:04X}"
    )


def _plain_value(value: Any, depth: int) -> bool:
    """True when ``value`` nests at most ``depth`` levels and all its text is Unicode."""
    if type(value) is str:
        return _SURROGATE.search(value) is None
    if type(value) is list:
        return depth > 0 and all(_plain_value(item, depth - 1) for item in value)
    if type(value) is dict:
        return depth > 0 and all(
            _SURROGATE.search(key) is None and _plain_value(item, depth - 1)
            for key, item in value.items()
        )
    return True


def _depth(value: Any) -> int:
    # How many lists and objects are nested in ``value``, iteratively (no recursion limit).
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if type(item) is list:
            todo.extend((child, level + 1) for child in item)
        elif type(item) is dict:
            todo.extend((child, level + 1) for child in item.values())
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


# The decoder's C scanner (set in JSONDecoder.__init__; typeshed does not declare it).
_scan_once: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _decode_object(line: str) -> Any:
    """The JSON object on a line that is exactly one object (and its newline), else ``None``.

    ``json.loads`` spends about a third of its time in Python-level checks
    around the C scanner; for the usual line (``{...}`` and its newline) the scanner
    alone gives the same object. Anything else (``None``) goes through
    ``json.loads``, which decodes it or reports the error exactly.
    """
    if not line.startswith("{"):
        return None
    try:
        obj, end = _scan_once(line, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    rest = len(line) - end
    if rest == 0 or (rest == 1 and line[end] == "\n"):
        return obj
    return None


_loads: Callable[[str], Any]
try:
    from orjson import loads as _loads
except ImportError:  # an optional extra (slaengine[fast]); the C scanner reads the same
    _loads = _decode_object


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
]
