"""Any help desk's CSV export mapped to ticket events through a column mapping.

Two shapes of file are read (docs/importers.md):

- **event rows**, when a ``type`` column is mapped: each row is one event
  (created, message, internal note, status, update, csat);
- **snapshot rows**, without one: each row is the state of a ticket after an
  update (an audit log); its first row creates the ticket, later rows give a
  ``status`` event when the status changed and an ``update`` event when an
  attribute did. A ticket's rows must then come in time order.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from slaengine.errors import EventError
from slaengine.event_parsing import parse_event
from slaengine.importers.base import Event, ImportFormatError, ImportOptions, ImportReport, iso
from slaengine.importers.mapping import KEYS, Mapping, load_mapping
from slaengine.inputs.files import open_text
from slaengine.problems import did_you_mean

KIND: Final = "a CSV export matching the mapping"
_ATTRIBUTES: Final = ("channel", "priority", "customer", "group", "assignee", "tags")
_TRUE: Final = frozenset({"true", "1", "yes", "y", "public"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "private", "internal"})


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every row of a CSV (``.csv.gz`` too), read with ``options.mapping``."""
    mapping = load_mapping(options.mapping)
    source = str(path)
    with open_text(path, newline="") as stream:
        reader = _records(stream, mapping.delimiter)
        header = next(reader, None)
        if header is None:
            raise ImportFormatError(source, KIND, "the file is empty")
        positions = {name.strip(): n for n, name in enumerate(header[1])}
        columns = _columns(mapping, positions, source)
        rows = _Rows(mapping, columns, options, source)
        if "type" in columns:
            yield from rows.event_rows(reader)
        else:
            yield from rows.snapshot_rows(reader)


def _records(stream: IO[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(stream, delimiter=delimiter)
    previous = 0
    for fields in reader:
        start, previous = previous + 1, reader.line_num
        if fields:
            yield start, fields


def _columns(mapping: Mapping, positions: dict[str, int], source: str) -> dict[str, int]:
    """Position of each mapped key's column; a missing mapped column means another file."""
    wanted: dict[str, str]
    if mapping.source == "(no mapping file)":
        wanted = {key: key for key in KEYS if key in positions}
        wanted.update((name, name) for name in positions if name.startswith("fields."))
        required = ["ticket", "at"]
    else:
        wanted = dict(mapping.columns)
        required = list(wanted)
    missing = [wanted.get(key, key) for key in required if wanted.get(key, key) not in positions]
    if missing:
        where = "" if mapping.source == "(no mapping file)" else f" named in {mapping.source}"
        # A near miss is a typo in the mapping (or the header), not another kind of file.
        hint = did_you_mean(missing[0], list(positions)) if len(missing) == 1 else ""
        raise ImportFormatError(
            source, KIND, "no column " + ", ".join(repr(m) for m in missing) + where + hint
        )
    return {key: positions[name] for key, name in wanted.items()}


class _Rows:
    """Turns parsed CSV records into events for one file."""

    def __init__(
        self, mapping: Mapping, columns: dict[str, int], options: ImportOptions, source: str
    ) -> None:
        self.mapping = mapping
        self.columns = columns
        self.zone = options.timezone
        self.report: ImportReport = options.report
        self.source = source

    def get(self, fields: list[str], key: str) -> Any:
        """The row's value of ``key``, translated; the default when the cell is empty."""
        position = self.columns.get(key)
        raw = fields[position].strip() if position is not None and position < len(fields) else ""
        if not raw:
            return self.mapping.defaults.get(key)
        return self.mapping.translate(key, raw)

    def instant(self, text: str) -> dt.datetime:
        if self.mapping.time_format:
            parsed = dt.datetime.strptime(text, self.mapping.time_format)
        else:
            parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        return parsed.replace(microsecond=0)

    def common(self, line: int, fields: list[str]) -> tuple[str, dt.datetime] | None:
        """The row's ticket and instant, or ``None`` (reported) when either is unusable."""
        ticket = self.get(fields, "ticket")
        if not ticket:
            self.report.skip(self.source, line, "empty ticket")
            return None
        text = self.get(fields, "at")
        try:
            return str(ticket), self.instant(str(text or ""))
        except ValueError:
            expected = self.mapping.time_format or "ISO 8601"
            self.report.skip(self.source, line, "bad timestamp", f"{text!r} is not {expected}")
            return None

    def usable(
        self, records: Iterator[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, list[str], str, dt.datetime]]:
        """``(line, fields, ticket, instant)`` of each row :meth:`common` accepts; counts all."""
        for line, fields in records:
            self.report.rows += 1
            found = self.common(line, fields)
            if found is not None:
                yield line, fields, *found

    def attributes(self, fields: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key in (*_ATTRIBUTES, "status"):
            value = self.get(fields, key)
            if value is None or value == "":
                continue
            found[key] = _tags(value) if key == "tags" else value
        extra = {
            key.removeprefix("fields."): self.get(fields, key)
            for key in self.columns
            if key.startswith("fields.")
        }
        extra = {name: value for name, value in extra.items() if value not in (None, "")}
        if extra:
            found["fields"] = extra
        return found

    def checked(self, line: int, event: Event) -> Event | None:
        """``event`` if it is a valid canonical event; otherwise reported and ``None``.

        A status name slaengine does not know passes: policies map custom
        statuses (``statuses:``), so only evaluation can tell it is unknown.
        """
        status = event.get("status")
        custom = {status: "open"} if isinstance(status, str) and status else {}
        try:
            parse_event(event, line=line, status_map=custom)
        except EventError as exc:
            self.report.skip(self.source, line, "bad event", exc.reason)
            return None
        return event

    # -- one event per row -----------------------------------------------------------------

    def event_rows(self, records: Iterator[tuple[int, list[str]]]) -> Iterator[Event]:
        for line, fields, ticket, at in self.usable(records):
            kind = self.get(fields, "type")
            if kind == "skip":
                self.report.note("rows of a type the mapping skips")
                continue
            ident = self.get(fields, "id") or f"row{line}"
            event: Event = {"id": str(ident), "ticket": ticket, "at": iso(at)}
            if kind == "note":
                event.update(type="message", public=False)
            else:
                event["type"] = kind
            event.update(self.row_keys(str(event["type"]), fields))
            if kind == "note":
                event["public"] = False
            checked = self.checked(line, event)
            if checked is not None:
                yield checked

    def row_keys(self, kind: str, fields: list[str]) -> dict[str, Any]:
        """The keys an event of ``kind`` takes from the row."""
        keys: dict[str, Any] = {}
        if kind in {"created", "update"}:
            keys.update(self.attributes(fields))
            if kind == "update":
                keys.pop("status", None)
            if kind == "created" and self.get(fields, "author"):
                keys["author"] = self.get(fields, "author")
        elif kind == "message":
            keys["author"] = self.get(fields, "author")
            public = self.get(fields, "public")
            if public is not None:
                keys["public"] = _boolean(public)
            agent = self.get(fields, "agent")
            if agent and keys["author"] == "agent":
                keys["agent"] = str(agent)
        elif kind == "status":
            keys["status"] = self.get(fields, "status")
        elif kind == "csat":
            score = self.get(fields, "score")
            keys["score"] = _number(score)
        return {key: value for key, value in keys.items() if value is not None}

    # -- one ticket state per row ----------------------------------------------------------

    def snapshot_rows(self, records: Iterator[tuple[int, list[str]]]) -> Iterator[Event]:
        state: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        for line, fields, ticket, at in self.usable(records):
            now = self.attributes(fields)
            base: Event = {"ticket": ticket, "at": iso(at)}
            if ticket not in state:
                created: Event = {"id": "created", **base, "type": "created", **now}
                if self.get(fields, "author"):
                    created["author"] = self.get(fields, "author")
                if self.checked(line, created) is not None:
                    state[ticket] = (at, now)
                    yield created
                continue
            last_at, last = state[ticket]
            if at < last_at:
                self.report.skip(self.source, line, "row earlier than the ticket's previous row")
                continue
            update: Event = {"id": f"row{line}-update", **base, "type": "update"}
            for key, value in now.items():
                if key == "status" or last.get(key) == value:
                    continue
                if key == "fields":
                    changed = {k: v for k, v in value.items() if last.get("fields", {}).get(k) != v}
                    if changed:
                        update[key] = changed
                else:
                    update[key] = value
            merged = {**last, **now}
            merged["fields"] = {**last.get("fields", {}), **now.get("fields", {})}
            if len(update) > 4 and self.checked(line, update) is not None:
                yield update
            status = now.get("status")
            if status is not None and status != last.get("status", "new"):
                event: Event = {"id": f"row{line}-status", **base, "type": "status",
                                "status": status}  # fmt: skip
                if self.checked(line, event) is not None:
                    yield event
            state[ticket] = (at, merged)


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(tag) for tag in value]
    text = str(value)
    separator = ";" if ";" in text else ","
    return [tag.strip() for tag in text.split(separator) if tag.strip()]


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return value  # reported by the event check


def _number(value: Any) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # reported by the event check
    return int(number) if number.is_integer() else number
