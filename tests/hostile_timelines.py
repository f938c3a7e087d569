"""Seeded hostile and time-hard event files, the same events laid out every way a reader sees.

:func:`hostile_events` draws tickets around the daylight-saving changes of
several time zones and around holidays, with pauses, reopens, priority and
region changes, out-of-order and duplicate events, and mixes in what a real
export holds by mistake: lines that are not JSON, wrong types, unknown keys,
huge numbers, bytes that are not UTF-8, lone surrogates, blank lines, very
long lines, tickets whose first lines are left out, tickets without
``created``, a second ``created``, ids of every shape, and one ticket long
enough to span several chunks. :class:`Layout` then writes the same lines
grouped by ticket (plain, with CRLF or lone CR line ends, gzip) or shuffled.

Everything depends on the seed alone. Within a ticket, events are at distinct
seconds and repeated lines are exact copies, so that the results do not depend
on the order of the lines (only the line numbers of problems do).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: A policy file whose calendars make time hard: daylight-saving changes in both
#: hemispheres, an overnight shift, a split shift, holidays on and around them, a
#: calendar chosen per ticket by a field, custom statuses that pause clocks.
HARD_POLICIES = """\
version: 1
statuses:
  waiting_on_customer: pending
  parked: on_hold
  resolved: solved
calendars:
  sydney-nights:
    timezone: Australia/Sydney
    hours:
      mon-fri: ["22:00-06:00"]
      sat: ["10:00-14:00"]
    holidays: ["2025-10-06", "12-25", {from: 2025-12-31, to: 2026-01-02}]
  new-york-split:
    timezone: America/New_York
    hours:
      mon-fri: ["08:00-12:00", "13:00-18:00"]
      sun: ["01:00-03:00"]
    holidays: ["2025-11-27", "2025-11-02", "2026-03-08", "12-24"]
  london-late:
    timezone: Europe/London
    hours:
      mon-sat: ["16:00-02:00"]
    holidays: ["2025-10-26", "2026-03-29", "12-25"]
  berlin-office:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["09:00-17:00"]
    holidays: [{country: DE, subdivision: BE}, "2025-12-24", "2025-12-31"]
calendar_maps:
  by-region:
    by: {field: region}
    map: {apac: sydney-nights, amer: new-york-split, uk: london-late}
    default: berlin-office
policies:
  - name: urgent
    match: {priority: urgent}
    calendar: by-region
    metrics:
      first_response: {targets: 20m}
      next_response: {targets: 40m}
      resolution: {targets: 3h, pause_when: [pending]}
  - name: regional
    calendar: by-region
    metrics:
      first_response: {targets: {urgent: 30m, high: 1h, normal: 6h, low: 16h}}
      periodic_update:
        targets: {urgent: 1h, high: 2h, normal: 8h, low: 24h}
        pause_when: [pending]
      resolution:
        targets: {urgent: 4h, high: 10h, normal: 30h, low: 60h}
        pause_when: [pending, on_hold]
"""

# Daylight-saving changes (UTC) from autumn 2025 to spring 2026, and holidays.
_HARD_INSTANTS = (
    "2025-10-04T15:59:00Z",  # Sydney springs forward (02:00 AEST)
    "2025-10-26T00:59:30Z",  # Berlin and London fall back
    "2025-11-02T05:30:00Z",  # New York falls back
    "2025-11-27T14:00:00Z",  # Thanksgiving
    "2025-12-24T08:00:00Z",
    "2025-12-31T23:00:00Z",  # year end
    "2026-03-08T06:59:59Z",  # New York springs forward
    "2026-03-29T00:30:00Z",  # Berlin and London spring forward
    "2026-04-04T15:00:00Z",  # Sydney falls back (03:00 AEDT)
)
#: Evaluation instants the tests choose among: in the middle of the window (many clocks
#: running, later events ignored), just after a change, and after everything.
AT_CHOICES = ("2025-11-02T07:00:00Z", "2026-03-29T02:00:00Z", "2026-04-20T00:00:00Z")
_ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Australia/Sydney", "UTC")
_CHANNELS = ("email", "web", "chat", "whatsapp", "phone", "Fax", "Twitter")
_PRIORITIES = ("urgent", "high", "normal", "low")
_STATUSES = ("open", "pending", "on_hold", "waiting_on_customer", "parked", "solved",
             "resolved", "closed", "new")  # fmt: skip
_REGIONS = ("apac", "amer", "uk", "emea", None)
# Ticket ids of unusual characters and lengths (a number is the same ticket as its text).
_ODD_IDS = (
    "ü-тикет-工单", "with space", 'quo"te', "back\\slash", "tab\there", "esc\x1bape",
    "x" * 700, "🎫-1", "ALL-CAPS", "-1", "007", "a/b:c", "line\u2028sep", "T-\u00a0nbsp",
)  # fmt: skip
# Lines that are not events, each a problem of its own line.
_JUNK = (
    b"{not json",
    b'{"ticket": "J-1", "at": "2025-11-02T05:00:00Z", "type": "created"',  # cut short
    b"[1, 2, 3]",
    b"null",
    b'"just a string"',
    b'{"ticket": ["J-1"], "at": "2025-11-02T05:00:00Z", "type": "message", "author": "agent"}',
    b'{"ticket": "J-2", "at": 1762059600, "type": "created", "channel": "email"}',
    b'{"ticket": "J-3", "at": "2025-11-02T05:00:00", "type": "created", "channel": "email",'
    b' "priority": "high"}',
    b'{"ticket": "J-4", "at": "2025-11-02T05:00:00Z", "type": "mesage", "author": "agent"}',
    b'{"ticket": "J-5", "at": "2025-11-02T05:00:00Z", "type": "csat", "score": 1e400}',
    b'{"ticket": "J-6", "at": "2025-11-02T05:00:00Z", "type": "csat", "score": '
    + b"9" * 5000
    + b"}",
    b'{"ticket": "J-7", "at": "2025-11-02T05:00:00Z", "type": "created", "channel": "e\xffmail",'
    b' "priority": "high"}',
    b'{"ticket": "J-8\\ud800", "at": "2025-11-02T05:00:00Z", "type": "created"}',
    b'{"ticket": "J-9", "at": "2025-11-02T05:00:00Z", "type": "csat", "score": NaN}',
    b'{"ticket": "", "at": "2025-11-02T05:00:00Z", "type": "created", "channel": "email",'
    b' "priority": "high"}',
    b'{"ticket": "J-10", "at": "99999-01-01T00:00:00Z", "type": "created", "channel": "email",'
    b' "priority": "high"}',
    b'{"ticket": "J-11", "at": "2025-11-02T05:00:00+25:00", "type": "status"}',
    b"\xef\xbb\xbf{}",
    b"\x00",
    b"[" * 200 + b"]" * 200,
)


@dataclass
class HostileEvents:
    """A seed's lines: each ticket's lines (raw bytes, no line end), junk lines, and each
    ticket's event objects that a table can hold (for CSV and Parquet)."""

    tickets: dict[str, list[bytes]] = field(default_factory=dict)
    junk: list[bytes] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def grouped(self, rng: random.Random) -> list[bytes]:
        """Each ticket's lines together (in their own, unsorted, order), junk in between."""
        lines: list[bytes] = []
        junk = list(self.junk)
        for own in self.tickets.values():
            lines.extend(own)
            if junk and rng.random() < 0.3:
                lines.append(junk.pop())
        lines.extend(junk)
        return lines

    def shuffled(self, rng: random.Random) -> list[bytes]:
        """Every line in random order."""
        lines = [line for own in self.tickets.values() for line in own] + self.junk
        rng.shuffle(lines)
        return lines


def _instant(rng: random.Random) -> int:
    anchor = dt.datetime.fromisoformat(rng.choice(_HARD_INSTANTS)).timestamp()
    return int(anchor) + rng.randint(-3 * 86_400, 3 * 86_400)


def _written(at: int, rng: random.Random) -> str:
    """``at`` as ISO 8601 text in one of the forms a export may use: UTC, a zone's local
    offset (on either side of a change), an odd offset, a fraction of a second."""
    moment = dt.datetime.fromtimestamp(at, dt.UTC)
    form = rng.randrange(6)
    if form == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == 1:
        return moment.astimezone(ZoneInfo(rng.choice(_ZONES))).isoformat()
    if form == 2:
        zone = dt.timezone(dt.timedelta(hours=rng.choice((14, -12, 5.75, -3.5))))
        return moment.astimezone(zone).isoformat()
    if form == 3:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(10**6):06d}Z"
    if form == 4:
        return moment.isoformat()  # +00:00
    return moment.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M:%S%z")


def _created(ticket: Any, at: int, rng: random.Random) -> dict[str, Any]:
    event: dict[str, Any] = {
        "ticket": ticket,
        "type": "created",
        "channel": rng.choice(_CHANNELS),
        "priority": rng.choice(_PRIORITIES),
    }
    if rng.random() < 0.3:
        event["tags"] = rng.sample(["vip", "americas", "legal", "ü"], rng.randint(0, 2))
    region = rng.choice(_REGIONS)
    if region is not None:
        event["fields"] = {"region": region, "seats": rng.randint(1, 500)}
    if rng.random() < 0.2:
        event["author"] = rng.choice(("customer", "agent"))
    if rng.random() < 0.2:
        event["status"] = rng.choice(("new", "open", "pending"))
    return event


def _follow_up(ticket: Any, rng: random.Random) -> dict[str, Any]:
    kind = rng.choices(("message", "status", "update", "csat"), (6, 4, 2, 1))[0]
    event: dict[str, Any] = {"ticket": ticket, "type": kind}
    if kind == "message":
        event["author"] = rng.choice(("customer", "agent", "agent", "bot", "system"))
        if rng.random() < 0.15:
            event["public"] = False
        if event["author"] == "agent":
            event["agent"] = rng.choice(("mia", "jonas", "李"))
    elif kind == "status":
        event["status"] = rng.choice(_STATUSES)
    elif kind == "update":
        choice = rng.randrange(4)
        if choice == 0:
            event["priority"] = rng.choice(_PRIORITIES)
        elif choice == 1:
            event["fields"] = {"region": rng.choice(("apac", "amer", "uk", "emea"))}
        elif choice == 2:
            event["tags"] = []
        else:
            event["group"] = rng.choice(("billing", "tech"))
    else:
        event["score"] = rng.choice((1, 5, 3.5, 0))
    if rng.random() < 0.1:
        event["unknown_key"] = {"nested": [1, "two", None]}
    return event


def _line(event: dict[str, Any], rng: random.Random) -> bytes:
    return json.dumps(event, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def _ticket_events(
    ticket: Any, rng: random.Random, count: int, out: HostileEvents, name: str
) -> None:
    """One ticket's lines (and table rows): created, then ``count`` events at distinct
    seconds, shuffled, with duplicates and the hostile cases a seed draws."""
    created = _instant(rng)
    seconds = sorted(rng.sample(range(1, 40 * 86_400), count)) if count else []
    events = [_created(ticket, created, rng) | {"at": created}]
    for offset in seconds:
        events.append(_follow_up(ticket, rng) | {"at": created + offset})
    if rng.random() < 0.15:  # an event before created: left out (E412)
        events.append(_follow_up(ticket, rng) | {"at": created - rng.randint(1, 86_400)})
    if rng.random() < 0.05:  # a second created of the same content (E411)
        events.append(dict(events[0]))
    for number, event in enumerate(events):
        if rng.random() < 0.7:
            event["id"] = rng.choice((f"{name}-e{number}", number))
    if rng.random() < 0.1 and count:  # a repeated id: ignored as a duplicate
        events.append(dict(events[rng.randrange(1, len(events))]))
    rows = [dict(e, at=_written(e["at"], rng)) for e in events]
    pairs: list[tuple[bytes, dict[str, Any] | None]] = [(_line(row, rng), row) for row in rows]
    if rng.random() < 0.5:
        rng.shuffle(pairs)  # out of order in the file
    if rng.random() < 0.1:  # first lines that are left out: bad JSON, then a bad type
        bad = {"ticket": ticket, "at": _written(created, rng), "type": "status", "status": 7}
        cut = b'{"ticket": ' + json.dumps(ticket).encode() + b', "at": '
        pairs[:0] = [(cut, None), (_line(bad, rng), None)]
    out.tickets[name] = [line for line, _ in pairs]
    out.rows[name] = [row for _, row in pairs if row is not None]


def hostile_events(seed: int, tickets: int = 150) -> HostileEvents:
    """The lines of ``tickets`` hostile tickets (and then some) for ``seed``."""
    rng = random.Random(seed)
    out = HostileEvents()
    ids: list[Any] = [f"T-{n}" for n in range(tickets)]
    ids[: len(_ODD_IDS)] = _ODD_IDS
    ids.append(42)  # an integer id; "42" below is the same ticket
    for number, ticket in enumerate(ids):
        _ticket_events(ticket, rng, rng.randint(0, 12), out, f"{number}")
    # One ticket long enough to span chunks (64 KiB at least) with a very long line.
    _ticket_events("LONG", rng, 1_200, out, "long")
    long_line = {"ticket": "LONG", "at": "2026-04-01T10:00:00Z", "type": "message",
                 "author": "customer", "body": "é" * 100_000}  # fmt: skip
    out.tickets["long"].insert(len(out.tickets["long"]) // 2, _line(long_line, rng))
    out.rows["long"].insert(len(out.rows["long"]) // 2, long_line)
    # Events of a ticket that is never created (E410), and of "42" as text.
    orphan = {"ticket": "NO-CREATED", "at": "2025-12-01T10:00:00Z", "type": "message",
              "author": "agent"}  # fmt: skip
    out.tickets["orphan"] = [_line(orphan, rng), _line(orphan | {"id": "o2"}, rng)]
    out.rows["orphan"] = [orphan, orphan | {"id": "o2"}]
    text_42 = {"ticket": "42", "at": "2026-03-29T01:30:00+02:00", "type": "message",
               "author": "agent", "id": "text-42"}  # fmt: skip
    out.tickets[f"{len(ids) - 1}"].append(_line(text_42, rng))
    out.rows[f"{len(ids) - 1}"].append(text_42)
    # Ticket 0 written as 0, "0" and -0 (JSON's negative zero is the integer 0).
    zero = [
        b'{"ticket": 0, "at": "2025-10-01T08:00:00Z", "type": "created", "channel": "chat",'
        b' "priority": "high"}',
        b'{"ticket": -0, "at": "2025-10-01T08:03:00Z", "type": "message", "author": "agent"}',
        b'{"ticket": "0", "at": "2025-10-01T08:09:00+00:00", "type": "status", "status": "solved"}',
    ]
    out.tickets["zero"] = [zero[i] for i in rng.sample(range(3), 3)]
    out.rows["zero"] = [json.loads(line) for line in out.tickets["zero"]]
    # Each junk line at most once: a ticket named in two places is not grouped.
    out.junk = [*rng.sample(_JUNK, 12), b"", b"  ", b"\t"]
    out.junk.append(b"\xed\xa0\x80 not utf-8 \xc3\x28")
    return out


@dataclass(frozen=True)
class Layout:
    """How a file's lines are written: line ends and compression."""

    name: str
    shuffled: bool = False
    crlf: bool = False
    lone_cr: bool = False
    gz: bool = False
    #: Grouped, but the first line moved to the end: chunks are begun, then given up.
    moved: bool = False

    def write(self, events: HostileEvents, folder: Path, seed: int) -> Path:
        """Write ``events`` laid out so; the last line has no line end."""
        rng = random.Random(seed)
        lines = events.shuffled(rng) if self.shuffled else events.grouped(rng)
        if self.moved:
            lines.append(lines.pop(0))
        if self.crlf or self.lone_cr:
            end = b"\r\n" if self.crlf else b"\r"
            text = b"".join(line + (end if rng.random() < 0.5 else b"\n") for line in lines)
        else:
            text = b"".join(line + b"\n" for line in lines)
        text = text.rstrip(b"\r\n")  # a last line without a line end
        path = folder / f"{self.name}-{seed}.jsonl"
        if self.gz:
            path = path.with_suffix(".jsonl.gz")
            path.write_bytes(gzip.compress(text, mtime=0))
        else:
            path.write_bytes(text)
        return path


LAYOUTS = (
    Layout("grouped"),
    Layout("crlf", crlf=True),
    Layout("gzip", gz=True),
    Layout("shuffled", shuffled=True),
    Layout("lone-cr", lone_cr=True),
    Layout("moved", moved=True),
)


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    # A row's table cells: lists and objects as JSON text, ids and tickets as text.
    cells = {}
    for key, value in row.items():
        if isinstance(value, dict | list):
            cells[key] = json.dumps(value, ensure_ascii=False)
        elif key in ("ticket", "id"):
            cells[key] = str(value)
        else:
            cells[key] = value
    return cells


def table_rows(events: HostileEvents, rng: random.Random, shuffled: bool) -> list[dict[str, Any]]:
    """The event objects a table can hold, grouped by ticket or shuffled."""
    rows = [dict(row) for own in events.rows.values() for row in own]
    if shuffled:
        rng.shuffle(rows)
    return rows


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """``rows`` as CSV, every key a column (an absent key an empty cell)."""
    import csv

    rows = [_cells(row) for row in rows]
    columns = sorted({key for row in rows for key in row})
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "true" if v is True else "false" if v is False else v
                             for k, v in row.items()})  # fmt: skip
    return path


def write_parquet(rows: list[dict[str, Any]], path: Path, *, timestamps: bool) -> Path:
    """``rows`` as Parquet in small row groups: text columns, a float score, a boolean
    ``public`` and, with ``timestamps``, ``at`` as a UTC timestamp column (else text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [_cells(row) for row in rows]
    columns = sorted({key for row in rows for key in row})
    arrays = {}
    for column in columns:
        values = [row.get(column) for row in rows]
        if column == "score":
            arrays[column] = pa.array(values, pa.float64())
        elif column == "public":
            arrays[column] = pa.array(values, pa.bool_())
        elif column == "at" and timestamps:
            instants = [dt.datetime.fromisoformat(v).astimezone(dt.UTC) for v in values]
            arrays[column] = pa.array(instants, pa.timestamp("us", tz="UTC"))
        else:
            arrays[column] = pa.array([None if v is None else str(v) for v in values])
    pq.write_table(pa.table(arrays), path, row_group_size=97)
    return path


__all__ = [
    "AT_CHOICES",
    "HARD_POLICIES",
    "LAYOUTS",
    "HostileEvents",
    "Layout",
    "hostile_events",
    "table_rows",
    "write_csv",
    "write_parquet",
]
