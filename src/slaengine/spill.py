"""Group unsorted events by ticket with bounded memory: a partitioned spill to disk.

Events of one ticket can be anywhere in a large input. One pass reads each line,
decodes just enough to find its ticket and appends the raw line (with its line
number) to one of ``n`` partition files chosen by a stable hash of the ticket.
Every ticket then lies wholly in one partition, which is small enough to parse,
group and evaluate in memory, and partitions can be processed in parallel. Peak
memory is one partition per worker, not the whole history.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from slaengine.errors import Problem
from slaengine.eventlog import parse_numbered
from slaengine.timeline import TimelineSet, build_timelines

_NO_MAP: Mapping[str, str] = MappingProxyType({})
# Lines per partition aimed at; more partitions cost file handles, fewer cost memory.
LINES_PER_PARTITION = 200_000


@dataclass(slots=True)
class Spill:
    """Partition files of one input, with what was learnt while splitting it."""

    source: str
    paths: list[Path]
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)


def partition_of(ticket: str, partitions: int) -> int:
    """The partition of a ticket id: a stable hash, the same in every process and run."""
    return zlib.crc32(ticket.encode("utf-8")) % partitions


_TICKET = re.compile(r'"ticket"\s*:\s*(?:"([^"\\]*)"|(-?\d+)\s*[,}])')


def ticket_of(line: str) -> str | None:
    """The ticket id of one JSON Lines event, as ``parse_event`` will read it.

    A regular expression finds it without decoding the line; lines where it
    could mislead (an escape in the id, or a nested object before the key)
    are decoded properly. ``None`` when the line has no usable ticket.
    """
    found = _TICKET.search(line)
    if found is not None:
        nested = line.find("{", 1)
        if nested == -1 or nested > found.start():
            return found.group(1) if found.group(1) is not None else found.group(2)
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    ticket = obj.get("ticket") if isinstance(obj, dict) else None
    if isinstance(ticket, bool) or not isinstance(ticket, str | int):
        return None
    return str(ticket)


def spill(lines: Iterable[str], directory: Path, partitions: int, source: str) -> Spill:
    """Split JSON Lines into ``partitions`` files under ``directory`` by ticket.

    Each stored line is ``NUMBER<TAB>JSON`` so later problems keep the input's
    line numbers. Lines that are not JSON objects with a ticket are reported
    here or left to the parser (partition 0), never dropped silently.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"part-{i:04d}.tsv" for i in range(partitions)]
    outputs = [path.open("w", encoding="utf-8") for path in paths]
    result = Spill(source, paths)
    try:
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            result.lines = number
            ticket = ticket_of(text)
            # A line without a findable ticket goes to partition 0, whose parser
            # reports it (bad JSON, missing ticket) with this line number.
            index = partition_of(ticket, partitions) if ticket is not None else 0
            outputs[index].write(f"{number}\t{text}\n")
    finally:
        for output in outputs:
            output.close()
    return result


def read_partition(path: Path, source: str, status_map: Mapping[str, str] = _NO_MAP) -> TimelineSet:
    """Parse and group one partition file; problems carry the original line numbers."""
    problems: list[Problem] = []
    with path.open(encoding="utf-8") as stream:
        numbered = (
            (int(number), text) for number, _, text in (row.partition("\t") for row in stream)
        )
        events = list(parse_numbered(numbered, source, status_map, problems))
    built = build_timelines(events, source)
    built.problems[:0] = problems
    built.problems.sort(key=lambda p: p.line)
    return built


def partitions_for(path: str | os.PathLike[str]) -> int:
    """A partition count for an input file, from its size (at least 1)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 16
    # Roughly 100 bytes a line uncompressed, 10 bytes compressed.
    compressed = str(path).lower().endswith((".gz", ".parquet", ".pq"))
    per_line = 10 if compressed else 100
    return max(1, min(1024, size // per_line // LINES_PER_PARTITION + 1))


__all__ = [
    "LINES_PER_PARTITION",
    "Spill",
    "partition_of",
    "partitions_for",
    "read_partition",
    "spill",
]
