"""Read ticket events from JSON Lines (plain or gzip) into timelines, reporting bad lines."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import orjson

from slaengine.compressed import open_text
from slaengine.errors import EventError, Problem
from slaengine.tabular import is_table, table_lines
from slaengine.timeline import Event, TimelineSet, build_timelines, canonical_event, parse_event

_NO_MAP: Mapping[str, str] = MappingProxyType({})


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
    # The usual line is one canonical event: orjson decodes it about twice as fast
    # as the standard library, and the fast path takes only values both read alike
    # (strings, booleans, integers). Everything else is decoded by the standard
    # library and validated in full, so results and problems do not depend on orjson.
    if line[:1] == "{":
        try:
            quick = _loads(line)
        except orjson.JSONDecodeError:
            pass
        else:
            if type(quick) is dict:
                event = canonical_event(quick, number, number)
                if event is not None:
                    return event
    obj = _decode_object(line)
    if obj is None:
        if not line.strip():
            return None
        try:
            obj = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(source, number, exc.colno, "E401", f"not valid JSON: {exc.msg}")
            )
            return None
    try:
        return parse_event(obj, seq=number, line=number, status_map=status_map)
    except EventError as exc:
        problems.append(Problem(source, number, 0, "E400", exc.reason))
        return None


_loads = orjson.loads
# The decoder's C scanner (set in JSONDecoder.__init__; typeshed does not declare it).
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


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
    except (StopIteration, ValueError):
        return None
    rest = len(line) - end
    if rest == 0 or (rest == 1 and line[end] == "\n"):
        return obj
    return None


def open_events(path: str | os.PathLike[str]) -> IO[str]:
    """Open an events file for reading text; ``.gz`` files are decompressed; ``-`` is stdin."""
    if str(path) == "-":
        import sys

        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return open_text(path)


@contextlib.contextmanager
def events_stream(path: str | os.PathLike[str]) -> Iterator[Iterable[str]]:
    """The lines of an events file as JSON text (stdin for ``-``, left open afterwards).

    JSON Lines (plain or ``.gz``) are read as they are; CSV and Parquet tables
    are turned into one JSON line per row (see :mod:`slaengine.tabular`).
    """
    if is_table(path):
        yield table_lines(path)
        return
    stream = open_events(path)
    try:
        yield stream
    finally:
        if str(path) == "-" and isinstance(stream, io.TextIOWrapper):
            stream.detach()  # leave the process's stdin open for the caller
        else:
            stream.close()


def source_name(path: str | os.PathLike[str]) -> str:
    """How problems name an events file (``<stdin>`` for ``-``)."""
    return "<stdin>" if str(path) == "-" else str(Path(path))


def read_events(
    path: str | os.PathLike[str], status_map: Mapping[str, str] = _NO_MAP
) -> TimelineSet:
    """Read a JSON Lines file into timelines; every unusable line is in ``problems``."""
    source = source_name(path)
    problems: list[Problem] = []
    with events_stream(path) as stream:
        events = list(parse_lines(stream, source, status_map, problems))
    return build_timelines(events, source, problems)


__all__ = [
    "events_stream",
    "open_events",
    "parse_line",
    "parse_lines",
    "parse_numbered",
    "read_events",
    "source_name",
]
