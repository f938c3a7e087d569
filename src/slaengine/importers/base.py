"""Shared types of the importers: the importer record, its options and its report."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from slaengine.errors import UserError
from slaengine.inputs.files import open_text

Event = dict[str, Any]
Row = TypeVar("Row")
#: A byte order mark some exports start with; it is not part of the first name.
BOM = "\ufeff"

# Bytes read per step by the streaming JSON reader: large enough that a
# conversation rarely straddles many reads, small enough to stay streaming.
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Skip:
    """One source row that could not be turned into events, and why.

    ``reason`` is short and fixed (it groups skips in the summary); ``detail``
    names the offending value.
    """

    source: str
    line: int
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason}" + (f": {self.detail}" if self.detail else "")


@dataclass(slots=True)
class ImportReport:
    """What an import read and left out; filled in while its events are consumed."""

    rows: int = 0
    skipped: list[Skip] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    def skip(self, source: str, line: int, reason: str, detail: str = "") -> None:
        """Record one skipped row."""
        self.skipped.append(Skip(source, line, reason, detail))

    def note(self, what: str) -> None:
        """Count one thing worth knowing that skipped nothing (a ticket imported partly)."""
        self.notes[what] += 1

    def reasons(self) -> Counter[str]:
        """How many rows were skipped for each reason."""
        return Counter(skip.reason for skip in self.skipped)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """Settings of one import.

    ``timezone`` is the zone of source timestamps that carry no UTC offset.
    ``report`` collects rows read and rows skipped. ``mapping`` is the column
    mapping file of the generic ``csv`` kind.
    """

    timezone: dt.tzinfo = dt.UTC
    report: ImportReport = field(default_factory=ImportReport)
    mapping: Path | None = None


EventsFunction = Callable[[Path, ImportOptions], Iterator[Event]]


@dataclass(frozen=True, slots=True)
class Importer:
    """A source kind: its name, a one-line description and its event mapping.

    ``events(path, options)`` yields canonical event dicts (see docs/events.md)
    lazily, reading the source as it goes.
    """

    name: str
    description: str
    events: EventsFunction


def iso(instant: dt.datetime) -> str:
    """An aware datetime as ISO 8601 to the second; UTC is written ``Z``."""
    if instant.utcoffset() == dt.timedelta(0):
        return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.isoformat(timespec="seconds")


def csv_rows(stream: IO[str], bare_cr: bool = False) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each CSV record of a stream opened with ``newline=''``.

    ``bare_cr`` treats a lone carriage return as a space rather than a line end:
    some exports leave raw ``\\r`` characters in unquoted text; the stream must
    then be opened with ``newline='\\n'``.
    """
    lines: Iterable[str] = (line.replace("\r", " ") for line in stream) if bare_cr else stream
    reader = csv.reader(lines)
    previous = 0
    for fields in reader:
        start, previous = previous + 1, reader.line_num
        if fields:
            yield start, fields


Record = tuple[int, list[str]]  # (first line, fields) of one CSV record


class ImportFormatError(UserError):
    """The file is not of the kind asked for: nothing of it can be imported.

    Raised before any event is written, so a wrong ``KIND`` never yields an
    empty output that looks like success.
    """

    def __init__(self, source: str, kind: str, detail: str) -> None:
        self.source = source
        self.kind = kind
        self.detail = detail
        super().__init__(f"{source}: not {kind} ({detail})")


def header_columns(
    rows: Iterator[Record], required: Iterable[str], source: str, kind: str
) -> dict[str, int]:
    """Column positions from a CSV's header record.

    Raises :class:`ImportFormatError` when the file is empty or lacks a
    required column: it is then another kind of file, not a damaged one.
    """
    header = next(rows, None)
    if header is None:
        raise ImportFormatError(source, kind, "the file is empty")
    columns = {name.strip().lstrip(BOM): n for n, name in enumerate(header[1])}
    missing = [c for c in required if c not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ImportFormatError(source, kind, f"no column {shown}{more}")
    return columns


def contiguous_groups(
    rows: Iterable[Record],
    columns: dict[str, int],
    key: str,
    report: ImportReport,
    source: str,
    *,
    empty: str,
    scattered: str,
) -> Iterator[tuple[str, list[Record]]]:
    """Consecutive CSV records that share the value of column ``key``.

    Audit logs list each case's rows together; a record with the wrong number of
    columns, an empty key (reason ``empty``) or a key seen in an earlier group
    (reason ``scattered``) is reported and skipped. Counts every record read.
    """
    done: set[str] = set()
    current, group = "", list[Record]()
    for line, fields in rows:
        report.rows += 1
        if len(fields) != len(columns):
            report.skip(source, line, "wrong number of columns", str(len(fields)))
            continue
        value = fields[columns[key]].strip()
        if value != current:
            if group:
                yield current, group
                done.add(current)
            current, group = value, []
        if not value:
            report.skip(source, line, empty)
            continue
        if value in done:
            report.skip(source, line, scattered, value)
            continue
        group.append((line, fields))
    if group:
        yield current, group


def case_rows(
    path: Path,
    required: Iterable[str],
    key: str,
    report: ImportReport,
    parse: Callable[[int, list[str], dict[str, int]], Row | None],
    *,
    kind: str,
    empty: str,
    scattered: str,
) -> Iterator[tuple[str, list[Row]]]:
    """Each case's parsed rows from a CSV audit log, in file order.

    The header must name the ``required`` columns (:func:`header_columns`,
    ``kind`` names the file in its error); records are grouped by column ``key``
    (:func:`contiguous_groups`); ``parse(line, fields, columns)`` returns a row
    or ``None`` for a record it reported and skipped. A case left without rows
    is dropped.
    """
    source = str(path)
    with open_text(path, newline="") as stream:
        rows = csv_rows(stream)
        columns = header_columns(rows, required, source, kind)
        groups = contiguous_groups(
            rows, columns, key, report, source, empty=empty, scattered=scattered
        )
        for value, records in groups:
            parsed = (parse(line, fields, columns) for line, fields in records)
            group = [row for row in parsed if row is not None]
            if group:
                yield value, group


def status_event(event_id: str, ticket: str, at: str, status: str) -> Event:
    """A ``status`` event of ``ticket`` at ``at`` (ISO 8601) to ``status``."""
    return {"id": event_id, "ticket": ticket, "at": at, "type": "status", "status": status}


class JsonArrayError(ValueError):
    """The stream is not a JSON array; ``line`` is where reading stopped."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def json_array_items(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    """``(line, item)`` of each element of a top-level JSON array, read incrementally.

    Only one element (plus a read buffer) is in memory at a time. Raises
    :class:`JsonArrayError` when the text is not an array or is cut off.
    """
    decoder = json.JSONDecoder()
    buffer, pos, line, eof = "", 0, 1, False

    def fill() -> bool:
        nonlocal buffer, pos, eof
        chunk = stream.read(_CHUNK)
        buffer, pos = buffer[pos:] + chunk, 0
        eof = not chunk
        return bool(chunk)

    def skip_space(also: str = "") -> None:
        nonlocal pos, line
        while True:
            while pos < len(buffer) and (buffer[pos].isspace() or buffer[pos] in also):
                line += buffer[pos] == "\n"
                pos += 1
            if pos < len(buffer) or not fill():
                return

    skip_space()
    if pos >= len(buffer) or buffer[pos] != "[":
        raise JsonArrayError("not a JSON list", line)
    pos += 1
    while True:
        skip_space(",")
        if pos >= len(buffer):
            raise JsonArrayError("the JSON list is cut off", line)
        if buffer[pos] == "]":
            return
        while True:
            try:
                item, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if eof or not fill():
                    raise JsonArrayError(f"not valid JSON: {exc.msg}", line) from None
                continue
            # A number at the buffer's end may continue in the next chunk.
            if end == len(buffer) and not eof and fill():
                continue
            break
        yield line, item
        line += buffer.count("\n", pos, end)
        pos = end


JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


def json_files(path: Path) -> list[Path]:
    """``path`` itself, or for a directory every JSON export file in it, in name order."""
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.iterdir() if p.name.lower().endswith(JSON_SUFFIXES))


def json_documents(path: Path, kind: str) -> Iterator[tuple[int, Any]]:
    """``(line, document)`` of a JSON file (one document, line 0) or JSON Lines (one a line).

    ``.gz`` files are read compressed. A file that is not JSON at all is
    another kind of file: :class:`ImportFormatError` names it.
    """
    from slaengine.inputs.files import open_text

    source = str(path)
    lines = path.name.lower().endswith((".jsonl", ".jsonl.gz"))
    with open_text(path) as stream:
        if not lines:
            try:
                yield 0, json.loads(stream.read().lstrip(BOM))  # line 0: the whole file
            except json.JSONDecodeError as exc:
                raise ImportFormatError(
                    source, kind, f"not valid JSON at line {exc.lineno}: {exc.msg}"
                ) from None
            return
        for number, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text.lstrip(BOM) if number == 1 else text)
            except json.JSONDecodeError as exc:
                raise ImportFormatError(
                    source, kind, f"line {number} is not valid JSON: {exc.msg}"
                ) from None


def parse_time(value: object) -> dt.datetime:
    """An ISO 8601 timestamp with a UTC offset (``Z`` too), floored to the second.

    Raises ``ValueError`` naming the value when it is missing or has no offset.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"timestamp missing or not a string: {value!r}")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return parsed.replace(microsecond=0)
