"""Ticket events and timelines: ordered, de-duplicated, checked per ticket.

Instants are integer epoch seconds (UTC). An event's ``seq`` is its input order
and breaks ties between events at the same instant. Turning input objects into
events is :mod:`slaengine.event_parsing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby, islice
from operator import attrgetter, countOf, eq, le
from typing import Any, ClassVar, Final

from slaengine.errors import Problem
from slaengine.readonly import ReadOnlyMap
from slaengine.words import plural

EVENT_TYPES: Final = ("created", "message", "status", "update", "csat")
PRIORITIES: Final = ("urgent", "high", "normal", "low")
STATUSES: Final = ("new", "open", "pending", "on_hold", "solved", "closed")
AUTHORS: Final = ("customer", "agent", "bot", "system")
CHANNELS: Final = (
    "email",
    "chat",
    "whatsapp",
    "messenger",
    "instagram",
    "twitter",
    "wechat",
    "phone",
    "web",
)
STOPPED_STATUSES: Final = frozenset({"solved", "closed"})
_EMPTY: Final[Mapping[str, Any]] = ReadOnlyMap()
_NO_TAGS: Final[frozenset[str]] = frozenset()
# Instants outside these years are refused: calendars are compiled by year and
# dates far outside them are typing mistakes, not tickets.
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2199


#: The fields of an :class:`Event`, in order (its constructor's arguments).
_EVENT_FIELDS: Final = (
    "ticket", "at", "type", "seq", "line", "id", "channel", "priority", "status", "customer",
    "group", "assignee", "tags", "fields", "author", "public", "agent", "score",
)  # fmt: skip


class Event:
    """One thing that happened to a ticket; immutable.

    Only the attributes of the event's ``type`` are set; the rest stay ``None``. Events
    compare, hash and pickle by their fields, and keep the named tuple's ``_fields``,
    ``_asdict`` and ``_replace`` they once were.

    A class of its own rather than a named tuple: parsing builds millions of them, and
    compiled (a native class) one is built by a direct call and its fields are read from
    the object itself, instants and numbers unboxed (see benchmarks/README.md, "Tenth
    pass: events"). Compiled, the constructor also checks each field's type and the fields
    are read-only; in the interpreter, ``Final`` has mypy refuse any assignment.
    """

    __slots__ = _EVENT_FIELDS
    _fields: ClassVar[tuple[str, ...]] = _EVENT_FIELDS

    def __init__(
        self,
        ticket: str,
        at: int,
        type: str,
        seq: int = 0,
        line: int = 0,
        id: str | None = None,
        channel: str | None = None,
        priority: str | None = None,
        status: str | None = None,
        customer: str | None = None,
        group: str | None = None,
        assignee: str | None = None,
        tags: tuple[str, ...] | None = None,
        fields: Mapping[str, Any] | None = None,
        author: str | None = None,
        public: bool = True,
        agent: str | None = None,
        score: float | None = None,
    ) -> None:
        self.ticket: Final = ticket
        self.at: Final = at
        self.type: Final = type
        self.seq: Final = seq
        self.line: Final = line
        self.id: Final = id
        self.channel: Final = channel
        self.priority: Final = priority
        self.status: Final = status
        self.customer: Final = customer
        self.group: Final = group
        self.assignee: Final = assignee
        self.tags: Final = tags
        self.fields: Final = fields
        self.author: Final = author
        self.public: Final = public
        self.agent: Final = agent
        self.score: Final = score

    def _values(self) -> tuple[Any, ...]:
        # The fields in order: what equality, hashing, pickling and the text compare.
        return (
            self.ticket, self.at, self.type, self.seq, self.line, self.id, self.channel,
            self.priority, self.status, self.customer, self.group, self.assignee, self.tags,
            self.fields, self.author, self.public, self.agent, self.score,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(_EVENT_FIELDS, self._values(), strict=True))
        return f"Event({shown})"

    def __reduce__(self) -> tuple[type[Event], tuple[Any, ...]]:
        # Its constructor call: the same pickle whether the class runs compiled or not.
        return Event, self._values()

    def _asdict(self) -> dict[str, Any]:
        """The fields by name, in order."""
        return dict(zip(_EVENT_FIELDS, self._values(), strict=True))

    def _replace(self, **changes: Any) -> Event:
        """A copy with ``changes`` (field names) made."""
        unknown = changes.keys() - set(_EVENT_FIELDS)
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        return Event(**{**self._asdict(), **changes})


@dataclass(frozen=True, slots=True)
class TicketState:
    """A ticket's attributes after applying its events up to some instant."""

    ticket: str
    created: int
    channel: str
    priority: str
    status: str
    customer: str | None = None
    group: str | None = None
    assignee: str | None = None
    tags: frozenset[str] = _NO_TAGS
    fields: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __init__(
        self,
        ticket: str,
        created: int,
        channel: str,
        priority: str,
        status: str,
        customer: str | None = None,
        group: str | None = None,
        assignee: str | None = None,
        tags: frozenset[str] = _NO_TAGS,
        fields: Mapping[str, Any] = _EMPTY,
    ) -> None:
        # Written out for the compiled engine, where the dataclass's own runs as Python
        # (see slaengine.compiled); frozen, so set as that one does: compiled, these
        # calls are native stores.
        object.__setattr__(self, "ticket", ticket)
        object.__setattr__(self, "created", created)
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "priority", priority)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "customer", customer)
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "assignee", assignee)
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "fields", fields)


@dataclass(frozen=True, slots=True)
class Timeline:
    """All usable events of one ticket, ordered by ``(at, seq)``; the first is ``created``."""

    ticket: str
    events: tuple[Event, ...]

    def __init__(self, ticket: str, events: tuple[Event, ...]) -> None:
        # As TicketState's: one per ticket grouped, native stores when compiled.
        object.__setattr__(self, "ticket", ticket)
        object.__setattr__(self, "events", events)

    def state_at(self, now: int) -> TicketState:
        """The ticket's attributes from its events at or before ``now``.

        Written out with local variables because it runs once per ticket evaluated; it
        follows the rule of :mod:`slaengine.attributes` (an empty value keeps the old
        one, tags replace, fields merge), and tests hold the two together.
        """
        events = self.events
        created = events[0]
        channel = created.channel or ""
        priority = created.priority or "normal"
        status = created.status or "new"
        customer, group, assignee = created.customer, created.group, created.assignee
        tags = created.tags or ()
        # None rather than falsehood: an event's fields are a ReadOnlyMap, whose length is
        # Python code (an empty one reads as the empty mapping it is).
        fields: Mapping[str, Any] = _EMPTY if created.fields is None else created.fields
        # Every event, the created one too (neither a status nor an update: it changes
        # nothing here): a plain loop over the tuple, native when compiled.
        for event in events:
            kind = event.type
            if kind == "message":  # most events; they change no attribute
                continue
            if event.at > now:
                break
            if kind == "status":
                status = event.status or status
            elif kind == "update":
                channel = event.channel or channel
                priority = event.priority or priority
                customer = event.customer or customer
                group = event.group or group
                assignee = event.assignee or assignee
                if event.tags is not None:
                    tags = event.tags
                if event.fields is not None:
                    fields = {**fields, **event.fields}
        # One shared empty set: a result keeps its state, so every object built here lives
        # on (and the cyclic collector visits it).
        tag_set = frozenset(tags) if tags else _NO_TAGS
        return TicketState(
            self.ticket,
            created.at,
            channel,
            priority,
            status,
            customer,
            group,
            assignee,
            tag_set,
            fields,
        )


# -- grouping ----------------------------------------------------------------


@dataclass(slots=True)
class TimelineSet:
    """Timelines built from a batch of events, with what could not be used."""

    timelines: dict[str, Timeline]
    problems: list[Problem]
    duplicates: int = 0


def build_timelines(
    events: Iterable[Event], source: str = "", read_problems: Iterable[Problem] = ()
) -> TimelineSet:
    """Group events by ticket, order them and drop what cannot be used.

    An event whose ``id`` its ticket already had is ignored (counted in
    ``duplicates``); ids are scoped to their ticket, so tickets can be processed
    independently (and in parallel). Events of a
    ticket with no ``created`` event, events before ``created`` and second
    ``created`` events are reported as problems and left out. ``read_problems``
    (lines that did not become events) join the result's problems, all in line order.
    Tickets come in the order of their first kept event (its ``seq``: the line of a file).
    """
    runs = TicketRuns(source)
    runs.events = events if type(events) is list else list(events)  # read, never changed
    runs.walk(runs.events, 0)
    return runs.finish(read_problems)


class TicketRuns:
    """:func:`build_timelines` of events handed over a batch at a time, in input order
    (:meth:`extend`), for a reader that groups while it reads.

    Events grouped by ticket (each ticket's events on consecutive places) are grouped a
    run at a time, as they come: a run already in order, with one ``created`` first and
    no id twice, is its timeline as it stands (no sort, no copy but the tuple); any other
    run is put right by :func:`_ticket_timeline`. As soon as a ticket comes back after
    another one, the runs are given up and :meth:`finish` groups every event as events
    in any order are (:func:`_scattered`), so results never depend on the input order.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        #: Every event handed over, in input order.
        self.events: list[Event] = []
        self.timelines: dict[str, Timeline] = {}
        self.duplicates = 0
        # Problems of the runs, and the tickets they left without a timeline.
        self.found: list[Problem] = []
        self.dropped: set[str] = set()
        # Whether the events are grouped so far; then the open run: its ticket ("" before
        # the first: no ticket is empty), first place, ids and last (at, seq), and whether
        # it is usual so far (in order, created first and once).
        self.grouped = True
        #: The ticket of the last run (of the last event while the events are grouped).
        self.ticket = ""
        self.start = 0
        self.ids: set[str | None] = set()
        self.at = 0
        self.seq = 0
        self.usual = False

    def extend(self, events: list[Event]) -> None:
        """Take the next events, in input order."""
        place = len(self.events)
        self.events.extend(events)
        self.walk(events, place)

    def walk(self, events: list[Event], place: int) -> None:
        """Group ``events``, already in :attr:`events` from ``place`` on, into the runs."""
        if not self.grouped:
            return
        # The open run in local variables while walking (native ones when compiled).
        ticket, start, ids = self.ticket, self.start, self.ids
        at, seq, usual = self.at, self.seq, self.usual
        for event in events:
            next_ticket = event.ticket
            if next_ticket is ticket or next_ticket == ticket:
                # In order: (at, seq) never decreasing, which a stable sort leaves as it is.
                next_at = event.at
                next_seq = event.seq
                if next_at < at or (next_at == at and next_seq < seq) or event.type == "created":
                    usual = False
                at = next_at
                seq = next_seq
                ids.add(event.id)
            else:
                self._close(ticket, start, place, usual, ids)
                if next_ticket in self.timelines or next_ticket in self.dropped:
                    self.grouped = False
                    return
                ticket = next_ticket
                start = place
                ids = {event.id}
                at = event.at
                seq = event.seq
                usual = event.type == "created"
            place += 1
        self.ticket, self.start, self.ids = ticket, start, ids
        self.at, self.seq, self.usual = at, seq, usual

    def _close(self, ticket: str, start: int, end: int, usual: bool, ids: set[str | None]) -> None:
        # The run of ``ticket`` at places ``start`` up to ``end`` into its timeline.
        if end == start:
            return
        run = self.events[start:end]
        if usual and len(ids) == end - start:
            self.timelines[ticket] = Timeline(ticket, tuple(run))
            return
        timeline, dropped = _ticket_timeline(ticket, run, _AT_SEQ, self.source, self.found)
        self.duplicates += dropped
        if timeline is None:
            self.dropped.add(ticket)
        else:
            self.timelines[ticket] = timeline

    def finish(self, read_problems: Iterable[Problem] = ()) -> TimelineSet:
        """The timelines of every event taken, with ``read_problems`` (lines that did not
        become events) and the grouping's problems, all in line order. Called once, last."""
        problems: list[Problem] = list(read_problems)
        if self.grouped:
            end = len(self.events)
            self._close(self.ticket, self.start, end, self.usual, self.ids)
            self.start = end
            problems.extend(self.found)
            timelines, duplicates = self.timelines, self.duplicates
        else:
            timelines, duplicates = _scattered(self.events, self.source, problems)
        problems.sort(key=_LINE)
        return TimelineSet(timelines, problems, duplicates)


def _scattered(
    events: list[Event], source: str, problems: list[Problem]
) -> tuple[dict[str, Timeline], int]:
    """The timelines of events in any order and the duplicates dropped, problems
    appended to ``problems``."""
    by_ticket = _by_ticket(events)
    # seq never decreases along the input (a spill's partitions, a chunk): checked in C.
    seqs = list(map(_SEQ, events))
    in_order = all(map(le, seqs, islice(seqs, 1, None)))
    del seqs
    # Input order is seq order: a stable sort by instant alone breaks ties by seq.
    order = _AT if in_order else _AT_SEQ
    duplicates = 0
    timelines: dict[str, Timeline] = {}
    found = len(problems)
    for ticket, ticket_events in by_ticket.items():
        timeline, dropped = _ticket_timeline(ticket, ticket_events, order, source, problems)
        duplicates += dropped
        if timeline is not None:
            timelines[ticket] = timeline
    if any(problem.code == "E412" for problem in islice(problems, found, None)):
        # A ticket's first lines left out (before its created): it takes the place of its
        # first kept line, as the streamed evaluate writes it (docs/evaluate.md).
        timelines = dict(sorted(timelines.items(), key=_first_kept))
    return timelines, duplicates


def first_line(timeline: Timeline) -> int:
    """The line of a ticket's first kept event (the least ``seq``): its place in the output."""
    events = timeline.events
    first = events[0].seq
    for event in events:
        first = min(first, event.seq)  # compiled: a native comparison
    return first


def _first_kept(item: tuple[str, Timeline]) -> int:
    return first_line(item[1])


def _ticket_timeline(
    ticket: str,
    events: list[Event],
    order: Callable[[Event], Any],
    source: str,
    problems: list[Problem],
) -> tuple[Timeline | None, int]:
    """One ticket's timeline from its events in input order (``None`` when it has none),
    its problems appended to ``problems``, and how many duplicates it dropped.

    ``order`` is the sort key: ``(at, seq)``, or ``at`` alone when input order is seq order.
    """
    duplicates = 0
    if len(events) > 1:
        if len(set(map(_ID, events))) != len(events):
            # A repeated id (or several events without one): keep each id's first event.
            kept = _first_of_each_id(events)
            duplicates = len(events) - len(kept)
            events = kept
        events.sort(key=order)
    if events[0].type == "created" and countOf(map(_TYPE, events), "created") == 1:
        # The usual ticket: created first, once; nothing to check or drop.
        return Timeline(ticket, tuple(events)), duplicates
    timeline, ticket_problems = _checked_timeline(ticket, events, source)
    problems.extend(ticket_problems)
    return timeline, duplicates


def _by_ticket(events: list[Event]) -> dict[str, list[Event]]:
    """The events of each ticket, tickets in order of first appearance, events in input order."""
    by_ticket: dict[str, list[Event]] = {}
    # Input grouped by ticket (a chunk, or a ticket-ordered export) comes in runs of
    # one ticket: those are taken a run at a time, in C. A sample of neighbours decides.
    sample = events[:65]
    same = sum(map(eq, map(_TICKET, sample), map(_TICKET, islice(sample, 1, None))))
    if same * 2 >= len(sample):
        for ticket, run in groupby(events, _TICKET):
            bucket = by_ticket.get(ticket)
            if bucket is None:
                by_ticket[ticket] = list(run)
            else:
                bucket.extend(run)
        return by_ticket
    for event in events:
        bucket = by_ticket.get(event.ticket)
        if bucket is None:
            by_ticket[event.ticket] = [event]
        else:
            bucket.append(event)
    return by_ticket


def _first_of_each_id(events: list[Event]) -> list[Event]:
    # Events without an id are all kept; of events sharing an id, the first in input order.
    seen: set[str] = set()
    kept: list[Event] = []
    for event in events:
        event_id = event.id
        if event_id is not None:
            if event_id in seen:
                continue
            seen.add(event_id)
        kept.append(event)
    return kept


_AT = attrgetter("at")
_SEQ = attrgetter("seq")
_TICKET = attrgetter("ticket")
_ID = attrgetter("id")
_AT_SEQ = attrgetter("at", "seq")
_TYPE = attrgetter("type")
_LINE = attrgetter("line")


def _checked_timeline(
    ticket: str, events: list[Event], source: str
) -> tuple[Timeline | None, list[Problem]]:
    creations = [e for e in events if e.type == "created"]
    if not creations:
        first = min(events, key=lambda e: e.line)
        return None, [
            Problem(
                source,
                first.line,
                0,
                "E410",
                f"ticket {ticket!r} has no 'created' event; its "
                f"{plural(len(events), 'event')} {'is' if len(events) == 1 else 'are'} ignored",
            )
        ]
    created = min(creations, key=lambda e: e.seq)
    problems: list[Problem] = []
    kept: list[Event] = [created]
    for event in events:
        if event is created:
            continue
        if event.type == "created":
            problems.append(
                Problem(
                    source,
                    event.line,
                    0,
                    "E411",
                    f"ticket {ticket!r} is already created (line {created.line}); event ignored",
                )
            )
        elif event.at < created.at:
            problems.append(
                Problem(
                    source,
                    event.line,
                    0,
                    "E412",
                    f"event is before ticket {ticket!r} was created; event ignored",
                )
            )
        else:
            kept.append(event)
    return Timeline(ticket, tuple(kept)), problems


__all__ = [
    "AUTHORS",
    "CHANNELS",
    "EVENT_TYPES",
    "PRIORITIES",
    "STATUSES",
    "STOPPED_STATUSES",
    "Event",
    "TicketRuns",
    "TicketState",
    "Timeline",
    "TimelineSet",
    "build_timelines",
    "first_line",
]
