"""Read a JSON Lines file, or a directory of them, onward from a cursor: whole lines, in order.

A source is a single file, or a directory whose files matching a pattern are
read in name order. Only complete lines are read: a line still being written
(no newline yet) is left for a later read. A directory's file counts as
finished once a later-named file exists; its last line is read then even
without a newline, and reading goes on with the next file. So writers append
to the newest file only and start a new file with a name that sorts after the
others (``events-2025-12-01.jsonl``, ``events-2025-12-02.jsonl`` ...).

The cursor names the file, the byte offset and the number of lines consumed
there. Reading from the same cursor gives the same records until more is
written, so the worker, which stores the cursor with the records it took,
neither loses nor repeats a line after a restart.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slaengine.logs import get_logger
from slaengine.sources import SourceBatch, SourceRecord
from slaengine_jsonl.config import DEFAULT_PATTERN

_log = get_logger("slaengine_jsonl")

_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number"}
# A \uD800-\uDFFF escape: only a line holding one can decode to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a source: in file ``file``, after ``offset`` bytes and ``line`` lines."""

    file: str
    offset: int = 0
    line: int = 0

    def dumps(self) -> str:
        """The cursor as the JSON text the worker stores."""
        data = {"file": self.file, "offset": self.offset, "line": self.line}
        # ASCII: a file name with undecodable bytes (surrogate escapes) stays storable.
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Cursor:
        """The cursor :meth:`dumps` wrote.

        :raises ValueError: when ``text`` is not such a cursor.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"cursor {text!r} is not JSON: {exc.msg}") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("file"), str)
            or not all(
                isinstance(data.get(key), int)
                and not isinstance(data.get(key), bool)
                and data[key] >= 0
                for key in ("offset", "line")
            )
        ):
            raise ValueError(
                f"cursor {text!r} is not a jsonl cursor (file, offset and line expected)"
            )
        return cls(data["file"], data["offset"], data["line"])


def _problem(origin: str, message: str, raw: bytes) -> SourceRecord:
    # The line itself goes with the problem: the rejects table keeps it.
    return SourceRecord(origin, None, message, raw.removesuffix(b"\n").removesuffix(b"\r"))


class JsonlSource:
    """An event source reading JSON Lines from ``path``: a file, or a directory of files.

    Events are passed on as the mappings the lines hold; the live engine
    validates them (docs/events.md). A line that is not JSON, or not a JSON
    object, becomes a record with a ``problem``; blank lines are skipped.
    """

    name: str

    def __init__(self, name: str, path: Path | str, pattern: str = DEFAULT_PATTERN) -> None:
        self.name = name
        self.path = Path(path)
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"JsonlSource({self.name!r}, {str(self.path)!r}, {self.pattern!r})"

    def read(self, cursor: str | None, limit: int) -> SourceBatch:
        """At most ``limit`` records after ``cursor`` (``None``: from the first line).

        An empty batch returns ``cursor`` unchanged.

        :raises ValueError: when ``cursor`` is not a cursor this source wrote.
        """
        start = None if cursor is None else Cursor.loads(cursor)
        if limit < 1:
            return SourceBatch((), cursor)
        # List the files before reading: a file counts as finished only if a
        # later one existed before its last bytes were read.
        files = self._files()
        position = self._resume(start, files)
        records: list[SourceRecord] = []
        while position is not None:
            index = files.index(position.file)
            finished = index + 1 < len(files)
            position = self._read_file(position, limit, records, finished=finished)
            if len(records) >= limit or not finished:
                break
            position = Cursor(files[index + 1])
        if not records or position is None:
            return SourceBatch((), cursor)
        return SourceBatch(tuple(records), position.dumps())

    def _is_directory(self) -> bool:
        return self.path.is_dir()

    def _files(self) -> list[str]:
        """The names to read, in order: the directory's matching files, or the file itself."""
        if self._is_directory():
            try:
                with os.scandir(self.path) as entries:
                    return sorted(
                        entry.name
                        for entry in entries
                        if entry.is_file() and fnmatch.fnmatchcase(entry.name, self.pattern)
                    )
            except FileNotFoundError:  # removed since the check
                return []
        return [self.path.name] if self.path.is_file() else []

    def _location(self, file: str) -> Path:
        return self.path / file if self._is_directory() else self.path

    def _resume(self, start: Cursor | None, files: list[str]) -> Cursor | None:
        """Where to go on reading: the cursor's place, or the next file when its file is gone."""
        if start is None:
            return Cursor(files[0]) if files else None
        if start.file in files:
            try:
                size = self._location(start.file).stat().st_size
            except FileNotFoundError:
                size = None
            if size is not None and size < start.offset:
                _log.warning(
                    "file is shorter than the cursor: truncated or replaced; reading it again",
                    source=self.name,
                    file=str(self._location(start.file)),
                    offset=start.offset,
                    size=size,
                )
                return Cursor(start.file)
            if size is not None:
                return start
        later = [name for name in files if name > start.file]
        if not later:
            return None  # nothing after the cursor's file yet
        _log.info(
            "file of the cursor is gone; going on with the next one",
            source=self.name,
            gone=start.file,
            next=later[0],
        )
        return Cursor(later[0])

    def _read_file(
        self, position: Cursor, limit: int, records: list[SourceRecord], *, finished: bool
    ) -> Cursor:
        """Add records of ``position.file`` to ``records`` up to ``limit``; where it stopped."""
        offset, line = position.offset, position.line
        location = self._location(position.file)
        try:
            handle = location.open("rb")
        except FileNotFoundError:
            return position
        with handle:
            handle.seek(offset)
            while len(records) < limit:
                raw = handle.readline()
                if not raw or (not raw.endswith(b"\n") and not finished):
                    break  # the end, or a line still being written
                offset += len(raw)
                line += 1
                record = self._record(raw, f"{location}:{line}", first=line == 1)
                if record is not None:
                    records.append(record)
        return Cursor(position.file, offset, line)

    @staticmethod
    def _record(raw: bytes, origin: str, *, first: bool) -> SourceRecord | None:
        """The record of one line (``origin`` is ``file:line``); ``None`` for a blank line."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _problem(origin, f"E401 not valid UTF-8 (byte {exc.start + 1} of the line)", raw)
        if first:
            text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
        if not text.strip():
            return None
        try:
            value: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            return _problem(origin, f"E401 not valid JSON: {exc.msg} (column {exc.colno})", raw)
        except ValueError as exc:  # an integer beyond Python's digit limit
            return _problem(origin, f"E401 not usable JSON: {str(exc).split(':')[0]}", raw)
        except RecursionError:
            return _problem(origin, "E401 not usable JSON: nested too deeply", raw)
        if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
            return _problem(
                origin, "E401 not valid Unicode: a \\u escape names a lone surrogate", raw
            )
        if not isinstance(value, dict):
            kind = "null" if value is None else _JSON_TYPES.get(type(value), "a boolean")
            return _problem(origin, f"E400 an event must be a JSON object, got {kind}", raw)
        return SourceRecord(origin, value)


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a key or string anywhere in ``value`` cannot be written as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


__all__ = ["Cursor", "JsonlSource"]
