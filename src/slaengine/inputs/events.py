"""Any events input as JSON Lines text, and read whole into timelines.

JSON Lines (plain or ``.gz``, or standard input) are read as they are; CSV and
Parquet tables become one JSON line per row (:mod:`slaengine.inputs.tables`,
:mod:`slaengine.inputs.parquet`), so every reader treats them alike.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterable, Iterator, Mapping

from slaengine.errors import Problem
from slaengine.inputs.files import is_parquet, is_stdin, is_table, open_events, source_name
from slaengine.inputs.jsonl import parse_lines
from slaengine.inputs.parquet import parquet_lines
from slaengine.inputs.tables import csv_lines
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import TimelineSet, build_timelines

_NO_MAP: Mapping[str, str] = ReadOnlyMap()


def table_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text lines of a CSV or Parquet events file."""
    if is_parquet(path):
        return parquet_lines(path)
    return csv_lines(path)


@contextlib.contextmanager
def events_stream(path: str | os.PathLike[str]) -> Iterator[Iterable[str]]:
    """The lines of an events file as JSON text (stdin for ``-``, left open afterwards)."""
    if is_table(path):
        yield table_lines(path)
        return
    stream = open_events(path)
    try:
        yield stream
    finally:
        if is_stdin(path) and isinstance(stream, io.TextIOWrapper):
            stream.detach()  # leave the process's stdin open for the caller
        else:
            stream.close()


def read_events(
    path: str | os.PathLike[str], status_map: Mapping[str, str] = _NO_MAP
) -> TimelineSet:
    """Read an events file into timelines; every unusable line is in ``problems``."""
    source = source_name(path)
    problems: list[Problem] = []
    with events_stream(path) as stream:
        events = list(parse_lines(stream, source, status_map, problems))
    return build_timelines(events, source, problems)


__all__ = ["events_stream", "read_events", "table_lines"]
