"""Evaluation results as JSON-ready dicts and JSON Lines; instants in UTC ending in ``Z``.

:func:`ticket_to_dict` is the result's JSON form. :func:`ticket_json` writes the
same text ``json.dumps(ticket_to_dict(result), ensure_ascii=False)`` gives,
without building the dicts: evaluate writes millions of these lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring
from typing import Any, Final, TypeVar

from slaengine.calendar import format_utc
from slaengine.clock_record import ClockRecord
from slaengine.clocks import Alert, ClockResult
from slaengine.engine import TicketResult
from slaengine.policy.definition import Trigger
from slaengine.timeline import Event
from slaengine.vocabulary import StopReason


def _instant(t: int | None) -> str | None:
    return None if t is None else format_utc(t)


def record_to_dict(record: ClockRecord) -> dict[str, Any]:
    """A clock's record as the ``segments`` and ``adjustments`` of its JSON dict."""
    return {
        "segments": [
            {
                "from": format_utc(s.start),
                "to": format_utc(s.end),
                "counted": s.counted,
                "reason": s.reason,
                "seconds": s.seconds,
                "status": s.status,
                "event": s.event.type if s.event is not None else None,
                "line": s.event.line or None if s.event is not None else None,
                "rule": s.rule,
                "condition": s.condition,
            }
            for s in record.segments
        ],
        "adjustments": [
            {
                "rule": a.rule,
                "what": a.what,
                "before": _instant(a.before) if a.what == "due" else a.before,
                "after": _instant(a.after) if a.what == "due" else a.after,
                "status": a.status,
            }
            for a in record.adjustments
        ],
    }


def _fired(event: Event, trigger: Trigger | None) -> dict[str, Any]:
    # "trigger" is null where a rule acted instead (a reopen, a hand-over, a solve).
    return {
        "trigger": None if trigger is None else trigger.text,
        "event": event.type,
        "line": event.line or None,
        "at": format_utc(event.at),
    }


def triggers_to_dict(clock: ClockResult, record: ClockRecord) -> dict[str, Any]:
    """What the record says started, stopped or cancelled a clock and which pause
    conditions paused it: ``started_by``, ``stopped_by``, ``cancelled_by`` (``null`` where
    it does not apply) and ``paused_by_condition``."""
    stopped = None
    if clock.stop is not None and record.stop_event is not None:
        stopped = _fired(record.stop_event, record.stop_trigger)
    cancelled = clock.stop_reason == StopReason.CANCELLED
    return {
        "started_by": None
        if record.start_event is None
        else _fired(record.start_event, record.start_trigger),
        "stopped_by": None if cancelled else stopped,
        "cancelled_by": stopped if cancelled else None,
        "paused_by_condition": [
            {
                "condition": first.condition,
                "from": format_utc(first.start),
                "to": None if last and clock.stop is None else format_utc(end),
                "event": first.event.type if first.event is not None else None,
                "line": first.event.line or None if first.event is not None else None,
            }
            for first, end, last in record.condition_pauses()
        ],
    }


def clock_to_dict(clock: ClockResult) -> dict[str, Any]:
    """One clock instance as a JSON-ready dict; with its record, also ``segments``,
    ``adjustments`` and the triggers (:func:`triggers_to_dict`)."""
    out = _clock_dict(clock)
    if clock.record is not None:
        out.update(record_to_dict(clock.record))
        out.update(triggers_to_dict(clock, clock.record))
    return out


def _clock_dict(clock: ClockResult) -> dict[str, Any]:
    out = _clock_fields(clock)
    if clock.misses is not None:  # only under misses: per_customer_message
        out["misses"] = clock.misses
    # Only an agreement's clock, or one counted per group, says so: the customer SLA's
    # clocks read as they always did.
    if clock.agreement is not None:
        out["agreement"] = clock.agreement
    if clock.group is not None:
        out["group"] = clock.group
    return out


def _clock_fields(clock: ClockResult) -> dict[str, Any]:
    return {
        "metric": clock.metric,
        "instance": clock.instance,
        "state": clock.state,
        "start": _instant(clock.start),
        "due": _instant(clock.due),
        "stop": _instant(clock.stop),
        "stop_reason": clock.stop_reason,
        "elapsed_seconds": clock.elapsed,
        "target_seconds": clock.target,
        "remaining_seconds": clock.remaining,
        "paused_seconds": clock.paused,
        "priority": clock.priority,
        "calendar": clock.calendar,
        "pauses": [{"from": _instant(a), "to": _instant(b)} for a, b in clock.pauses],
        "agent": clock.agent,
        "alerts": [alert_to_dict(a) for a in clock.alerts],
    }


def alert_to_dict(alert: Alert, now: int | None = None) -> dict[str, Any]:
    """A warning or escalation as JSON; with ``now``, whether it was ``reached`` by then
    (explain's form)."""
    out: dict[str, Any] = {"kind": alert.kind, "level": alert.level, "at": _instant(alert.at)}
    if now is not None:
        out["reached"] = alert.at is not None and alert.at <= now
    out["notify"] = list(alert.notify)
    return out


def ticket_to_dict(result: TicketResult) -> dict[str, Any]:
    """One ticket's evaluation as a JSON-ready dict (``policy`` null when unmatched)."""
    state = result.state
    return {
        "ticket": result.ticket,
        "policy": result.policy.name if result.policy else None,
        "matched": result.matched,
        "channel": state.channel,
        "priority": state.priority,
        "status": state.status,
        "created": format_utc(state.created),
        "metrics": [clock_to_dict(clock) for clock in result.clocks],
    }


def json_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """JSON Lines text, one ticket per line (no line break), keys in a stable order."""
    for result in results:
        yield ticket_json(result)


# json.dumps(..., ensure_ascii=False) writes a string with this function (the C one
# when available), so the text below is what the encoder writes, character for character.
_string: Final = encode_basestring
# Cached texts, at most this many of each kind; a full cache starts again.
_MAX_CACHED: Final = 1 << 16
# Hours a HourTexts keeps (a power of two): about 22 months in a row.
_HOUR_SLOTS: Final = 1 << 14
_KEY = TypeVar("_KEY")
_TEXT = TypeVar("_TEXT")


class BoundedCache(dict[_KEY, _TEXT]):
    """``make(key)`` of each key read, made the first time it is read; a key missing
    from a full cache (``_MAX_CACHED`` keys) starts it again. The JSON Lines and CSV
    writers' text of each name: metrics, calendars, priorities, channels, statuses and
    agents repeat on every line."""

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[_KEY], _TEXT]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: _KEY) -> _TEXT:
        if len(self) >= _MAX_CACHED:
            self.clear()
        text = self[key] = self._make(key)
        return text


class HourTexts:
    """``make(hour)`` of each UTC hour read (epoch seconds // 3600), as ``texts[hour]``.

    A direct-mapped cache: an hour has one slot, its number modulo the slots, so the
    hours of 22 months in a row never evict each other and the memory is bounded.
    Compiled, a subscript is a native call on native integers (a dict would box the
    hour); an instant's text is ``texts[t // 3600]`` and its minute and second's.
    """

    __slots__ = ("_hours", "_make", "_texts")

    def __init__(self, make: Callable[[int], str]) -> None:
        self._make = make
        # Slot 1 starts with hour 0, every other slot with hour 1: hours of another slot,
        # which no hour finds there (and one shared int object, not one per slot).
        self._hours = [1] * _HOUR_SLOTS
        self._hours[1] = 0
        self._texts = [""] * _HOUR_SLOTS

    def __getitem__(self, hour: int) -> str:
        slot = hour & (_HOUR_SLOTS - 1)
        if self._hours[slot] == hour:
            return self._texts[slot]
        text = self._make(hour)
        self._hours[slot] = hour
        self._texts[slot] = text
        return text


def _name_json(name: str | None) -> str:
    return "null" if name is None else _string(name)


def _hour_json(hour: int) -> str:
    # '"YYYY-MM-DDTHH:': format_utc's text of the hour, quoted, without ':MM:SSZ'
    # (digits, "-", ":", "T" and "Z": nothing to escape).
    return '"' + format_utc(hour * 3600)[:-6]


# An instant t as JSON is _HOURS[t // 3600] + _MINUTES_SECONDS[t % 3600]: format_utc's
# text, quoted. Subscripts, not a function: evaluate writes millions of instants.
_QUOTED: Final[BoundedCache[str | None, str]] = BoundedCache(_name_json)
_HOURS: Final = HourTexts(_hour_json)
_MINUTES_SECONDS: Final = tuple(f'{s // 60:02d}:{s % 60:02d}Z"' for s in range(3600))
_UNMATCHED: Final = 'null, "matched": false'
_MATCHED: Final = ', "matched": true'
# No name is this object: the names a writer has not looked up yet.
_NO_NAME: Final = object()


def ticket_json(result: TicketResult) -> str:
    """One ticket as a JSON line (no line break): ``ticket_to_dict``'s JSON text."""
    return _ticket_text(result, "]}")


def ticket_json_line(result: TicketResult) -> str:
    """:func:`ticket_json`'s text and a line break: one line of JSON Lines."""
    return _ticket_text(result, "]}\n")


def _ticket_text(result: TicketResult, end: str) -> str:
    # ticket_to_dict's JSON text, written directly: names from _QUOTED, instants from
    # the hour and second tables, numbers as int.__repr__ writes them (as the encoder
    # does); each clock's text in one piece, the line joined once.
    quoted = _QUOTED
    hours = _HOURS
    rest = _MINUTES_SECONDS
    state = result.state
    policy = result.policy
    created = state.created
    head = (
        f'{{"ticket": {_string(result.ticket)}, '
        f'"policy": {_UNMATCHED if policy is None else quoted[policy.name] + _MATCHED}, '
        f'"channel": {quoted[state.channel]}, "priority": {quoted[state.priority]}, '
        f'"status": {quoted[state.status]}, '
        f'"created": {hours[created // 3600]}{rest[created % 3600]}, "metrics": ['
    )
    if not result.clocks:
        return head + end
    parts = [head]
    comma = ""
    # A ticket's clocks mostly share their priority, calendar and agent: the text of the
    # last one is kept and looked up again only when the name changes (an identity test
    # where a look-up hashes).
    priority_name: object = _NO_NAME
    calendar_name: object = _NO_NAME
    agent_name: object = _NO_NAME
    priority_text = calendar_text = agent_text = ""
    for clock in result.clocks:
        start = clock.start
        due = clock.due
        stop = clock.stop
        # An open end is "null" and nothing: two pieces either way, no concatenation.
        if due is None:
            due_hour, due_rest = "null", ""
        else:
            due_hour, due_rest = hours[due // 3600], rest[due % 3600]
        if stop is None:
            stop_hour, stop_rest = "null", ""
        else:
            stop_hour, stop_rest = hours[stop // 3600], rest[stop % 3600]
        reason = clock.stop_reason
        elapsed = clock.elapsed
        target = clock.target
        pauses = clock.pauses
        close = (
            "}"
            if clock.misses is None
            and clock.agreement is None
            and clock.group is None
            and clock.record is None
            else _clock_rest(clock)
        )
        priority = clock.priority
        if priority is not priority_name:
            priority_name, priority_text = priority, quoted[priority]
        calendar = clock.calendar
        if calendar is not calendar_name:
            calendar_name, calendar_text = calendar, quoted[calendar]
        agent = clock.agent
        if agent is not agent_name:
            agent_name, agent_text = agent, quoted[agent]
        parts.append(
            f'{comma}{{"metric": {quoted[clock.metric]}, "instance": {clock.instance}, '
            f'"state": {_state_json(clock.state)}, '
            f'"start": {hours[start // 3600]}{rest[start % 3600]}, '
            f'"due": {due_hour}{due_rest}, "stop": {stop_hour}{stop_rest}, '
            f'"stop_reason": {_reason_json(reason)}, '
            f'"elapsed_seconds": {elapsed}, '
            f'"target_seconds": {target}, "remaining_seconds": {target - elapsed}, '
            f'"paused_seconds": {clock.paused}, "priority": {priority_text}, '
            f'"calendar": {calendar_text}, '
            f'"pauses": [{_pauses_json(pauses) if pauses else ""}], '
            f'"agent": {agent_text}, '
            f'"alerts": [{_alerts_json(clock.alerts) if clock.alerts else ""}]'
            f"{close}"
        )
        comma = ", "
    parts.append(end)
    return "".join(parts)


def _state_json(state: str) -> str:
    # A state's JSON text: the five states by string comparisons (native when compiled;
    # the enum members' own hash is Python code), anything else encoded.
    if state == "breached":
        return '"breached"'
    if state == "achieved":
        return '"achieved"'
    if state == "active":
        return '"active"'
    if state == "paused":
        return '"paused"'
    if state == "cancelled":
        return '"cancelled"'
    return _string(state)


def _reason_json(reason: str | None) -> str:
    # A stop reason's JSON text, null for none, as _state_json does a state.
    if reason is None:
        return "null"
    if reason == "fulfilled":
        return '"fulfilled"'
    if reason == "solved":
        return '"solved"'
    return _string(reason)


def _clock_rest(clock: ClockResult) -> str:
    # The end of a clock's text with misses, as an agreement's clock, as one counted
    # per group (as in clock_to_dict) or with its record (--segments: rare and bulky,
    # its dicts through the encoder).
    text = ""
    if clock.misses is not None:
        text += f', "misses": {clock.misses}'
    if clock.agreement is not None:
        text += f', "agreement": {_QUOTED[clock.agreement]}'
    if clock.group is not None:
        text += f', "group": {_QUOTED[clock.group]}'
    if clock.record is None:
        return text + "}"
    record = {**record_to_dict(clock.record), **triggers_to_dict(clock, clock.record)}
    return f"{text}, {json.dumps(record, ensure_ascii=False)[1:]}"


def _when(t: int | None) -> str:
    # An instant's JSON text, null for none.
    return "null" if t is None else _HOURS[t // 3600] + _MINUTES_SECONDS[t % 3600]


def _pauses_json(pauses: tuple[tuple[int, int | None], ...]) -> str:
    return ", ".join([f'{{"from": {_when(a)}, "to": {_when(b)}}}' for a, b in pauses])


def _alerts_json(alerts: tuple[Alert, ...]) -> str:
    return ", ".join(
        [
            f'{{"kind": {_string(a.kind)}, "level": {a.level}, "at": {_when(a.at)}, '
            f'"notify": [{", ".join(map(_string, a.notify))}]}}'
            for a in alerts
        ]
    )


__all__ = [
    "BoundedCache",
    "HourTexts",
    "alert_to_dict",
    "clock_to_dict",
    "json_lines",
    "record_to_dict",
    "ticket_json",
    "ticket_json_line",
    "ticket_to_dict",
    "triggers_to_dict",
]
