"""Deterministic synthetic ticket timelines for benchmarks, tests and demos.

:func:`generate_events` yields canonical event dicts in the JSON Lines event
format (see ``docs/events.md``) that :func:`slaengine.event_parsing.parse_event`
accepts. The data imitates a European support desk:

- a channel mix led by email (about 40%), then web, chat, messaging apps, phone;
- a priority mix with few urgent tickets;
- arrivals that peak in business hours on weekdays, Europe/Berlin local time;
- agent replies after log-normal delays counted in the agents' working hours
  (office hours for email and web, long days for chat, phone and messaging
  apps, round the clock for urgent tickets), customer follow-ups, internal
  notes, bot auto-replies on messaging channels;
- pending periods (waiting for the customer), on-hold periods, priority
  changes, re-assignments, solves, reopens, closes and CSAT ratings;
- about 10 events per ticket; tickets created near the end of the window are
  often still open, because nothing after the window's end is emitted.

Output depends only on the arguments: all randomness comes from one
``random.Random(seed)``, never from the global generator or the wall clock.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from slaengine.calendar import AlwaysOpen, BusinessCalendar, Shift, WeeklyCalendar, to_epoch
from slaengine.event_parsing import parse_event
from slaengine.timeline import Event

Payload = dict[str, Any]

#: Where the simulated support desk sits: arrival peaks and working hours are local here.
DESK_TIMEZONE: Final = "Europe/Berlin"

#: Channel shares (weights sum to 100).
CHANNEL_MIX: Final[Mapping[str, int]] = MappingProxyType({
    "email": 40, "web": 14, "chat": 14, "whatsapp": 9, "phone": 7,
    "messenger": 5, "instagram": 4, "twitter": 4, "wechat": 3,
})  # fmt: skip

#: Priority shares (weights sum to 100).
PRIORITY_MIX: Final[Mapping[str, int]] = MappingProxyType(
    {"urgent": 3, "high": 17, "normal": 60, "low": 20}
)

_MESSAGING: Final = frozenset({"whatsapp", "messenger", "instagram", "twitter", "wechat"})
_GROUPS: Final = ("billing", "technical", "orders", "returns", "accounts")
_PLANS: Final = ("free", "pro", "business", "enterprise")
_AGENTS: Final = tuple(f"agent-{i:02d}" for i in range(1, 49))
_UTC: Final = dt.UTC

# Median agent reply delay in working seconds, per channel (log-normal around it).
_REPLY_MEDIAN: Final[Mapping[str, int]] = MappingProxyType({
    "email": 3 * 3600, "web": 3 * 3600, "chat": 4 * 60, "phone": 40 * 60,
    "whatsapp": 25 * 60, "messenger": 30 * 60, "instagram": 45 * 60,
    "twitter": 35 * 60, "wechat": 30 * 60,
})  # fmt: skip
# Priorities scale the median delay.
_PRIORITY_SPEED: Final[Mapping[str, float]] = MappingProxyType(
    {"urgent": 0.15, "high": 0.5, "normal": 1.0, "low": 1.6}
)


def _weekdays(open_minute: int, close_minute: int, days: range) -> dict[int, list[Shift]]:
    return {day: [Shift(open_minute, close_minute)] for day in days}


class _Desk:
    """Working hours of the simulated agents (fixed: not the policies under test)."""

    def __init__(self) -> None:
        self.office = WeeklyCalendar(
            "desk-office", DESK_TIMEZONE, _weekdays(8 * 60, 18 * 60, range(5))
        )
        self.long_days = WeeklyCalendar(
            "desk-long-days", DESK_TIMEZONE, _weekdays(7 * 60, 23 * 60, range(7))
        )
        self.always = AlwaysOpen("desk-always")

    def hours_for(self, channel: str, priority: str) -> BusinessCalendar:
        """The working hours in which a ticket of ``channel`` and ``priority`` is handled."""
        if priority == "urgent":
            return self.always
        if channel in ("email", "web"):
            return self.office
        return self.long_days


def _arrival_weight(local: dt.datetime) -> float:
    """Relative ticket arrival rate in the local hour starting at ``local``."""
    hour = local.hour
    if local.weekday() < 5:
        if 9 <= hour < 17:
            return 10.0
        if 7 <= hour < 9 or 17 <= hour < 20:
            return 4.5
        if 20 <= hour < 23:
            return 2.0
        return 0.6
    if 9 <= hour < 20:
        return 2.2
    return 0.5


def _arrivals(rng: random.Random, tickets: int, low: int, high: int) -> list[int]:
    """``tickets`` sorted creation instants in ``[low, high)``, weighted by local hour."""
    zone = ZoneInfo(DESK_TIMEZONE)
    starts: list[int] = []
    weights: list[float] = []
    hour = low
    while hour < high:
        starts.append(hour)
        weights.append(_arrival_weight(dt.datetime.fromtimestamp(hour, zone)))
        hour += 3600  # absolute hours: the local hour is looked up for each
    cumulative = list(accumulate(weights))
    total = cumulative[-1]
    out: list[int] = []
    for _ in range(tickets):
        i = bisect_right(cumulative, rng.random() * total)
        i = min(i, len(starts) - 1)
        span = min(3600, high - starts[i])
        out.append(starts[i] + rng.randrange(span))
    out.sort()
    return out


def _lognormal(rng: random.Random, median: float, sigma: float) -> int:
    """A log-normal draw in whole seconds (at least 1) with the given median."""
    return max(1, int(median * math.exp(rng.gauss(0.0, sigma))))


class _Ticket:
    """Builds one ticket's events in order; drops everything at or after ``end``."""

    def __init__(self, ticket: str, created: int, end: int, berlin_offsets: bool) -> None:
        self.ticket = ticket
        self.t = created
        self.end = end
        self.berlin_offsets = berlin_offsets
        self.events: list[tuple[int, Payload]] = []

    @property
    def over(self) -> bool:
        """True once the ticket's time has passed the window's end."""
        return self.t >= self.end

    def emit(self, delay: int, body: Payload) -> bool:
        """Add an event ``delay`` (>= 1) seconds after the previous; False when past the end."""
        self.t += max(1, delay)
        if self.t >= self.end:
            return False
        self.events.append((self.t, body))
        return True

    def emit_at(self, at: int, body: Payload) -> bool:
        """Add an event at ``at`` (moved after the previous one); False when past the end."""
        return self.emit(at - self.t, body)


def _format_at(t: int, zone: ZoneInfo | None) -> str:
    if zone is None:
        return dt.datetime.fromtimestamp(t, _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.datetime.fromtimestamp(t, zone).isoformat()


def _simulate(rng: random.Random, desk: _Desk, number: int, created: int, end: int) -> _Ticket:
    """One ticket's life from creation until it is closed, or the window ends."""
    channels = list(CHANNEL_MIX)
    channel = rng.choices(channels, weights=list(CHANNEL_MIX.values()))[0]
    priority = rng.choices(list(PRIORITY_MIX), weights=list(PRIORITY_MIX.values()))[0]
    ticket = _Ticket(f"T-{number:07d}", created, end, berlin_offsets=rng.random() < 0.3)
    body: Payload = {
        "type": "created",
        "channel": channel,
        "priority": priority,
        "customer": f"customer-{rng.randrange(1, 40_000):05d}",
    }
    if rng.random() < 0.7:
        body["group"] = rng.choice(_GROUPS)
    roll = rng.random()
    if channel in ("email", "web") and roll < 0.1:
        body["tags"] = ["americas"]
    elif roll < 0.15:
        body["tags"] = ["vip"]
    if rng.random() < 0.4:
        body["fields"] = {"plan": rng.choice(_PLANS)}
    ticket.events.append((created, body))

    hours = desk.hours_for(channel, priority)
    median = _REPLY_MEDIAN[channel] * _PRIORITY_SPEED[priority]
    status = "new"
    agent = rng.choice(_AGENTS)

    def set_status(new: str, delay: int = 2) -> bool:
        nonlocal status
        if new == status:
            return True
        status = new
        return ticket.emit(delay, {"type": "status", "status": new})

    def agent_reply(scale: float = 1.0) -> bool:
        working = _lognormal(rng, median * scale, 1.1)
        return ticket.emit_at(
            hours.add(ticket.t, working),
            {"type": "message", "author": "agent", "agent": agent},
        )

    # Things that happen before the first reply.
    if channel in _MESSAGING and rng.random() < 0.5:
        ticket.emit(rng.randrange(2, 20), {"type": "message", "author": "bot"})
    if rng.random() < 0.35:
        ticket.emit(_lognormal(rng, 300, 1.0), {"type": "update", "assignee": agent})
        set_status("open")
    if priority != "urgent" and rng.random() < 0.08:
        new_priority = rng.choice(("urgent", "high") if priority != "high" else ("urgent",))
        ticket.emit(_lognormal(rng, 1800, 1.0), {"type": "update", "priority": new_priority})
    if rng.random() < 0.1:  # the customer chases before anyone answered
        ticket.emit(_lognormal(rng, 3 * 3600, 0.8), {"type": "message", "author": "customer"})

    reopens = 0
    rounds = 0
    while not ticket.over:
        rounds += 1
        if rng.random() < 0.12:
            ticket.emit(
                _lognormal(rng, 900, 1.0),
                {"type": "message", "author": "agent", "agent": agent, "public": False},
            )
        if not agent_reply():
            break
        if status == "new":
            set_status("open")
        roll = rng.random()
        solve_chance = 0.08 + 0.14 * rounds
        if roll < solve_chance:
            if not set_status("solved", rng.randrange(5, 120)):
                break
            after = rng.random()
            if after < 0.07 and reopens < 2:  # the customer says it is not fixed
                reopens += 1
                if not ticket.emit(
                    _lognormal(rng, 20 * 3600, 1.0), {"type": "message", "author": "customer"}
                ):
                    break
                set_status("open")
                continue
            if after < 0.45:
                ticket.emit(
                    _lognormal(rng, 6 * 3600, 1.0),
                    {"type": "csat", "score": rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]},
                )
            if rng.random() < 0.35:
                ticket.emit(
                    _lognormal(rng, 4 * 86_400, 0.3), {"type": "status", "status": "closed"}
                )
            break
        if roll < solve_chance + 0.06:  # waiting for a third party
            if not set_status("on_hold"):
                break
            ticket.emit(_lognormal(rng, 2 * 86_400, 0.8), {"type": "status", "status": "open"})
            status = "open"
            continue
        # Often the agent asked the customer something: waiting for them.
        if rng.random() < 0.6 and not set_status("pending"):
            break
        # The customer answers (or gives up: the ticket stays pending or open).
        if rng.random() < 0.88:
            if not ticket.emit(
                _lognormal(rng, 4 * 3600, 1.2), {"type": "message", "author": "customer"}
            ):
                break
            if status == "pending":
                set_status("open")
            if channel in _MESSAGING and rng.random() < 0.15:
                ticket.emit(rng.randrange(2, 20), {"type": "message", "author": "bot"})
        else:
            if status == "pending":  # auto-solved after a week without an answer
                ticket.emit(7 * 86_400, {"type": "status", "status": "solved"})
            break
    return ticket


def generate_events(
    tickets: int, seed: int, start: dt.datetime, days: int = 90
) -> Iterator[Payload]:
    """Yield canonical event dicts for ``tickets`` synthetic tickets, deterministically.

    Tickets are created between ``start`` (a timezone-aware datetime) and
    ``start + days``; their ids are ``T-0000001`` upwards in creation order, and
    events come ticket by ticket, each ticket's in time order. Nothing at or
    after the window's end is emitted, so late tickets are still open then.
    Every event has a unique ``id``; ``at`` is ISO 8601 in UTC (``Z``) or, for
    about 30% of tickets, Berlin local time with its offset.

    The same ``(tickets, seed, start, days)`` always gives the same events.
    Raises ``ValueError`` for a naive ``start``, negative ``tickets`` or
    ``days < 1``.
    """
    if tickets < 0:
        raise ValueError(f"tickets must be >= 0, got {tickets}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    low = to_epoch(start)  # checked here, not at the first next(): errors surface at the call
    high = to_epoch(start + dt.timedelta(days=days))
    return _generate(tickets, seed, low, high)


def _generate(tickets: int, seed: int, low: int, high: int) -> Iterator[Payload]:
    rng = random.Random(seed)
    desk = _Desk()
    berlin = ZoneInfo(DESK_TIMEZONE)
    for number, created in enumerate(_arrivals(rng, tickets, low, high), start=1):
        ticket = _simulate(rng, desk, number, created, high)
        zone = berlin if ticket.berlin_offsets else None
        for index, (at, body) in enumerate(ticket.events, start=1):
            yield {
                "id": f"{ticket.ticket}-{index}",
                "ticket": ticket.ticket,
                "at": _format_at(at, zone),
                **body,
            }


def generate_lines(tickets: int, seed: int, start: dt.datetime, days: int = 90) -> Iterator[str]:
    """The events of :func:`generate_events` as JSON Lines text, one line each (with newline)."""
    for event in generate_events(tickets, seed, start, days):
        yield json.dumps(event, separators=(", ", ": ")) + "\n"


def to_event_objects(
    tickets: int,
    seed: int,
    start: dt.datetime,
    days: int = 90,
    status_map: Mapping[str, str] = MappingProxyType({}),
) -> Iterator[Event]:
    """The events of :func:`generate_events` parsed into :class:`Event` objects.

    Each goes through :func:`slaengine.event_parsing.parse_event`; ``seq`` and
    ``line`` are the event's 1-based position, as if read from a JSON Lines file.
    """
    for number, event in enumerate(generate_events(tickets, seed, start, days), start=1):
        yield parse_event(event, seq=number, line=number, status_map=status_map)


def write_jsonl(
    path: str | os.PathLike[str], tickets: int, seed: int, start: dt.datetime, days: int = 90
) -> int:
    """Write the events of :func:`generate_events` to a JSON Lines file; return how many.

    The file is UTF-8, one event per line, overwritten if it exists.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for line in generate_lines(tickets, seed, start, days):
            out.write(line)
            count += 1
    return count


__all__ = [
    "CHANNEL_MIX",
    "DESK_TIMEZONE",
    "PRIORITY_MIX",
    "generate_events",
    "generate_lines",
    "to_event_objects",
    "write_jsonl",
]
